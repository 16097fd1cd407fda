"""`isolated-studio checkov`: isolated_studio.checks.policy_scan's entry point (its options, messages, exit codes)."""

from __future__ import annotations

from collections.abc import Sequence

from isolated_studio.checks.policy_scan import main
from isolated_studio.ops.context import RunContext


def run(context: RunContext, argv: Sequence[str]) -> int:
    return main(list(argv), prog=context.usage_name)
