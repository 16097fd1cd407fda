"""`isolated-studio emulator-scope`: isolated_studio.ops.emulator_scope's entry point (its usage, exit codes)."""

from __future__ import annotations

from collections.abc import Sequence

from isolated_studio.ops.context import RunContext
from isolated_studio.ops.emulator_scope import main


def run(context: RunContext, argv: Sequence[str]) -> int:
    return main(list(argv), prog=context.usage_name)
