"""The command line `python -m isolated_studio.checks.access [outdir] [--docs]`: its options, output and exit codes.

``isolated-studio access`` runs the same :func:`main`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from isolated_studio.base.paths import stack_dirs
from isolated_studio.checks.access.evaluate import evaluate_all
from isolated_studio.checks.access.render import write_docs
from isolated_studio.checks.access.scenarios import load_scenarios
from isolated_studio.checks.access.synthesis import load_synthesis, world_for

# The package's first line: what `--help` says the command is.
DESCRIPTION = "Access scenarios: every AWS request the environment depends on, decided by AWS's rules offline."


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("outdir", nargs="?", default="cdktf.out")
    # --readme: the name from when the table was in README.
    parser.add_argument(
        "--docs", "--readme", dest="docs", action="store_true", help="rewrite docs/security.md's access table and exit"
    )
    args = parser.parse_args(argv)
    if args.docs:
        write_docs()
        return 0
    stacks = {
        name: json.loads((path / "cdk.tf.json").read_text()) for name, path in stack_dirs(Path(args.outdir)).items()
    }
    attached = stacks["workload"].get("resource", {}).get("aws_iam_role_policy_attachment")
    mode = "managed" if attached else "least-privilege"
    synthesis = load_synthesis(stacks, mode, world_for(stacks))
    failed = 0
    for decision in evaluate_all(load_scenarios(), synthesis):
        mark = "ok  " if decision.as_expected else "FAIL"
        failed += not decision.as_expected
        print(
            f"{mark} {decision.scenario.expect:5} {'allowed' if decision.allowed else 'denied ':7} "
            f"{decision.scenario.action} {decision.resource}  -- {decision.scenario.story}"
        )
    return 1 if failed else 0
