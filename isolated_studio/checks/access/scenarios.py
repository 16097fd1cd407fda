"""Reading policy/access-scenarios.toml into Scenarios, and the AWS managed policies kept in policy/aws-managed/."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from isolated_studio.checks.access.model import MODES, PRINCIPALS, ROOT, SERVICE_PREFIX, Scenario, ScenarioError

SCENARIO_FILE = ROOT / "policy" / "access-scenarios.toml"
MANAGED_POLICIES_DIR = ROOT / "policy" / "aws-managed"

SCENARIO_KEYS = {
    "id",
    "story",
    "principal",
    "action",
    "expect",
    "modes",
    "resource",
    "context",
    "absent",
    "covers",
    "blocker",
    "by",
}


def load_scenarios(path: Path = SCENARIO_FILE) -> list[Scenario]:
    """Every scenario of the file, checked for shape; all problems reported together."""
    data = tomllib.loads(path.read_text())
    problems: list[str] = []
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    for index, row in enumerate(data.get("scenario", [])):
        label = row.get("id", f"scenario #{index + 1}")
        unknown = set(row) - SCENARIO_KEYS
        if unknown:
            problems.append(f"{label}: unknown keys {sorted(unknown)}")
        for key in ("id", "story", "principal", "action", "expect"):
            if not row.get(key):
                problems.append(f"{label}: '{key}' is required")
        if label in seen:
            problems.append(f"{label}: duplicate id")
        seen.add(label)
        if row.get("expect") not in ("allow", "deny"):
            problems.append(f"{label}: expect must be 'allow' or 'deny'")
        principal = row.get("principal", "")
        if principal not in PRINCIPALS and not principal.startswith(SERVICE_PREFIX):
            problems.append(f"{label}: principal {principal!r} must be one of {list(PRINCIPALS)} or service:<name>")
        for call in row.get("covers", ()):
            if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", call):
                problems.append(f"{label}: covers {call!r} must be service:Operation (an API call, e.g. s3:HeadObject)")
        modes = tuple(row.get("modes", MODES))
        if not modes or set(modes) - set(MODES):
            problems.append(f"{label}: modes {list(modes)} must be a non-empty subset of {list(MODES)}")
        scenarios.append(
            Scenario(
                id=label,
                story=row.get("story", ""),
                principal=principal,
                action=row.get("action", ""),
                expect=row.get("expect", ""),
                modes=modes,
                resource=dict(row.get("resource", {})),
                context=dict(row.get("context", {})),
                absent=tuple(row.get("absent", ())),
                covers=tuple(row.get("covers", ())),
                blocker=row.get("blocker", ""),
                by=tuple(row.get("by", ())),
            )
        )
    if problems:
        raise ScenarioError(f"{path}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return scenarios


def managed_policy(name: str) -> tuple[str, dict]:
    """(version, document) of an AWS managed policy kept in policy/aws-managed/<name>.<version>.json."""
    found = sorted(MANAGED_POLICIES_DIR.glob(f"{name}.v*.json"))
    if len(found) != 1:
        raise ScenarioError(f"expected one copy of AWS managed policy {name} in {MANAGED_POLICIES_DIR}, found {found}")
    return found[0].name.split(".")[1], json.loads(found[0].read_text())
