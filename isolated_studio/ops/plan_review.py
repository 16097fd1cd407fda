"""Markdown review reports from Terraform plan JSON.

Reviewers of a plan for this project care about a few things more than the
raw diff: whether anything is destroyed, whether a long-lived resource (the
Studio domain, its EFS, buckets, KMS keys...) would be replaced and lose data,
what changes in IAM / security groups / resource policies / KMS / routing (the
isolation boundary), and how much the interface endpoints cost.  This module
reads ``terraform show -json plan.tfplan`` output (format_version 1.x) and
puts exactly that at the top of a Markdown report, for one stack or for a run
of several stacks.

Usage::

    python -m isolated_studio.ops.plan_review state=state.json network=network.json \\
        workload=workload.json --out review.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

# Price of one interface endpoint in one AZ, per hour: USD 0.01 is the list
# price in us-east-1 and us-west-2 (other regions are slightly higher). Data
# processed through the endpoints (USD 0.01/GB for the first PB) is extra and
# not estimated here because it depends on usage.
INTERFACE_ENDPOINT_AZ_HOURLY_USD = Decimal("0.01")
# AWS bills a month as 730 hours (365 days x 24 h / 12).
HOURS_PER_MONTH = 730

SUPPORTED_FORMAT_MAJOR = "1"


class Action(str, Enum):
    """What Terraform will do to one resource instance (no-op/read excluded)."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"


# Terraform's action lists; replace comes in both orders depending on
# create_before_destroy. "no-op" and "read" change nothing and are ignored.
_ACTIONS: dict[tuple[str, ...], Action | None] = {
    ("no-op",): None,
    ("read",): None,
    ("create",): Action.CREATE,
    ("update",): Action.UPDATE,
    ("delete", "create"): Action.REPLACE,
    ("create", "delete"): Action.REPLACE,
    ("delete",): Action.DELETE,
    ("forget",): Action.FORGET,
}

# Resources whose replacement loses data or everything built on them.
LONG_LIVED_TYPES: Mapping[str, str] = {
    "aws_sagemaker_domain": "Studio domain: a new domain gets a new home EFS; users lose their files and spaces",
    "aws_sagemaker_user_profile": "user profile: the home directory on EFS is tied to the profile",
    "aws_sagemaker_mlflow_tracking_server": "MLflow tracking server: tracking URIs change for every notebook and pipeline",
    "aws_efs_file_system": "EFS file system: the users' home directories",
    "aws_s3_bucket": "S3 bucket: its objects",
    "aws_dynamodb_table": "DynamoDB table: its items",
    "aws_kms_key": "KMS key: data encrypted with it is unreadable once the old key is deleted",
    "aws_codeartifact_domain": "CodeArtifact domain: cached and published packages",
    "aws_codeartifact_repository": "CodeArtifact repository: cached and published packages",
    "aws_vpc": "VPC: every subnet, endpoint and ENI in it is recreated",
}

_SECURITY_GROUP_TYPES = frozenset(
    {
        "aws_security_group",
        "aws_security_group_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
        "aws_default_security_group",
    }
)
_POLICY_TYPES = frozenset(
    {
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_account_public_access_block",
        "aws_s3_bucket_acl",
        "aws_vpc_endpoint_policy",
    }
)
_NETWORK_TYPES = frozenset(
    {
        "aws_route",
        "aws_route_table",
        "aws_route_table_association",
        "aws_main_route_table_association",
        "aws_default_route_table",
        "aws_vpc_endpoint_route_table_association",
        "aws_internet_gateway",
        "aws_internet_gateway_attachment",
        "aws_egress_only_internet_gateway",
        "aws_nat_gateway",
        "aws_vpc_peering_connection",
        "aws_ec2_transit_gateway_vpc_attachment",
        "aws_vpn_gateway",
        "aws_vpn_gateway_attachment",
        "aws_vpn_gateway_route_propagation",
        "aws_network_acl",
        "aws_network_acl_rule",
        "aws_network_acl_association",
        "aws_default_network_acl",
        # The DNS firewall decides which names the VPC resolves: a DNS path out is a network path.
        "aws_route53_resolver_firewall_rule_group_association",
        "aws_route53_resolver_firewall_rule_group",
        "aws_route53_resolver_firewall_rule",
        "aws_route53_resolver_firewall_domain_list",
        "aws_route53_resolver_firewall_config",
        "aws_route53_resolver_query_log_config",
        "aws_route53_resolver_query_log_config_association",
    }
)

# Order of the call-out sections in the report.
CATEGORY_IAM = "IAM"
CATEGORY_SECURITY_GROUPS = "Security groups"
CATEGORY_POLICIES = "Bucket and endpoint policies"
CATEGORY_KMS = "KMS"
CATEGORY_NETWORK = "Network routes and gateways"
CATEGORIES = (CATEGORY_IAM, CATEGORY_SECURITY_GROUPS, CATEGORY_POLICIES, CATEGORY_KMS, CATEGORY_NETWORK)

_REASONS = {
    "replace_because_tainted": "the object is tainted",
    "replace_because_cannot_update": "a changed attribute forces replacement",
    "replace_by_request": "requested with -replace",
    "replace_by_triggers": "replace_triggered_by",
    "delete_because_no_resource_config": "removed from the configuration",
    "delete_because_no_module": "its module was removed",
    "delete_because_wrong_repetition": "count/for_each was added or removed",
    "delete_because_count_index": "its count index no longer exists",
    "delete_because_each_key": "its for_each key no longer exists",
    "delete_because_no_move_target": "its moved target does not exist",
}

_ACTION_LABELS = {
    Action.CREATE: "create",
    Action.UPDATE: "update in place",
    Action.REPLACE: "replace",
    Action.DELETE: "DESTROY",
    Action.FORGET: "forget (remove from state, keep the object)",
}


def category_of(resource_type: str) -> str | None:
    """The security-relevant category of a resource type, if any."""
    if resource_type.startswith("aws_iam_"):
        return CATEGORY_IAM
    if resource_type in _SECURITY_GROUP_TYPES:
        return CATEGORY_SECURITY_GROUPS
    if resource_type in _POLICY_TYPES:
        return CATEGORY_POLICIES
    if resource_type.startswith("aws_kms_"):
        return CATEGORY_KMS
    if resource_type in _NETWORK_TYPES:
        return CATEGORY_NETWORK
    return None


@dataclass(frozen=True)
class ResourceChange:
    """One resource instance that the plan changes."""

    address: str
    type: str
    name: str
    action: Action
    reason: str | None = None
    create_before_destroy: bool = False
    replace_paths: tuple[str, ...] = ()
    changed_attributes: tuple[str, ...] = ()
    deposed: str | None = None
    previous_address: str | None = None

    @property
    def category(self) -> str | None:
        return category_of(self.type)

    @property
    def action_label(self) -> str:
        """The action as reviewers read it, including the replace order."""
        if self.action is Action.REPLACE:
            order = "create before destroy" if self.create_before_destroy else "destroy then create"
            return f"replace ({order})"
        return _ACTION_LABELS[self.action]

    @property
    def details(self) -> str:
        """Why and what: reason, forcing attributes, changed attribute names.

        Only attribute *names* are shown, never values, so sensitive values
        (passwords, policies marked sensitive) cannot leak into the report.
        """
        parts: list[str] = []
        if self.previous_address:
            parts.append(f"moved from {self.previous_address}")
        if self.deposed:
            parts.append(f"deposed object {self.deposed}")
        if self.reason:
            parts.append(_REASONS.get(self.reason, self.reason))
        if self.replace_paths:
            parts.append("forced by: " + ", ".join(self.replace_paths))
        # For a replacement every computed attribute (id, arn...) "changes";
        # only in-place updates get a list that is worth reading.
        if self.changed_attributes and self.action is Action.UPDATE:
            parts.append("changes: " + ", ".join(self.changed_attributes))
        return "; ".join(parts)


@dataclass(frozen=True)
class ReviewWarning:
    """Something a reviewer must look at before approving the apply."""

    stack: str
    address: str
    kind: str  # "destroy", "replace" or "plan"
    message: str


@dataclass(frozen=True)
class EndpointCost:
    """Fixed hourly charge of the interface endpoints, priced per month.

    Each subnet of an interface endpoint is one AZ (AWS allows one subnet per
    AZ per endpoint) and each endpoint-AZ is billed by the hour.
    """

    interface_endpoints: int = 0
    endpoint_azs: int = 0
    unknown_az_endpoints: tuple[str, ...] = ()
    # Priced by the number of subnets their configuration lists, because those subnets are
    # created in the same apply and their ids are not known yet.
    configured_az_endpoints: tuple[str, ...] = ()
    hourly_price_usd: Decimal = INTERFACE_ENDPOINT_AZ_HOURLY_USD

    @property
    def monthly_usd(self) -> Decimal:
        return self.endpoint_azs * self.hourly_price_usd * HOURS_PER_MONTH

    def __add__(self, other: EndpointCost) -> EndpointCost:
        return EndpointCost(
            interface_endpoints=self.interface_endpoints + other.interface_endpoints,
            endpoint_azs=self.endpoint_azs + other.endpoint_azs,
            unknown_az_endpoints=self.unknown_az_endpoints + other.unknown_az_endpoints,
            configured_az_endpoints=self.configured_az_endpoints + other.configured_az_endpoints,
            hourly_price_usd=self.hourly_price_usd,
        )


@dataclass(frozen=True)
class StackReview:
    """Structured review of one stack's plan; the Markdown is rendered from it."""

    stack: str
    changes: tuple[ResourceChange, ...] = ()
    warnings: tuple[ReviewWarning, ...] = ()
    endpoint_cost: EndpointCost = field(default_factory=EndpointCost)
    current_endpoint_cost: EndpointCost | None = None
    terraform_version: str | None = None
    # What IAM, bucket and key policies grant and remove (isolated_studio.ops.permissions).
    permissions: Any = None

    def _count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)

    @property
    def to_add(self) -> int:
        return self._count(Action.CREATE)

    @property
    def to_change(self) -> int:
        return self._count(Action.UPDATE)

    @property
    def to_replace(self) -> int:
        return self._count(Action.REPLACE)

    @property
    def to_destroy(self) -> int:
        return self._count(Action.DELETE)

    @property
    def to_forget(self) -> int:
        return self._count(Action.FORGET)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def sensitive(self, category: str) -> tuple[ResourceChange, ...]:
        """Changes in one security-relevant category, in plan order."""
        return tuple(change for change in self.changes if change.category == category)


@dataclass(frozen=True)
class RunReview:
    """Reviews of all stacks of one plan run, in the order they are applied."""

    stacks: tuple[StackReview, ...]

    @property
    def warnings(self) -> tuple[ReviewWarning, ...]:
        return tuple(warning for stack in self.stacks for warning in stack.warnings)

    @property
    def endpoint_cost(self) -> EndpointCost:
        total = EndpointCost()
        for stack in self.stacks:
            total = total + stack.endpoint_cost
        return total

    @property
    def has_changes(self) -> bool:
        return any(stack.has_changes for stack in self.stacks)


# --------------------------------------------------------------------------
# Reading the plan


def load_plan(path: str | Path) -> dict[str, Any]:
    """Read a plan JSON file, with a hint when it is the binary plan instead."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        plan = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} is not JSON; convert the plan with "
            f"`terraform show -json plan.tfplan > {Path(path).name}`"
        ) from error
    if not isinstance(plan, dict):
        raise ValueError(f"{path} is not a Terraform plan JSON object")
    return plan


def review_plan(stack: str, plan: Mapping[str, Any]) -> StackReview:
    """Build the structured review of one stack's plan JSON."""
    _check_format(plan)
    changes = tuple(_changes(plan))
    prior = plan.get("prior_state", {}).get("values")
    from isolated_studio.ops.permissions import review_permissions

    return StackReview(
        stack=stack,
        changes=changes,
        warnings=_warnings(stack, plan, changes),
        endpoint_cost=endpoint_cost(plan["planned_values"], plan.get("configuration")),  # _check_format refused a plan without it
        current_endpoint_cost=endpoint_cost(prior) if prior else None,
        terraform_version=plan.get("terraform_version"),
        permissions=review_permissions(plan),
    )


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
        raise ValueError("this is not `terraform show -json` of a plan: it has no planned_values "
                         "(an empty state shows as only a format_version)")


def classify(actions: Sequence[str]) -> Action | None:
    """Map Terraform's action list to one action; ``None`` means no change."""
    try:
        return _ACTIONS[tuple(actions)]
    except KeyError:
        raise ValueError(f"unknown Terraform plan actions {list(actions)!r}") from None


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
        )


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


def _warnings(stack: str, plan: Mapping[str, Any], changes: Iterable[ResourceChange]) -> tuple[ReviewWarning, ...]:
    """Destroys, replacements of long-lived resources and broken plans."""
    warnings: list[ReviewWarning] = []
    if plan.get("errored"):
        warnings.append(ReviewWarning(stack, "", "plan", "Terraform reported errors: the plan is incomplete, do not apply it"))
    for change in changes:
        lost = LONG_LIVED_TYPES.get(change.type)
        if change.action is Action.DELETE:
            message = f"DESTROY `{change.address}`"
            message += f" ({change.details})" if change.details else ""
            message += f"; loses the {lost}" if lost else ""
            warnings.append(ReviewWarning(stack, change.address, "destroy", message))
        elif change.action is Action.REPLACE and lost:
            order = "create before destroy" if change.create_before_destroy else "destroy then create"
            message = f"REPLACE long-lived `{change.address}` ({order}"
            message += f"; {change.details})" if change.details else ")"
            message += f"; loses the {lost}"
            warnings.append(ReviewWarning(stack, change.address, "replace", message))
    return tuple(warnings)


def endpoint_cost(values: Mapping[str, Any], configuration: Mapping[str, Any] | None = None) -> EndpointCost:
    """Price the interface endpoints of a planned (or prior) state.

    ``values`` is ``planned_values`` or ``prior_state.values``: the endpoints
    that exist after (or before) apply, including unchanged ones.  Terraform
    omits unknown values from these documents; a list whose elements are
    unknown keeps its length (elements are null), but a *set* of unknown ids
    (``subnet_ids`` when the subnets are created in the same apply, as on
    every first deploy) is unknown as a whole.  For those, the plan's
    ``configuration`` still says how many subnets the endpoint is given when
    it lists them one by one; only endpoints whose count cannot be read from
    it are left unpriced and listed, never guessed.
    """
    count = 0
    azs = 0
    unknown: list[str] = []
    configured: list[str] = []
    for resource in _module_resources(values.get("root_module", {})):
        if resource.get("type") != "aws_vpc_endpoint" or resource.get("mode", "managed") != "managed":
            continue
        attributes = resource.get("values") or {}
        if attributes.get("vpc_endpoint_type") != "Interface":
            continue
        count += 1
        subnets = attributes.get("subnet_ids")
        if isinstance(subnets, list):
            azs += len(subnets)
            continue
        listed = _configured_subnet_count(configuration, resource)
        if listed is None:
            unknown.append(resource["address"])
        else:
            azs += listed
            configured.append(resource["address"])
    return EndpointCost(interface_endpoints=count, endpoint_azs=azs, unknown_az_endpoints=tuple(unknown),
                        configured_az_endpoints=tuple(configured))


def _configured_subnet_count(configuration: Mapping[str, Any] | None, resource: Mapping[str, Any]) -> int | None:
    """How many subnets the configuration gives this endpoint, when it lists them one by one.

    A literal list (``[aws_subnet.a.id, aws_subnet.b.id]``; cdktf's JSON shows it as a
    ``constant_value`` of interpolations) has a known length.  Anything else - a variable,
    a local, a splat over a counted resource - could be any length, so None.
    """
    if not configuration:
        return None
    module = configuration.get("root_module") or {}
    path = _ADDRESS_STEP.findall(resource["address"])
    while path[0] == "module" and len(path) > 2:
        name = path[1].split("[")[0]
        module = ((module.get("module_calls") or {}).get(name) or {}).get("module") or {}
        path = path[2:]
    address = ".".join(path).split("[")[0]
    config = next((r for r in module.get("resources") or [] if r.get("address") == address), None)
    expression = ((config or {}).get("expressions") or {}).get("subnet_ids") or {}
    constant = expression.get("constant_value")
    if isinstance(constant, list):
        return len(constant)
    references = expression.get("references") or []
    subnets = {ref.rsplit(".", 1)[0] for ref in references if ref.startswith("aws_subnet.") and ref.count(".") == 2}
    # Every reference must be to one whole subnet's id: `aws_subnet.x` alone is also what a
    # splat (`aws_subnet.x[*].id`) references, and then the count is unknown.
    if not subnets or any(
        "[" in ref or (ref not in subnets and ref.rsplit(".", 1)[0] not in subnets) for ref in references
    ):
        return None
    return len(subnets)


# One step of a resource address: dots inside an index do not split it, so that
# `aws_vpc_endpoint.this["com.amazonaws.us-east-1.sts"]` (for_each over service names) and
# `module.az["us-east-1.a"]` stay whole.
_ADDRESS_STEP = re.compile(r'(?:[^.\[]+|\[(?:"(?:[^"\\]|\\.)*"|[^\]"]*)\])+')


def _module_resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _module_resources(child)


# --------------------------------------------------------------------------
# Rendering


def render_stack_report(review: StackReview) -> str:
    """A standalone Markdown report for one stack, warnings first."""
    lines = [f"# Plan review: stack `{review.stack}`", ""]
    lines += _warnings_block(review.warnings, show_stack=False)
    lines += _permission_callouts([review], show_stack=False)
    lines += _stack_body(review, level=2)
    return "\n".join(lines).rstrip() + "\n"


def render_run_report(run: RunReview) -> str:
    """One Markdown report for a run of several stacks, warnings first."""
    lines = ["# Plan review", ""]
    lines += _warnings_block(run.warnings, show_stack=True)
    lines += _permission_callouts(run.stacks, show_stack=True)
    lines += _summary_table(run)
    for review in run.stacks:
        lines += [f"## Stack `{review.stack}`", ""]
        lines += _stack_body(review, level=3)
    return "\n".join(lines).rstrip() + "\n"


def _warnings_block(warnings: Sequence[ReviewWarning], *, show_stack: bool) -> list[str]:
    if not warnings:
        return ["**No warnings:** nothing is destroyed and no long-lived resource is replaced.", ""]
    lines = [f"## WARNINGS ({len(warnings)}): read before applying", ""]
    for warning in warnings:
        prefix = f"`{warning.stack}`: " if show_stack else ""
        lines.append(f"- {prefix}{list_item(warning.message)}")
    return lines + [""]


_BLOCK_START = re.compile(r"^(?:[#>|*+=`~-]|\d+[.)])")


def list_item(text: str) -> str:
    """A Markdown list item's text on as many lines as it has: every further line indented, so
    that it stays in the item, no blank line, which would end the list, and a line that would
    start a heading, quote, list, table or code block escaped to plain text."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    escaped = [re.sub(r"^(\d*)(.)", r"\1\\\2", line) if _BLOCK_START.match(line) else line for line in lines[1:]]
    return "\n  ".join(lines[:1] + escaped)


def _permission_callouts(reviews: Sequence[StackReview], *, show_stack: bool) -> list[str]:
    """Granted permissions that widen access, right under the warnings."""
    from isolated_studio.ops.permissions import render_callouts

    lines: list[str] = []
    for review in reviews:
        if review.permissions is not None:
            lines += render_callouts(review.permissions, stack=review.stack if show_stack else None)
    if not lines:
        return []
    return [f"## Permission call-outs ({len(lines)}): wildcards, new services, iam:PassRole, Principal *", "",
            *lines, "", "Every statement granted or removed is listed per stack under Permissions.", ""]


def _summary_table(run: RunReview) -> list[str]:
    lines = [
        "## Summary",
        "",
        "| Stack | Add | Change | Replace | Destroy | Interface endpoints (USD/month) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for review in run.stacks:
        lines.append(
            f"| `{review.stack}` | {review.to_add} | {review.to_change} | {review.to_replace} "
            f"| {review.to_destroy} | {_usd(review.endpoint_cost.monthly_usd)} |"
        )
    total = run.endpoint_cost
    lines.append(
        f"| **Total** | {sum(r.to_add for r in run.stacks)} | {sum(r.to_change for r in run.stacks)} "
        f"| {sum(r.to_replace for r in run.stacks)} | {sum(r.to_destroy for r in run.stacks)} "
        f"| {_usd(total.monthly_usd)} |"
    )
    lines += ["", "Replacements are counted once, under Replace (Terraform counts each as 1 add + 1 destroy).", ""]
    # The total is a floor when an endpoint is unpriced: say so where the total is read.
    unpriced = len(total.unknown_az_endpoints)
    if unpriced:
        lines += [f"The endpoint total leaves out {unpriced} interface endpoint{'' if unpriced == 1 else 's'} "
                  "whose subnets are unknown until apply (listed under their stack).", ""]
    return lines


def _stack_body(review: StackReview, *, level: int) -> list[str]:
    heading = "#" * level
    lines = [_plan_line(review), ""]
    if review.terraform_version:
        lines += [f"Terraform {review.terraform_version}.", ""]
    lines += [f"{heading} Security-relevant changes", ""]
    lines += _sensitive_sections(review, level + 1)
    if review.permissions is not None:
        from isolated_studio.ops.permissions import render_permissions

        lines += render_permissions(review.permissions, level)
    lines += [f"{heading} Interface endpoint cost", ""]
    lines += _cost_lines(review)
    if review.has_changes:
        lines += [f"{heading} All changes", ""]
        lines += _change_table(review.changes)
    return lines


def _plan_line(review: StackReview) -> str:
    if not review.has_changes:
        return "**No changes.** The infrastructure matches the configuration."
    text = (
        f"**Plan:** {review.to_add} to add, {review.to_change} to change, "
        f"{review.to_replace} to replace, {review.to_destroy} to destroy"
    )
    if review.to_forget:
        text += f", {review.to_forget} to forget"
    return text + "."


def _sensitive_sections(review: StackReview, level: int) -> list[str]:
    lines: list[str] = []
    for category in CATEGORIES:
        changes = review.sensitive(category)
        if changes:
            lines += [f"{'#' * level} {category} ({len(changes)})", ""]
            lines += _change_table(changes)
    return lines or ["None: no change to IAM, security groups, bucket/endpoint policies, KMS or routing.", ""]


def _change_table(changes: Iterable[ResourceChange]) -> list[str]:
    lines = ["| Action | Address | Details |", "|---|---|---|"]
    for change in changes:
        lines.append(f"| {change.action_label} | `{_cell(change.address)}` | {_cell(change.details)} |")
    return lines + [""]


def _cost_lines(review: StackReview) -> list[str]:
    cost = review.endpoint_cost
    if not cost.interface_endpoints:
        lines = ["No interface endpoints after apply."]
    else:
        lines = [
            f"{cost.interface_endpoints} interface endpoints, {cost.endpoint_azs} endpoint-AZs in total "
            "(one per subnet): "
            f"{cost.endpoint_azs} x USD {cost.hourly_price_usd} per hour x {HOURS_PER_MONTH} h = "
            f"**USD {_usd(cost.monthly_usd)} per month** (fixed charge; data processing is extra, "
            "USD 0.01 per GB; price is the us-east-1/us-west-2 list price)."
        ]
    if cost.configured_az_endpoints:
        lines += [
            "",
            f"{len(cost.configured_az_endpoints)} of them get subnets created in this apply: their AZs are "
            "counted from the subnets their configuration lists.",
        ]
    if cost.unknown_az_endpoints:
        lines += [
            "",
            "Not priced, subnets unknown until apply: "
            + ", ".join(f"`{address}`" for address in cost.unknown_az_endpoints)
            + ".",
        ]
    current = review.current_endpoint_cost
    if current is not None and current.monthly_usd != cost.monthly_usd:
        delta = cost.monthly_usd - current.monthly_usd
        lines += ["", f"Currently USD {_usd(current.monthly_usd)} per month; this plan changes it by USD {delta:+,.2f}."]
    return lines + [""]


def _usd(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _cell(text: str) -> str:
    """Keep a table cell on one line and its pipes from splitting the row."""
    return text.replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------
# CLI


def _parse_stack_argument(argument: str) -> tuple[str, Path]:
    stack, sep, path = argument.partition("=")
    if not sep or not stack or not path:
        raise argparse.ArgumentTypeError(f"expected STACK=plan.json, got {argument!r}")
    return stack, Path(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m isolated_studio.ops.plan_review",
        description="Write a Markdown review of Terraform plans (terraform show -json output).",
    )
    parser.add_argument("plans", nargs="+", type=_parse_stack_argument, metavar="STACK=plan.json")
    parser.add_argument("--out", type=Path, help="write the run report here (default: stdout)")
    parser.add_argument("--stack-dir", type=Path, help="also write one report per stack as DIR/STACK.md")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry; prints a one-line summary on stderr, returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    stacks = [stack for stack, _ in args.plans]
    if len(set(stacks)) != len(stacks):
        parser.error(f"each stack may be given once, got {stacks}")
    try:
        run = RunReview(tuple(review_plan(stack, load_plan(path)) for stack, path in args.plans))
    except (OSError, ValueError) as error:
        parser.error(str(error))
    _write(render_run_report(run), args.out)
    if args.stack_dir:
        args.stack_dir.mkdir(parents=True, exist_ok=True)
        for review in run.stacks:
            _write(render_stack_report(review), args.stack_dir / f"{review.stack}.md")
    print(_one_line_summary(run, args.out), file=sys.stderr)
    return 0


def _write(text: str, path: Path | None) -> None:
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def _one_line_summary(run: RunReview, out: Path | None) -> str:
    counts = "; ".join(
        f"{r.stack}: +{r.to_add} ~{r.to_change} -/+{r.to_replace} -{r.to_destroy}" for r in run.stacks
    )
    where = f"review written to {out}" if out else "review written to stdout"
    warnings = len(run.warnings)
    return f"{where} ({counts}; {warnings} warning{'' if warnings == 1 else 's'})"


if __name__ == "__main__":
    sys.exit(main())
