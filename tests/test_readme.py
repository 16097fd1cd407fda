"""The README is what platform teams read first: the parts that name code must stay true to it."""

from __future__ import annotations

import re
from pathlib import Path

from isolated_studio.ops.summary import describe_outdir
from isolated_studio.ops.workflow import _parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_synthesis_summary_shown_in_the_readme_is_what_make_synth_prints(synth):
    printed = describe_outdir(synth.outdir, synth.config).splitlines()[1:]
    assert printed, "the summary lists no stack"
    for line in printed:
        assert line in README, f"README's `make synth` example is out of date; synthesis prints:\n{line}"


def test_every_workflow_option_is_documented():
    parser = _parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    options = {opt for sub in subparsers.values() for action in sub._actions
               for opt in action.option_strings if opt.startswith("--") and opt != "--help"}
    assert {"--yes", "--include-state", "--no-synth", "--lock-timeout"} <= options
    undocumented = sorted(opt for opt in options if f"`{opt}" not in README)
    assert undocumented == [], f"workflow options missing from README: {undocumented}"


def test_every_make_target_the_readme_names_exists():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    named = set(re.findall(r"\bmake ([a-z][a-z-]*)", README))
    assert named, "README names no make target"
    assert named - targets == set(), f"README names make targets the Makefile lacks: {sorted(named - targets)}"
