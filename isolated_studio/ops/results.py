"""What a workflow command planned, skipped and applied, and the review report of it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from isolated_studio.config import StudioConfig
from isolated_studio.config.emulator import EmulatorProfile
from isolated_studio.ops import plan_review
from isolated_studio.ops.errors import WorkflowError


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only (plans and reviews show the state's values)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


@dataclass(frozen=True)
class StackPlan:
    """One saved plan and what the review made of it."""

    stack: str
    plan_file: Path
    json_file: Path
    review: plan_review.StackReview
    has_changes: bool
    destroy: bool = False

    def summary(self) -> str:
        r = self.review
        if not self.has_changes:
            return f"{self.stack}: no changes"
        text = (
            f"{self.stack}: {r.to_add} to add, {r.to_change} to change, {r.to_replace} to replace, "
            f"{r.to_destroy} to destroy"
        )
        return text + (f" ({len(r.warnings)} warning(s), see the review)" if r.warnings else "")


@dataclass(frozen=True)
class Skipped:
    stack: str
    reason: str


@dataclass
class RunResult:
    """What one command did, for the CLI to print and for callers (and tests) to inspect."""

    command: str
    plan_dir: Path
    planned: list[StackPlan] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    # Stacks whose apply started: one that is here and not in ``applied`` changed in part.
    started: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    report: Path | None = None
    # The stacks the command set out to change, in the order it takes them.
    requested: list[str] = field(default_factory=list)
    # What to run next after a run that changed something and did not finish (printed, and in review.md).
    next_steps: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything may have changed: an apply finished, or one started."""
        return bool(self.applied or self.started)

    def outcome_lines(self) -> list[str]:
        """Which stacks were applied, skipped and failed, one line each that has any."""
        verb = "destroyed" if self.command == "destroy" else "applied"
        partial = [s for s in self.started if s not in self.applied]
        lines = [f"{verb.capitalize()}: {', '.join(self.applied) or 'nothing'}"]
        if partial:
            lines.append(f"Changed in part (its apply did not finish): {', '.join(partial)}")
        if self.skipped:
            lines.append("Skipped: " + "; ".join(f"{s.stack} ({s.reason})" for s in self.skipped))
        if self.failed:
            lines.append("Failed: " + "; ".join(f"{stack} ({why})" for stack, why in self.failed.items()))
        return lines


def render_report(result: RunResult, config: StudioConfig) -> str:
    """The plan_review run report plus what was not planned and where the plans are."""
    reviews = tuple(p.review for p in result.planned)
    text = (
        plan_review.render_run_report(plan_review.RunReview(reviews))
        if reviews
        else "# Plan review\n\nNo stack was planned.\n"
    )
    where = EmulatorProfile.of(config).where(config.region)
    lines = [
        text.rstrip(),
        "",
        "## Run",
        "",
        f"`{result.command}` of environment `{config.environment}` ({where}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    if result.skipped:
        lines += ["### Not planned", ""]
        lines += [f"- `{s.stack}`: {plan_review.list_item(s.reason)}" for s in result.skipped] + [""]
    if result.command not in ("plan", "drift"):
        lines += ["### Applied", ""] + [f"- {plan_review.list_item(line)}" for line in result.outcome_lines()] + [""]
    if result.next_steps:
        lines += ["### Next", ""] + [
            f"{i}. {plan_review.list_item(step)}" for i, step in enumerate(result.next_steps, 1)
        ]
        lines.append("")
    if result.planned:
        lines += ["### Saved plans", "", "| Stack | Plan | JSON |", "|---|---|---|"]
        lines += [f"| `{p.stack}` | `{p.plan_file.name}` | `{p.json_file.name}` |" for p in result.planned]
        lines.append("")
    return "\n".join(lines)


class PlanFailed(WorkflowError):
    """Some stacks could not be planned; ``planned`` holds the ones that could."""

    def __init__(self, planned: list[StackPlan], failures: Mapping[str, BaseException]) -> None:
        self.planned = planned
        self.failures = dict(failures)
        super().__init__("\n".join(f"{stack}: {error}" for stack, error in self.failures.items()))
