"""`isolated-studio destroy`: the workflow's destroy, with its options, messages and exit codes.

(isolated_studio.ops.workflow; `python -m isolated_studio.ops.workflow destroy` is the same.)
"""

from __future__ import annotations

from collections.abc import Sequence

from isolated_studio.ops import workflow
from isolated_studio.ops.context import RunContext


def run(context: RunContext, argv: Sequence[str]) -> int:
    return workflow.main(["destroy", *argv], context=context)
