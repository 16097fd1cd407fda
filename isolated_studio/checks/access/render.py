"""docs/security.md's access table ("What each role may do"), written from the scenarios by `--docs`/`--readme`."""

from __future__ import annotations

from collections.abc import Sequence

from isolated_studio.checks.access.model import MODES, PRINCIPALS, ROOT, SERVICE_PREFIX, Scenario
from isolated_studio.checks.access.scenarios import load_scenarios

ROLE_TITLES = {"execution": "Studio execution role", "mlflow": "MLflow server role"}
DOCS = ROOT / "docs" / "security.md"
DOCS_BEGIN = "<!-- access table: written by `python -m isolated_studio.checks.access --docs` from policy/access-scenarios.toml -->"
DOCS_END = "<!-- end of access table -->"


def role_table(scenarios: Sequence[Scenario]) -> str:
    """docs/security.md's "What each role may do" table: one row per scenario, by role, allowed first."""

    def modes(s: Scenario) -> str:
        return "both" if set(s.modes) == set(MODES) else " ".join(s.modes)

    def role(s: Scenario) -> str:
        return ROLE_TITLES.get(s.principal, f"`{s.principal.removeprefix(SERVICE_PREFIX)}` (assuming a role)")

    order = {p: i for i, p in enumerate(PRINCIPALS)}
    rows = sorted(scenarios, key=lambda s: (order.get(s.principal, len(order)), not s.allowed))

    def by(s: Scenario) -> str:
        if s.by:
            return ", ".join(f"`{sid}`" for sid in s.by)
        if s.principal.startswith(SERVICE_PREFIX):
            return "the role's trust policy"
        return "AWS's managed policy" if s.allowed else "no statement grants it"

    lines = ["| role | what | request | AWS decides | by statement | IAM modes |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {role(s)} | {s.story} | `{s.action}` | {'allowed' if s.allowed else '**denied**'} | {by(s)} | {modes(s)} |"
        for s in rows
    ]
    return "\n".join(lines)


def docs_with_table(text: str, scenarios: Sequence[Scenario]) -> str:
    """``text`` with the text between the access-table markers replaced by :func:`role_table`."""
    start, end = text.index(DOCS_BEGIN) + len(DOCS_BEGIN), text.index(DOCS_END)
    return text[:start] + "\n" + role_table(scenarios) + "\n" + text[end:]


def write_docs() -> None:
    """Rewrite :data:`DOCS`'s access table from the scenario file."""
    DOCS.write_text(docs_with_table(DOCS.read_text(), load_scenarios()))
