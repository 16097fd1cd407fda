"""`isolated-studio deploy`: the workflow's deploy (isolated_studio.ops.workflow; its options, messages and exit codes)."""

from __future__ import annotations

from collections.abc import Sequence

from isolated_studio.ops import workflow
from isolated_studio.ops.context import RunContext


def run(context: RunContext, argv: Sequence[str]) -> int:
    return workflow.main(["deploy", *argv], context=context)
