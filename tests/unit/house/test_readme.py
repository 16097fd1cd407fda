"""README and docs/ are what platform teams read first: every command they show must run as
written, and every part that names code must stay true to it."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from isolated_studio.ops.summary import describe_outdir
from isolated_studio.ops.workflow import _parser

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = {
    path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
}
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
TARGETS = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, flags=re.M))
WORKFLOW_TARGETS = {"plan", "deploy", "destroy", "drift", "audit"}
SHELL_FENCE = re.compile(r"^```(?:bash|sh|shell|console)\s*$")

# Shell-block commands no test here can run, each with the test that runs it or what it needs.
# A command of a kind neither checked below nor listed here fails.
RUN_ELSEWHERE = {
    "mkdir -p ~/pm-lab-mlflow": "tests/e2e/lab/test_lab_docs_server.py",  # the laptop's MLflow server,
    ".venv/bin/mlflow server ": "tests/e2e/lab/test_lab_docs_server.py",  # started and stopped
    "kill $(cat ~/pm-lab-mlflow/gunicorn.pid)": "tests/e2e/lab/test_lab_docs_server.py",  # as written
    "cd notebooks && ../.venv/bin/jupyter execute private-mlflow.ipynb": "tests/e2e/lab/test_lab_notebook_e2e.py",
    "mlflow models predict ": "tests/e2e/lab/test_lab_notebook_e2e.py",  # on the model the notebook registers
}
NEEDS_AWS = ("aws ",)  # credentials and the deployed environment
CDKTF_E2E = (ROOT / "tests" / "e2e" / "cdktf" / "test_cdktf_cli_e2e.py").read_text(encoding="utf-8")


def _shell_commands(text: str) -> list[str]:
    """The commands of every bash block: comments dropped, continuation lines joined."""
    commands, block, pending = [], False, ""
    for line in text.splitlines():
        if not block:
            block = bool(SHELL_FENCE.match(line.strip()))  # also a block indented in a list
            continue
        if line.strip().startswith("```"):
            block = False
            continue
        line = (pending + " " + line.split("  #")[0].strip()).strip()
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


COMMANDS = [(page, command) for page, text in PAGES.items() for command in _shell_commands(text)]


def _split(command: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(command)
    env = {}
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return env, words


def test_every_page_has_its_shell_commands_found():
    assert {page for page, _ in COMMANDS} >= {
        "README.md",
        "docs/operations.md",
        "docs/emulator.md",
        "docs/testing.md",
        "docs/lab.md",
    }
    assert any(c.startswith("npx cdktf deploy state") for _, c in COMMANDS)


@pytest.mark.parametrize(("page", "command"), COMMANDS, ids=[f"{p}: {c}" for p, c in COMMANDS])
def test_every_shell_command_runs_as_written_or_is_classified(page, command):
    env, words = _split(command)
    if words[0] == "make":
        _check_make(env, words, command)
    elif words[:2] == ["npx", "cdktf"]:
        # Run against moto by tests/e2e/cdktf/test_cdktf_cli_e2e.py: the same subcommand, stacks and options.
        positional = [w for w in words[2:] if not w.startswith("-")][:3]
        positional = [w for w in positional if not w.endswith(".json")]
        assert "cli.run(" + ", ".join(f'"{w}"' for w in positional) in CDKTF_E2E, command
        for option in (w for w in words[2:] if w.startswith("--")):
            assert f'"{option}"' in CDKTF_E2E, (command, option)
    elif "python" in Path(words[0]).name and words[1:2] == ["-m"]:
        module = words[2]
        paths = [str(ROOT / p) for p in env.get("PYTHONPATH", "").split(":") if p] + [str(ROOT / "notebooks")]
        sys.path[:0] = paths
        try:
            assert importlib.util.find_spec(module) is not None, f"{page}: no module {module}: {command}"
        finally:
            del sys.path[: len(paths)]
        if module == "pytest":
            for arg in (w for w in words[3:] if not w.startswith("-")):
                assert (ROOT / arg).exists(), (command, arg)
    elif command.startswith(NEEDS_AWS):
        pass
    else:
        test = next((test for prefix, test in RUN_ELSEWHERE.items() if command.startswith(prefix)), None)
        assert test, f"{page}: a command of a kind no test runs and nobody classified: {command}"
        assert (ROOT / test).exists(), test


def _check_make(env: dict[str, str], words: list[str], command: str) -> None:
    target = words[1]
    assert target in TARGETS, f"`{command}`: the Makefile has no target {target!r}"
    assignments = dict(w.split("=", 1) for w in words[2:] if "=" in w and not w.startswith("-"))
    goals = [w for w in words[1:] if "=" not in w]
    dry = subprocess.run(
        ["make", "-n", *goals, *(f"{k}={v}" for k, v in assignments.items())],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 0, (command, dry.stderr)
    if target in WORKFLOW_TARGETS:
        stacks = f" --stacks {assignments['STACKS']}" if "STACKS" in assignments else ""
        expected = f"isolated-studio {target}{stacks} {assignments.get('ARGS', '')}".rstrip()
        assert any(" ".join(line.split()).endswith(expected) for line in dry.stdout.splitlines()), (command, dry.stdout)


def test_the_synthesis_summary_shown_in_the_readme_is_what_make_synth_prints(synth):
    printed = describe_outdir(synth.outdir, synth.config).splitlines()[1:]
    assert printed, "the summary lists no stack"
    for line in printed:
        assert line in README, f"README's `make synth` example is out of date; synthesis prints:\n{line}"


def test_every_workflow_option_is_documented_in_the_runbook():
    parser = _parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    options = {
        opt
        for sub in subparsers.values()
        for action in sub._actions
        for opt in action.option_strings
        if opt.startswith("--") and opt != "--help"
    }
    assert {"--yes", "--include-state", "--no-synth", "--lock-timeout"} <= options
    runbook = PAGES["docs/operations.md"]
    undocumented = sorted(opt for opt in options if f"`{opt}" not in runbook)
    assert undocumented == [], f"workflow options missing from docs/operations.md: {undocumented}"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_make_target_a_page_names_exists(page):
    # As code (`make x`, a shell line, "(make x)" in a comment), not prose ("... that make one").
    named = set(re.findall(r"(?:`|^|\(|\$ )make ([a-z][a-z-]*)", PAGES[page], flags=re.M))
    assert named - TARGETS == set(), f"{page} names make targets the Makefile lacks: {sorted(named - TARGETS)}"


def test_the_readme_names_the_two_commands_and_the_make_targets_exist():
    named = set(re.findall(r"(?:`|^)make ([a-z][a-z-]*)", README, flags=re.M))
    assert {"synth", "test"} <= named <= TARGETS


def test_the_emulator_make_commands_run_the_workflow_with_their_arguments():
    """`STUDIO_ENV=emulator make <command> ARGS=...` calls `isolated-studio <command> ARGS`: the e2e tests
    (tests/e2e/emulator/test_emulator_e2e.py, tests/e2e/emulator/test_emulator_workload.py) run those workflow commands."""
    lines = [c for _, c in COMMANDS if c.startswith("STUDIO_ENV=emulator make ")]
    assert any("--emulator-scope" in line for line in lines), "no page shows an --emulator-scope command"
    assert {"deploy", "plan", "destroy"} <= {_split(line)[1][1] for line in lines}
    for line in lines:
        env, words = _split(line)
        _check_make(env, words, line)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    anchors, block = set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            block = not block
        elif not block and (m := re.match(r"^#{1,6} (.+)$", line)):
            anchors.add(_slug(m.group(1)))
    return anchors


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_relative_link_resolves(page):
    broken = []
    text = re.sub(r"```.*?```", "", PAGES[page], flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = (ROOT / page).parent / path if path else ROOT / page
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved.read_text(encoding="utf-8")):
            broken.append(target)
    assert broken == [], f"{page}: links that resolve to nothing: {broken}"


def test_the_docs_index_lists_every_page_once():
    index = PAGES["docs/README.md"]
    pages = sorted(p.removeprefix("docs/") for p in PAGES if p.startswith("docs/") and p != "docs/README.md")
    listed = re.findall(r"^- \[[^\]]+\]\(([^)#]+)\)", index, flags=re.M)
    assert sorted(listed) == pages, "docs/README.md must list every page of docs/, one line each"


def test_the_readme_stays_a_front_door():
    assert len(README.splitlines()) <= 200, "README is the front door: details go to docs/ pages"
    assert "[docs/README.md](docs/README.md)" in README
