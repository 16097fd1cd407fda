"""The CI templates (GitHub Actions, Atlantis) keep least privilege and call only what exists.

Every command either template runs is checked against the Makefile, the workflow CLI and the
files in the repository; the audits by GitHub's workflow schema and zizmor are
tests/integration/house/test_ci_templates_audit.py.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from isolated_studio.ops.workflow import _parser

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ATLANTIS = ROOT / "atlantis.yaml"
MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _run_commands() -> list[tuple[str, str]]:
    """(where, shell text) of every command the templates run."""
    commands = []
    for path in WORKFLOWS:
        for job_name, job in _load(path)["jobs"].items():
            for step in job.get("steps", []):
                if "run" in step:
                    commands.append((f"{path.name}:{job_name}", step["run"]))
    for name, workflow in _load(ATLANTIS)["workflows"].items():
        for stage in ("plan", "apply"):
            for step in workflow[stage]["steps"]:
                if isinstance(step, dict) and "run" in step:
                    commands.append((f"atlantis.yaml:{name}:{stage}", step["run"]))
    return commands


def test_there_is_a_github_workflow_and_an_atlantis_config():
    assert [p.name for p in WORKFLOWS] == ["isolated-studio.yml"]
    assert ATLANTIS.is_file()


def test_the_workflow_runs_each_event_through_make_with_least_privilege():
    workflow = _load(WORKFLOWS[0])
    triggers = workflow.get("on") or workflow.get(True)  # PyYAML reads `on:` as True
    assert {"pull_request", "push", "schedule"} <= set(triggers)
    assert "pull_request_target" not in triggers
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["plan"]["needs"] == "test" and jobs["apply"]["needs"] == "plan"
    assert jobs["apply"]["environment"] == "production"
    assert jobs["drift"]["if"].startswith("github.event_name == 'schedule'")
    for name, job in jobs.items():
        uses = [s["uses"] for s in job["steps"] if "uses" in s]
        assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), (name, uses)
        assert all(
            s.get("with", {}).get("persist-credentials") is False
            for s in job["steps"]
            if s.get("uses", "").startswith("actions/checkout@")
        ), name
        if any("configure-aws-credentials" in u for u in uses):
            assert job["permissions"].get("id-token") == "write", name
        assert "write" not in {v for k, v in job["permissions"].items() if k not in ("id-token", "pull-requests")}


def _options(command: str) -> set[str]:
    subparsers = next(a for a in _parser()._actions if a.dest == "command").choices
    return {opt for action in subparsers[command]._actions for opt in action.option_strings}


MAKE_COMMANDS = {"plan": "plan", "deploy": "deploy", "destroy": "destroy", "drift": "drift"}


def test_every_command_the_templates_run_exists():
    commands = _run_commands()
    assert commands
    seen_targets = set()
    for where, text in commands:
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            for segment in re.split(r"&&|\|\||;|\|", line):
                words = shlex.split(segment.replace("${", "$").replace("}", ""))
                if not words or words[0] in ("if", "then", "fi", "else"):
                    words = words[1:] if words and words[0] in ("if", "then") else []
                if not words:
                    continue
                program = words[0]
                if program == "make":
                    target = words[1]
                    assert target in MAKE_TARGETS, f"{where}: make {target} does not exist"
                    seen_targets.add(target)
                    args = next((w.split("=", 1)[1] for w in words[2:] if w.startswith("ARGS=")), "")
                    if target in MAKE_COMMANDS:
                        unknown = {a for a in args.split() if a.startswith("--")} - _options(MAKE_COMMANDS[target])
                        assert unknown == set(), f"{where}: `make {target}` is given unknown options {unknown}"
                elif program.startswith("."):
                    assert (ROOT / program).is_file(), f"{where}: {program} does not exist"
                else:
                    assert program in {"cat", "head", "gh", "tar", "[", "echo"}, f"{where}: unexpected {program}"
    assert {"plan", "deploy", "drift"} <= seen_targets


def test_atlantis_plans_and_applies_the_same_saved_plans_after_approval():
    config = _load(ATLANTIS)
    assert config["version"] == 3
    [project] = config["projects"]
    assert (ROOT / project["dir"]).is_dir() and project["workflow"] in config["workflows"]
    assert "approved" in project["apply_requirements"]
    for pattern in project["autoplan"]["when_modified"]:
        assert list(ROOT.glob(pattern)), f"autoplan pattern {pattern} matches nothing"
    workflow = config["workflows"][project["workflow"]]
    plan_runs = " ".join(s["run"] for s in workflow["plan"]["steps"] if "run" in s)
    apply_runs = " ".join(s["run"] for s in workflow["apply"]["steps"] if "run" in s)
    assert "make plan" in plan_runs and "PLANFILE" in plan_runs
    assert "--from-plan-dir" in apply_runs and "--no-synth" in apply_runs
