"""The plan review's command line: STACK=plan.json arguments in, review.md (and one report per stack) out.

Run as ``isolated-studio review`` or ``python -m isolated_studio.ops.plan_review``; usage
errors exit 2 with argparse's message, a written review exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from isolated_studio.ops.plan_review.model import RunReview
from isolated_studio.ops.plan_review.render import render_run_report, render_stack_report
from isolated_studio.ops.plan_review.review import load_plan, review_plan


def _parse_stack_argument(argument: str) -> tuple[str, Path]:
    stack, sep, path = argument.partition("=")
    if not sep or not stack or not path:
        raise argparse.ArgumentTypeError(f"expected STACK=plan.json, got {argument!r}")
    return stack, Path(path)


def _parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m isolated_studio.ops.plan_review",
        description="Write a Markdown review of Terraform plans (terraform show -json output).",
    )
    parser.add_argument("plans", nargs="+", type=_parse_stack_argument, metavar="STACK=plan.json")
    parser.add_argument("--out", type=Path, help="write the run report here (default: stdout)")
    parser.add_argument("--stack-dir", type=Path, help="also write one report per stack as DIR/STACK.md")
    parser.add_argument(
        "--synthesized",
        type=Path,
        metavar="OUTDIR",
        help="the synthesized app (cdktf.out): policies known only after apply are rendered from "
        "OUTDIR/stacks/STACK/cdk.tf.json (default: from the plan's configuration)",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """CLI entry; prints a one-line summary on stderr, returns the exit code."""
    parser = _parser(prog)
    args = parser.parse_args(argv)
    stacks = [stack for stack, _ in args.plans]
    if len(set(stacks)) != len(stacks):
        parser.error(f"each stack may be given once, got {stacks}")
    try:
        run = RunReview(
            tuple(
                review_plan(stack, load_plan(path), synthesized_stack(args.synthesized, stack))
                for stack, path in args.plans
            )
        )
    except (OSError, ValueError) as error:
        parser.error(str(error))
    _write(render_run_report(run), args.out)
    if args.stack_dir:
        args.stack_dir.mkdir(parents=True, exist_ok=True)
        for review in run.stacks:
            _write(render_stack_report(review), args.stack_dir / f"{review.stack}.md")
    print(_one_line_summary(run, args.out), file=sys.stderr)
    return 0


def synthesized_stack(outdir: Path | None, stack: str) -> dict[str, Any] | None:
    """``<outdir>/stacks/<stack>/cdk.tf.json``, if there is one."""
    path = outdir / "stacks" / stack / "cdk.tf.json" if outdir is not None else None
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _write(text: str, path: Path | None) -> None:
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def _one_line_summary(run: RunReview, out: Path | None) -> str:
    counts = "; ".join(f"{r.stack}: +{r.to_add} ~{r.to_change} -/+{r.to_replace} -{r.to_destroy}" for r in run.stacks)
    where = f"review written to {out}" if out else "review written to stdout"
    warnings = len(run.warnings)
    return f"{where} ({counts}; {warnings} warning{'' if warnings == 1 else 's'})"
