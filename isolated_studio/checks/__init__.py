"""Verification gates over synthesized stacks: terraform validate, checkov, IAM lint, isolation rules."""
