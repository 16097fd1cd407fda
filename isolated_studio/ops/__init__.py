"""Operations tools: the plan/deploy/destroy workflow and what it runs (Terraform, review, cleanup, guard)."""
