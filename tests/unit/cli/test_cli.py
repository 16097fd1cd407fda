"""`isolated-studio`: every command routes to its tool with the tool's exit codes, and the
Makefile runs the product's commands through it."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from isolated_studio import cli

ROOT = Path(__file__).resolve().parents[3]
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
# Developers' tools, not the product's commands: they keep their `python -m` entry points.
DEV_TOOLS: set[str] = set()  # the mutation harness, bench and doc writers live in devtools/


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_has_its_own_module_with_a_run(name):
    module = importlib.import_module(f"isolated_studio.cli.commands.{cli.COMMANDS[name][0]}")
    assert callable(module.run)
    assert module.__doc__ and f"`isolated-studio {name}" in module.__doc__.splitlines()[0]


def test_help_lists_every_command_and_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(re.search(rf"^  {re.escape(name)} ", out, flags=re.M) for name in cli.COMMANDS), out


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys):
    assert cli.main([]) == 2
    assert cli.main(["deploi"]) == 2
    assert "unknown command 'deploi'" in capsys.readouterr().err


def test_a_subcommand_usage_error_exits_2_with_the_commands_name(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["deploy", "--stacks", "everything"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("usage: isolated-studio deploy ")


@pytest.mark.parametrize(
    ("command", "code"), [("plan", 2), ("deploy", 2), ("destroy", 2), ("drift", 1), ("audit", 1), ("tf-config", 2)]
)
def test_a_missing_environment_is_refused_before_anything_runs_with_the_workflows_exit_codes(
    command, code, monkeypatch, capsys
):
    monkeypatch.delenv("STUDIO_CONFIG", raising=False)
    monkeypatch.setenv("STUDIO_ENV", "no-such-environment")
    argv = [command] + (["--no-synth"] if command != "tf-config" else [])
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert "no-such-environment.toml" in err and "configuration file not found" in err


def test_the_makefile_runs_the_products_commands_through_isolated_studio():
    called = re.findall(r"\$\((?:ISOLATED_STUDIO|WORKFLOW)\) ([a-z-]+)", MAKEFILE)
    assert {"plan", "deploy", "destroy", "drift", "audit", "validate", "checkov", "lint-iam", "emulator"} <= set(called)
    assert set(called) <= set(cli.COMMANDS), sorted(set(called) - set(cli.COMMANDS))
    left = set(re.findall(r"python -m (isolated_studio[\w.]*)", MAKEFILE))
    assert left <= DEV_TOOLS, f"the Makefile still runs {sorted(left - DEV_TOOLS)} by module: use isolated-studio"


def test_the_command_line_page_shows_the_command_tree_as_help_prints_it():
    page = (ROOT / "docs" / "command-line.md").read_text(encoding="utf-8")
    assert f"```text\n{cli.usage()}\n```" in page, "docs/command-line.md is stale: paste `isolated-studio --help`"


# A command's own argparse --help drops the write error itself (argparse's _print_message) and exits 0.
@pytest.mark.parametrize(("args", "code"), [(["--help"], 1), (["access", "--help"], 0)])
def test_a_reader_that_went_away_ends_the_command_quietly(args, code):
    """`isolated-studio ... | head`: the pipe's reader closes before the command writes: no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "isolated_studio.cli", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == code


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_each_commands_help_names_it_as_the_user_typed_it(name, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([name, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: isolated-studio {name} ")
