"""`isolated-studio review`: isolated_studio.ops.plan_review's entry point (its options, messages, exit codes)."""

from __future__ import annotations

from collections.abc import Sequence

from isolated_studio.ops.context import RunContext
from isolated_studio.ops.plan_review import main


def run(context: RunContext, argv: Sequence[str]) -> int:
    return main(list(argv), prog=context.usage_name)
