"""`isolated-studio lint-iam`: isolated_studio.checks.policy_lint's entry point (its options, messages, exit codes)."""

from __future__ import annotations

from collections.abc import Sequence

from isolated_studio.checks.policy_lint import main
from isolated_studio.ops.context import RunContext


def run(context: RunContext, argv: Sequence[str]) -> int:
    return main(list(argv), prog=context.usage_name)
