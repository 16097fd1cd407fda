"""The plan review's reading of a plan: one stack's `terraform show -json` document in, its StackReview out.

Refuses documents it would misread (another format version, a state instead of a plan), reads
the resource changes, and puts the rules' warnings, the settings, the costs and the
permissions (:mod:`isolated_studio.ops.permissions`) into one :class:`.model.StackReview`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from isolated_studio.ops import day2
from isolated_studio.ops.permissions import review_permissions
from isolated_studio.ops.plan_actions import classify
from isolated_studio.ops.plan_review.costs import cost_lines, endpoint_cost
from isolated_studio.ops.plan_review.model import ResourceChange, StackReview
from isolated_studio.ops.plan_review.rules import _warnings, setting_changes

SUPPORTED_FORMAT_MAJOR = "1"


def load_plan(path: str | Path) -> dict[str, Any]:
    """Read a plan JSON file, with a hint when it is the binary plan instead."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        plan = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} is not JSON; convert the plan with `terraform show -json plan.tfplan > {Path(path).name}`"
        ) from error
    if not isinstance(plan, dict):
        raise ValueError(f"{path} is not a Terraform plan JSON object")
    return plan


def review_plan(stack: str, plan: Mapping[str, Any], synthesized: Mapping[str, Any] | None = None) -> StackReview:
    """Build the structured review of one stack's plan JSON.

    ``synthesized``: the stack's ``cdk.tf.json``; policy documents the plan knows only after
    apply are rendered from it (else from the plan's configuration).
    """
    _check_format(plan)
    changes = tuple(_changes(plan))
    prior = plan.get("prior_state", {}).get("values")
    region = plan_region(plan)
    endpoints = endpoint_cost(
        plan["planned_values"], plan.get("configuration")
    )  # _check_format refused a plan without it
    current = endpoint_cost(prior) if prior else None
    return StackReview(
        stack=stack,
        changes=changes,
        # Day-2 (isolated_studio.ops.day2): what each loss means and the way out.
        warnings=day2.annotate(_warnings(stack, plan, changes), plan),
        endpoint_cost=endpoints,
        current_endpoint_cost=current,
        terraform_version=plan.get("terraform_version"),
        permissions=review_permissions(plan, synthesized),
        settings=tuple(setting_changes(plan)),
        costs=tuple(cost_lines(plan, region, endpoints, current)),
        region=region,
    )


def plan_region(plan: Mapping[str, Any]) -> str | None:
    """The AWS provider's region, as the plan's configuration sets it."""
    provider = ((plan.get("configuration") or {}).get("provider_config") or {}).get("aws") or {}
    region = ((provider.get("expressions") or {}).get("region") or {}).get("constant_value")
    return region if isinstance(region, str) else None


def _check_format(plan: Mapping[str, Any]) -> None:
    """Refuse documents we would misread rather than produce a wrong review."""
    version = str(plan.get("format_version", ""))
    if version.split(".")[0] != SUPPORTED_FORMAT_MAJOR:
        raise ValueError(f"unsupported plan JSON format_version {version!r}; expected 1.x")
    # Terraform writes planned_values in every plan, one without changes too (the Go struct
    # is never omitted). Without it the document is something else - a state, an empty
    # state (only a format_version), a provider schema - that would read as "No changes".
    if "planned_values" not in plan:
        if "values" in plan:
            raise ValueError("this is `terraform show -json` of a state, not of a plan")
        raise ValueError(
            "this is not `terraform show -json` of a plan: it has no planned_values "
            "(an empty state shows as only a format_version)"
        )


def _changes(plan: Mapping[str, Any]) -> Iterator[ResourceChange]:
    for entry in plan.get("resource_changes") or []:
        change = entry.get("change", {})
        actions = tuple(change.get("actions", []))
        action = classify(actions)
        if action is None:
            continue
        yield ResourceChange(
            address=entry["address"],
            type=entry["type"],
            name=entry["name"],
            action=action,
            reason=entry.get("action_reason"),
            create_before_destroy=actions == ("create", "delete"),
            replace_paths=tuple(_format_path(path) for path in change.get("replace_paths") or []),
            changed_attributes=_changed_attributes(change),
            deposed=entry.get("deposed"),
            previous_address=entry.get("previous_address"),
            tag_changes=_tag_changes(change),
        )


def _tag_changes(change: Mapping[str, Any]) -> tuple[str, ...]:
    before = (change.get("before") or {}).get("tags_all") if isinstance(change.get("before"), Mapping) else None
    after = (change.get("after") or {}).get("tags_all") if isinstance(change.get("after"), Mapping) else None
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return ()
    found = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old != new:
            found.append(f"{key}: {'(none)' if old is None else old} -> {'(none)' if new is None else new}")
    return tuple(found)


def _changed_attributes(change: Mapping[str, Any]) -> tuple[str, ...]:
    """Top-level attributes whose value differs or becomes unknown."""
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    if not isinstance(before, dict) or not isinstance(after, dict) or not before:
        return ()
    names = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    names |= {key for key, value in unknown.items() if key in before and _contains_true(value)}
    return tuple(sorted(names))


def _contains_true(value: Any) -> bool:
    if value is True:
        return True
    if isinstance(value, dict):
        return any(_contains_true(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_true(item) for item in value)
    return False


def _format_path(path: Sequence[Any]) -> str:
    """``["ingress", 0, "cidr_blocks"]`` -> ``ingress[0].cidr_blocks``."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text
