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


def test_the_emulator_make_commands_run_the_workflow_with_their_arguments():
    """`STUDIO_ENV=emulator make <command> ARGS=...` calls `isolated-studio <command> ARGS`: the e2e tests
    (tests/test_emulator_e2e.py, tests/test_emulator_workload.py) run those workflow commands."""
    import os
    import shlex
    import subprocess

    lines = [line.split("  #")[0].strip() for line in README.splitlines() if line.startswith("STUDIO_ENV=emulator make ")]
    assert any("--emulator-scope" in line for line in lines), "README shows no --emulator-scope command"
    for line in lines:
        words = shlex.split(line)
        assignments = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
        command = words[words.index("make") + 1]
        dry = subprocess.run(["make", "-n", command, *(f"{k}={v}" for k, v in assignments.items() if k != "STUDIO_ENV")],
                             cwd=ROOT, env={**os.environ, "STUDIO_ENV": assignments["STUDIO_ENV"]},
                             capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0, dry.stderr
        expected = f"isolated-studio {command} {assignments.get('ARGS', '')}".rstrip()
        assert any(" ".join(l.split()).endswith(expected) for l in dry.stdout.splitlines()), (line, dry.stdout)
