"""docs/operations.md: every command it shows exists and runs the workflow command it names."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
COMMANDS = [line.split("  #")[0].strip() for line in PAGE.split("```bash", 1)[1].split("```", 1)[0].splitlines()
            if line.strip()]


def test_the_page_shows_the_commands_it_explains():
    assert [c.split()[0 if c.startswith("make") else 1] for c in COMMANDS] == ["make"] * 4
    assert {"drift", "audit", "deploy"} <= {shlex.split(c)[shlex.split(c).index("make") + 1] for c in COMMANDS}


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
        env = {**os.environ, **({"STUDIO_ENV": assignments["STUDIO_ENV"]} if "STUDIO_ENV" in assignments else {})}
        dry = subprocess.run(["make", "-n", command, *(f"{k}={v}" for k, v in assignments.items() if k != "STUDIO_ENV")],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0, dry.stderr
        stacks = f" --stacks {assignments['STACKS']}" if "STACKS" in assignments else ""
        expected = f"isolated-studio {command}{stacks} {assignments.get('ARGS', '')}".rstrip()
        assert any(" ".join(l.split()).endswith(expected) for l in dry.stdout.splitlines()), (line, dry.stdout)
