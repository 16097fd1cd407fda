"""Drift check: plan every applied stack and report what differs from the configuration.

``make drift`` / ``python -m isolated_studio.ops.workflow drift`` runs ``terraform plan
-detailed-exitcode`` (which refreshes first) in every stack that has been applied, saves the
plans and writes the usual review with a "Drift" section at the top: what changed outside
Terraform (the plan's ``resource_drift``: the refresh found it) and what Terraform would
change to bring the stack back (the plan's changes). Exit 0: no drift; 2: drift found (see
the report); 1: the check itself failed. Drift is a plan that changes something, whether
the cause is a change made by hand or configuration not applied yet. A stack that was
never applied is not checked and is listed with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from isolated_studio.ops.results import PlanFailed, RunResult, Skipped, StackPlan

if TYPE_CHECKING:  # pragma: no cover
    from isolated_studio.ops.workflow import Workflow

EXIT_NO_DRIFT, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2


@dataclass(frozen=True)
class OutOfBand:
    """One resource the refresh found changed (or gone) outside Terraform."""

    address: str
    action: str  # update / delete
    attributes: tuple[str, ...]


@dataclass
class DriftResult:
    run: RunResult
    outside: dict[str, list[OutOfBand]] = field(default_factory=dict)

    @property
    def drifted(self) -> list[str]:
        """Stacks whose plan changes something (``-detailed-exitcode`` 2)."""
        return [p.stack for p in self.run.planned if p.has_changes]

    @property
    def exit_code(self) -> int:
        return EXIT_DRIFT if self.drifted else EXIT_NO_DRIFT


def _changed(before: Any, after: Any) -> tuple[str, ...]:
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return ()
    return tuple(sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)))


def out_of_band(plan: Mapping[str, Any]) -> list[OutOfBand]:
    """What the refresh found changed outside Terraform and the plan would change back.

    ``resource_drift`` also lists attributes that only look different after a refresh (an
    ``aws_s3_bucket``'s legacy ``versioning`` block, set by its own resource; a security
    group's inline rules, managed as rule resources) and that the plan leaves alone; like
    Terraform's own "Objects have changed outside of Terraform", only the entries the plan
    acts on are reported.
    """
    acted_on = {rc["address"] for rc in plan.get("resource_changes", [])
                if rc.get("change", {}).get("actions") not in (["no-op"], ["read"])}
    found = []
    for rd in plan.get("resource_drift", []):
        if rd["address"] not in acted_on:
            continue
        change = rd.get("change", {})
        actions = change.get("actions", [])
        action = "delete" if actions == ["delete"] else "update"
        found.append(OutOfBand(rd["address"], action, _changed(change.get("before"), change.get("after"))))
    return found


def applied(workflow: Workflow, stack: str) -> str | None:
    """Why ``stack`` is not checked (never applied), or None."""
    if stack == "state":
        if not workflow.bootstrap_state_file().exists():
            return f"not applied: no bootstrap state at {workflow.bootstrap_state_file()}"
    elif not workflow.state_bucket_exists():
        return f"not applied: the state bucket {workflow.config.state.bucket} does not exist"
    workflow.tf.init(stack)
    if not workflow.tf.resources(stack):
        return "not applied: its state is empty"
    return None


def check_drift(workflow: Workflow, stacks: Sequence[str]) -> DriftResult:
    from isolated_studio.ops.workflow import ordered

    result = DriftResult(RunResult("drift", workflow.plan_dir))
    runnable = []
    for stack in ordered(stacks):
        reason = applied(workflow, stack)
        if reason:
            result.run.skipped.append(Skipped(stack, reason))
            workflow.say(f"{stack}: {reason}")
        else:
            runnable.append(stack)
    try:
        planned: list[StackPlan] = workflow.plan_concurrently(runnable)
    except PlanFailed as failed:
        result.run.planned = failed.planned
        workflow.write_report(result.run)
        raise
    result.run.planned = planned
    for plan in planned:
        result.outside[plan.stack] = out_of_band(json.loads(plan.json_file.read_text()))
        drifted = plan.has_changes
        workflow.say(f"{plan.stack}: {'DRIFT: ' + plan.summary() if drifted else 'no drift'}"
                     + (f", {len(result.outside[plan.stack])} resource(s) changed outside Terraform"
                        if result.outside[plan.stack] else ""))
    report = workflow.write_report(result.run)
    text = report.read_text(encoding="utf-8")
    title, _, rest = text.partition("\n")
    report.write_text("\n".join([title, "", *render_drift(result), rest.lstrip("\n")]), encoding="utf-8")
    workflow.say(f"Drift report: {report}")
    return result


def render_drift(result: DriftResult) -> list[str]:
    checked = [p.stack for p in result.run.planned]
    if not result.drifted:
        return ["## Drift: none", "",
                f"Checked {', '.join(f'`{s}`' for s in checked) or 'no stack'}: every resource matches "
                "the configuration and nothing changed outside Terraform.", ""]
    lines = [f"## DRIFT in {', '.join(f'`{s}`' for s in result.drifted)}", ""]
    for plan in result.run.planned:
        if plan.stack not in result.drifted:
            continue
        outside = result.outside.get(plan.stack, [])
        lines += [f"### `{plan.stack}`", "", plan.summary() + ".", ""]
        if outside:
            lines += ["Changed outside Terraform (found by the refresh):", "",
                      "| Resource | What happened | Attributes |", "|---|---|---|"]
            lines += [f"| `{o.address}` | {'deleted' if o.action == 'delete' else 'changed'} | "
                      f"{', '.join(o.attributes)} |" for o in outside]
            lines.append("")
        lines += ["What Terraform would change to match the configuration is under this stack's "
                  "\"All changes\" below; `make deploy` applies it.", ""]
    return lines
