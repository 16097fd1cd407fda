"""`isolated-studio aws-constraints`: isolated_studio.config.aws_constraints's entry point (its options, exit codes)."""

from __future__ import annotations

from collections.abc import Sequence

from isolated_studio.config.aws_constraints import main
from isolated_studio.ops.context import RunContext


def run(context: RunContext, argv: Sequence[str]) -> int:
    return main(list(argv), prog=context.usage_name)
