"""`isolated-studio plan`: the workflow's plan, with its options, messages and exit codes.

(isolated_studio.ops.workflow; `python -m isolated_studio.ops.workflow plan` is the same.)
"""

from __future__ import annotations

from collections.abc import Sequence

from isolated_studio.ops import workflow
from isolated_studio.ops.context import RunContext


def run(context: RunContext, argv: Sequence[str]) -> int:
    return workflow.main(["plan", *argv], context=context)
