"""docs/operations.md, the runbook: every command it shows exists and runs the workflow command it names."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PAGE = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
WORKFLOW_TARGETS = {"plan", "deploy", "destroy", "drift", "audit"}
BLOCKS = [block.split("```", 1)[0] for block in PAGE.split("```bash")[1:]]
LINES = [line.split("  #")[0].strip() for block in BLOCKS for line in block.splitlines() if line.strip()]
COMMANDS = [line for line in LINES if "make " in line.split("npx", 1)[0]]


def test_the_page_shows_the_commands_it_explains():
    # The rest are the cdktf CLI's, which tests/e2e/cdktf/test_cdktf_cli_e2e.py runs (tests/unit/house/test_readme.py).
    assert all(line.startswith("npx cdktf ") for line in LINES if line not in COMMANDS)
    assert [c.split()[0 if c.startswith("make") else 1] for c in COMMANDS] == ["make"] * len(COMMANDS)
    assert {"plan", "deploy", "destroy", "drift", "audit"} <= {
        shlex.split(c)[shlex.split(c).index("make") + 1] for c in COMMANDS
    }


def test_every_command_runs_the_workflow_with_its_stacks_and_arguments():
    """`make -n` of each: the workflow command with --stacks and ARGS as written (the e2e tests run
    `workflow drift`, `workflow audit` and `workflow deploy --from-plan-dir` themselves)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    for line in COMMANDS:
        words = shlex.split(line)
        assignments = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
        command = words[words.index("make") + 1]
        assert command in targets, line
        if command not in WORKFLOW_TARGETS:  # `make synth cli`: tests/unit/house/test_readme.py dry-runs it
            continue
        env = {**os.environ, **({"STUDIO_ENV": assignments["STUDIO_ENV"]} if "STUDIO_ENV" in assignments else {})}
        dry = subprocess.run(
            ["make", "-n", command, *(f"{k}={v}" for k, v in assignments.items() if k != "STUDIO_ENV")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert dry.returncode == 0, dry.stderr
        stacks = f" --stacks {assignments['STACKS']}" if "STACKS" in assignments else ""
        expected = f"isolated-studio {command}{stacks} {assignments.get('ARGS', '')}".rstrip()
        assert any(" ".join(l.split()).endswith(expected) for l in dry.stdout.splitlines()), (line, dry.stdout)
