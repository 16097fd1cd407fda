"""Markdown review reports from Terraform plan JSON.

Reviewers of a plan for this project care about a few things more than the
raw diff: whether anything is destroyed, whether a long-lived resource (the
Studio domain, its EFS, buckets, KMS keys...) would be replaced and lose data,
what the next plan of another stack will do because of this one, what changes in
IAM / security groups / resource policies / KMS / routing (the isolation
boundary) and what it grants, the settings that matter (sizes, instance types,
retention, network access, KMS keys) old -> new, and what it costs a month.
This module reads ``terraform show -json plan.tfplan`` output (format_version
1.x) and puts exactly that at the top of a Markdown report, for one stack or
for a run of several stacks. Changes that touch only tags are summarized in
one line instead of filling the tables.

Warnings come from :data:`WARNING_RULES`, plain functions over the plan; each
warning has a group, and the report shows them grouped, data loss first. A new
rule (a refusal another command adds) is one more function there.

Usage::

    python -m isolated_studio.ops.plan_review state=state.json network=network.json \\
        workload=workload.json --out review.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from isolated_studio.ops import day2, prices
from isolated_studio.ops.permissions import render_callouts, render_permissions, review_permissions
from isolated_studio.ops.plan_actions import Action, classify

# Price of one interface endpoint in one AZ, per hour: the us-east-1 / us-west-2 list price
# (isolated_studio/ops/prices.py has its source and date; other regions are slightly
# higher). Data processed through the endpoints (USD 0.01/GB for the first PB) is extra and
# not estimated here because it depends on usage.
INTERFACE_ENDPOINT_PRICE = prices.PRICES[("interface-endpoint-az", "us-east-1")]
INTERFACE_ENDPOINT_AZ_HOURLY_USD = INTERFACE_ENDPOINT_PRICE.usd_per_hour
# AWS bills a month as 730 hours (365 days x 24 h / 12).
HOURS_PER_MONTH = prices.HOURS_PER_MONTH

SUPPORTED_FORMAT_MAJOR = "1"


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
    # "key: old -> new" for every tag the change adds, changes or removes (tags_all).
    tag_changes: tuple[str, ...] = ()

    @property
    def category(self) -> str | None:
        return category_of(self.type)

    @property
    def tags_only(self) -> bool:
        """An in-place update that changes nothing but tags."""
        return (self.action is Action.UPDATE and bool(self.changed_attributes)
                and set(self.changed_attributes) <= _TAG_ATTRIBUTES)

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


# How the report groups warnings, in this order: what is lost first.
GROUP_REFUSED = "Refused: AWS would fail it part-way"
GROUP_DATA_LOSS = "Data lost"
GROUP_ACROSS_STACKS = "What the next plan of another stack does"
GROUP_PLAN = "The plan itself"
GROUP_DESTROYED = "Destroyed, no data kept"
WARNING_GROUPS = (GROUP_REFUSED, GROUP_DATA_LOSS, GROUP_ACROSS_STACKS, GROUP_PLAN, GROUP_DESTROYED)


@dataclass(frozen=True)
class ReviewWarning:
    """Something a reviewer must look at before approving the apply."""

    stack: str
    address: str
    kind: str  # "destroy", "replace", "plan", "cross-stack", "refuse" (isolated_studio.ops.day2: never applied)
    message: str
    group: str = GROUP_PLAN


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
    settings: tuple[SettingChange, ...] = ()
    costs: tuple[CostLine, ...] = ()
    region: str | None = None

    @property
    def tags_only(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.tags_only)

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
        """Changes in one security-relevant category, in plan order (tag-only ones aside)."""
        return tuple(change for change in self.changes if change.category == category and not change.tags_only)


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


def review_plan(stack: str, plan: Mapping[str, Any], synthesized: Mapping[str, Any] | None = None) -> StackReview:
    """Build the structured review of one stack's plan JSON.

    ``synthesized``: the stack's ``cdk.tf.json``; policy documents the plan knows only after
    apply are rendered from it (else from the plan's configuration).
    """
    _check_format(plan)
    changes = tuple(_changes(plan))
    prior = plan.get("prior_state", {}).get("values")
    region = plan_region(plan)
    endpoints = endpoint_cost(plan["planned_values"], plan.get("configuration"))  # _check_format refused a plan without it
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
        raise ValueError("this is not `terraform show -json` of a plan: it has no planned_values "
                         "(an empty state shows as only a format_version)")


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


_TAG_ATTRIBUTES = frozenset({"tags", "tags_all"})


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


WarningRule = Callable[[str, Mapping[str, Any], Sequence["ResourceChange"]], Iterable[ReviewWarning]]


def errored_plan(stack: str, plan: Mapping[str, Any], changes: Sequence[ResourceChange]) -> Iterator[ReviewWarning]:
    if plan.get("errored"):
        yield ReviewWarning(stack, "", "plan", "Terraform reported errors: the plan is incomplete, do not apply it",
                            GROUP_PLAN)


def destroys_and_replacements(stack: str, plan: Mapping[str, Any],
                              changes: Sequence[ResourceChange]) -> Iterator[ReviewWarning]:
    """Every destroy, and every replacement of a long-lived resource: what it loses."""
    for change in changes:
        lost = LONG_LIVED_TYPES.get(change.type)
        if change.action is Action.DELETE:
            message = f"DESTROY `{change.address}`"
            message += f" ({change.details})" if change.details else ""
            message += f"; loses the {lost}" if lost else ""
            yield ReviewWarning(stack, change.address, "destroy", message,
                                GROUP_DATA_LOSS if lost else GROUP_DESTROYED)
        elif change.action is Action.REPLACE and lost:
            order = "create before destroy" if change.create_before_destroy else "destroy then create"
            message = f"REPLACE long-lived `{change.address}` ({order}"
            message += f"; {change.details})" if change.details else ")"
            message += f"; loses the {lost}"
            yield ReviewWarning(stack, change.address, "replace", message, GROUP_DATA_LOSS)


# What the workload takes from the network's outputs, and what a new value does to it on the
# workload's next plan. The provider's aws_sagemaker_domain schema marks vpc_id and
# subnet_ids ForceNew; its security groups are updated in place.
_DOMAIN_PLACEMENT = ("vpc_id", "private_subnet_ids", "cross-stack-output-aws_vpc", "cross-stack-output-aws_subnet")
_DOMAIN_GROUPS = ("studio_security_group_id", "cross-stack-output-aws_security_group")


def next_plan_of_the_workload(stack: str, plan: Mapping[str, Any],
                              changes: Sequence[ResourceChange]) -> Iterator[ReviewWarning]:
    """A network change whose outputs the workload reads: what the workload's next plan will do.

    The workload is planned against the network's current state, so its own plan in the
    same run cannot show it.
    """
    if stack != "network":
        return
    changed = sorted(name for name, output in (plan.get("output_changes") or {}).items()
                     if (output.get("actions") or ["no-op"]) != ["no-op"]
                     and (output.get("before") != output.get("after") or output.get("after_unknown")))
    placement = [n for n in changed if n.startswith(_DOMAIN_PLACEMENT)]
    groups = [n for n in changed if n.startswith(_DOMAIN_GROUPS)]
    if placement:
        yield ReviewWarning(
            stack, placement[0], "cross-stack",
            "the workload's next plan REPLACES the Studio domain and its user profiles: the domain's vpc_id and "
            f"subnet_ids (which force a new domain) come from the network's {', '.join(f'`{n}`' for n in placement)}, "
            "which this plan changes. A new domain gets a new home EFS: users lose their files and spaces unless "
            "workload.retain_home_efs keeps the old one (unattached). Apply this, then plan the workload and review "
            "that plan before applying it", GROUP_ACROSS_STACKS)
    if groups:
        yield ReviewWarning(
            stack, groups[0], "cross-stack",
            "the workload's next plan changes the security groups of the domain, its users and spaces (in place): "
            f"they come from the network's {', '.join(f'`{n}`' for n in groups)}, which this plan changes",
            GROUP_ACROSS_STACKS)


def refused_mid_apply(stack: str, plan: Mapping[str, Any], changes: Sequence[ResourceChange]) -> Iterator[ReviewWarning]:
    """What AWS would fail part-way through the apply (isolated_studio.ops.day2): deploy refuses it."""
    for address, message in day2.refusals(plan):
        yield ReviewWarning(stack, address, day2.REFUSE, f"REFUSED: {message}", GROUP_REFUSED)


# Every rule that adds warnings, in order. Another command's refusal rule is one more here.
WARNING_RULES: list[WarningRule] = [errored_plan, refused_mid_apply, destroys_and_replacements,
                                    next_plan_of_the_workload]


def _warnings(stack: str, plan: Mapping[str, Any], changes: Sequence[ResourceChange]) -> tuple[ReviewWarning, ...]:
    """What every rule of :data:`WARNING_RULES` finds."""
    return tuple(warning for rule in WARNING_RULES for warning in rule(stack, plan, changes))


# --------------------------------------------------------------------------
# Settings a reviewer judges, old -> new

# resource type -> (attribute path, what it is); nested blocks are one-element lists in the plan.
SETTINGS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "aws_sagemaker_mlflow_tracking_server": (
        ("tracking_server_size", "MLflow tracking server size"), ("mlflow_version", "MLflow version"),
        ("automatic_model_registration", "automatic model registration"),
        ("weekly_maintenance_window_start", "maintenance window"), ("artifact_store_uri", "artifact store")),
    "aws_sagemaker_domain": (
        ("app_network_access_type", "network access type"),
        ("default_user_settings.jupyter_lab_app_settings.default_resource_spec.instance_type",
         "JupyterLab instance type (users)"),
        ("default_space_settings.jupyter_lab_app_settings.default_resource_spec.instance_type",
         "JupyterLab instance type (spaces)"),
        ("retention_policy.home_efs_file_system", "home EFS when the domain is deleted"),
        ("kms_key_id", "KMS key"), ("vpc_id", "VPC"), ("subnet_ids", "subnets"),
        ("default_user_settings.security_groups", "security groups")),
    "aws_sagemaker_user_profile": (
        ("user_profile_name", "user profile"),
        ("user_settings.jupyter_lab_app_settings.default_resource_spec.instance_type", "JupyterLab instance type")),
    "aws_vpc": (("cidr_block", "CIDR"),),
    "aws_subnet": (("cidr_block", "CIDR"), ("availability_zone", "availability zone")),
    "aws_kms_key": (("enable_key_rotation", "key rotation"), ("deletion_window_in_days", "deletion window (days)")),
    "aws_s3_bucket_server_side_encryption_configuration": (
        ("rule.apply_server_side_encryption_by_default.sse_algorithm", "encryption"),
        ("rule.apply_server_side_encryption_by_default.kms_master_key_id", "KMS key")),
    "aws_s3_bucket_versioning": (("versioning_configuration.status", "versioning"),),
    "aws_s3_bucket": (("force_destroy", "destroy when not empty"),),
    "aws_cloudwatch_log_group": (("retention_in_days", "retention (days)"), ("kms_key_id", "KMS key")),
    "aws_flow_log": (("traffic_type", "traffic logged"),),
    "aws_dynamodb_table": (("deletion_protection_enabled", "deletion protection"),),
}
NEW, GONE, LATER, SENSITIVE = "(new)", "(destroyed)", "(known after apply)", "(sensitive)"


@dataclass(frozen=True)
class SettingChange:
    address: str
    setting: str
    old: str
    new: str


def _at(value: Any, path: str) -> Any:
    for step in path.split("."):
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], (Mapping, list)):
        return value
    return value


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(sorted(map(str, value))) or "(none)"
    return str(value)


def setting_changes(plan: Mapping[str, Any]) -> Iterator[SettingChange]:
    """The settings of :data:`SETTINGS` that the plan changes, creates or destroys, old -> new."""
    for entry in plan.get("resource_changes") or []:
        paths = SETTINGS.get(entry.get("type", ""))
        change = entry.get("change") or {}
        action = classify(change.get("actions", []))
        if not paths or action is None or entry.get("mode") != "managed" or action is Action.FORGET:
            continue
        before, after = change.get("before"), change.get("after")
        for path, label in paths:
            if _at(change.get("before_sensitive"), path) is True or _at(change.get("after_sensitive"), path) is True:
                old = new = SENSITIVE
            else:
                old = NEW if action is Action.CREATE else _shown(_at(before, path))
                if action is Action.DELETE:
                    new = GONE
                elif _at(change.get("after_unknown"), path) is True:
                    new = LATER
                else:
                    new = _shown(_at(after, path))
            if old == new or (action is Action.CREATE and new == "(unset)") or (action is Action.DELETE and old == "(unset)"):
                continue
            yield SettingChange(entry["address"], label, old, new)


# --------------------------------------------------------------------------
# What it costs a month

@dataclass(frozen=True)
class CostLine:
    """One thing whose fixed monthly cost (or, for instance types, hourly price) the plan changes."""

    item: str
    now_usd: Decimal | None  # per month; None: not running now
    after_usd: Decimal | None
    price: str  # the price used and its source, or why it is not priced
    unpriced: bool = False
    per_hour: bool = False  # a reference price per running hour, not a monthly fixed cost

    @property
    def change_usd(self) -> Decimal | None:
        if self.unpriced:
            return None
        return (self.after_usd or Decimal(0)) - (self.now_usd or Decimal(0))


def _values_by_type(values: Mapping[str, Any] | None, rtype: str) -> dict[str, Mapping[str, Any]]:
    return {r["address"]: r.get("values") or {} for r in _module_resources((values or {}).get("root_module", {}))
            if r.get("type") == rtype and r.get("mode", "managed") == "managed"}


def cost_lines(plan: Mapping[str, Any], region: str | None, endpoints: EndpointCost,
               current: EndpointCost | None) -> Iterator[CostLine]:
    """The monthly cost of what changes: interface endpoints, MLflow tracking servers by size, and
    the Studio instance types (a reference price per running hour)."""
    was = current.monthly_usd if current is not None else Decimal(0)
    if endpoints.monthly_usd != was or (current is None and endpoints.interface_endpoints):
        yield CostLine(f"interface endpoints ({current.endpoint_azs if current else 0} -> {endpoints.endpoint_azs} "
                       "endpoint-AZs)", was, endpoints.monthly_usd,
                       f"USD {INTERFACE_ENDPOINT_AZ_HOURLY_USD} per endpoint-AZ-hour ({INTERFACE_ENDPOINT_PRICE.cite()})")
    prior = (plan.get("prior_state") or {}).get("values")
    old_servers = _values_by_type(prior, "aws_sagemaker_mlflow_tracking_server")
    new_servers = _values_by_type(plan.get("planned_values"), "aws_sagemaker_mlflow_tracking_server")
    for address in sorted(old_servers.keys() | new_servers.keys()):
        old = old_servers.get(address, {}).get("tracking_server_size") if address in old_servers else None
        new = new_servers.get(address, {}).get("tracking_server_size") if address in new_servers else None
        if old == new:
            continue
        sizes = [s for s in (old, new) if s]
        found = {s: prices.price(f"mlflow-tracking-server:{s}", region) for s in sizes}
        missing = [s for s, p in found.items() if p is None]
        label = f"MLflow tracking server `{address}` ({old or 'none'} -> {new or 'none'})"
        if missing:
            yield CostLine(label, None, None, f"not in the price table: {', '.join(missing)} in {region or 'this region'}",
                           unpriced=True)
            continue
        yield CostLine(label, prices.monthly(found[old].usd_per_hour) if old else None,
                       prices.monthly(found[new].usd_per_hour) if new else None,
                       "; ".join(f"{s}: USD {p.usd_per_hour} per hour ({p.cite()})" for s, p in found.items()))
    for change in setting_changes(plan):
        if "instance type" not in change.setting or change.old == change.new:
            continue
        types = [t for t in (change.old, change.new) if t.startswith("ml.")]
        found = {t: prices.price(f"sagemaker-instance:{t}", region) for t in types}
        label = f"{change.setting} of `{change.address}` ({change.old} -> {change.new}), per running app"
        missing = [t for t, p in found.items() if p is None]
        if missing:
            yield CostLine(label, None, None, f"not in the price table: {', '.join(missing)} in {region or 'this region'}",
                           unpriced=True, per_hour=True)
            continue
        yield CostLine(label, found[change.old].usd_per_hour if change.old in found else None,
                       found[change.new].usd_per_hour if change.new in found else None,
                       "; ".join(f"{t}: USD {p.usd_per_hour} per hour ({p.cite()})" for t, p in found.items()),
                       per_hour=True)


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
    settings = [(r.stack, c) for r in run.stacks for c in r.settings]
    if settings:
        lines += [f"## Settings that change ({len(settings)})", "",
                  "| Stack | Resource | Setting | Old | New |", "|---|---|---|---|---|"]
        lines += [f"| `{stack}` | `{_cell(c.address)}` | {c.setting} | {_cell(c.old)} | {_cell(c.new)} |"
                  for stack, c in settings]
        lines.append("")
    lines += _summary_table(run)
    for review in run.stacks:
        lines += [f"## Stack `{review.stack}`", ""]
        lines += _stack_body(review, level=3, settings=False)
    return "\n".join(lines).rstrip() + "\n"


def _warnings_block(warnings: Sequence[ReviewWarning], *, show_stack: bool) -> list[str]:
    if not warnings:
        return ["**No warnings:** nothing is destroyed, no long-lived resource is replaced and no other "
                "stack's next plan is affected.", ""]
    lines = [f"## WARNINGS ({len(warnings)}): read before applying", ""]
    groups = [g for g in WARNING_GROUPS if any(w.group == g for w in warnings)]
    groups += sorted({w.group for w in warnings} - set(WARNING_GROUPS))  # a rule's own group, after ours
    for group in groups:
        members = [w for w in warnings if w.group == group]
        lines += [f"### {group} ({len(members)})", ""]
        if group == GROUP_DESTROYED:
            lines += _collapsed(members, show_stack)
        else:
            for warning in members:
                prefix = f"`{warning.stack}`: " if show_stack else ""
                lines.append(f"- {prefix}{list_item(warning.message)}")
        lines.append("")
    return lines


def _collapsed(warnings: Sequence[ReviewWarning], show_stack: bool) -> list[str]:
    """Destroys that lose no data, one line per stack and resource type."""
    by_kind: dict[tuple[str, str], list[ReviewWarning]] = {}
    for warning in warnings:
        rtype = _ADDRESS_STEP.findall(warning.address)[-2] if warning.address.count(".") else warning.address
        by_kind.setdefault((warning.stack, rtype), []).append(warning)
    lines = []
    for (stack, rtype), members in by_kind.items():
        prefix = f"`{stack}`: " if show_stack else ""
        if len(members) == 1:
            lines.append(f"- {prefix}{list_item(members[0].message)}")
        else:
            lines.append(f"- {prefix}DESTROY {len(members)} `{rtype}`: "
                         + ", ".join(f"`{w.address.split('.', 1)[1] if w.address.startswith(rtype + '.') else w.address}`"
                                     for w in members))
    return lines


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


def _stack_body(review: StackReview, *, level: int, settings: bool = True) -> list[str]:
    heading = "#" * level
    lines = [_plan_line(review), ""]
    if review.terraform_version:
        lines += [f"Terraform {review.terraform_version}.", ""]
    if review.settings and settings:
        lines += [f"{heading} Settings that change ({len(review.settings)})", "",
                  "| Resource | Setting | Old | New |", "|---|---|---|---|"]
        lines += [f"| `{_cell(c.address)}` | {c.setting} | {_cell(c.old)} | {_cell(c.new)} |" for c in review.settings]
        lines.append("")
    lines += [f"{heading} Security-relevant changes", ""]
    lines += _sensitive_sections(review, level + 1)
    if review.permissions is not None:
        lines += render_permissions(review.permissions, level)
    lines += [f"{heading} Monthly cost of what changes", ""]
    lines += _changed_cost_lines(review)
    lines += [f"{heading} Interface endpoint cost", ""]
    lines += _cost_lines(review)
    if review.has_changes:
        lines += [f"{heading} All changes", ""]
        tagged = review.tags_only
        if tagged:
            lines += [_tags_line(tagged), ""]
        rest = [c for c in review.changes if not c.tags_only]
        if rest:
            lines += _change_table(rest)
    return lines


def _tags_line(changes: Sequence[ResourceChange]) -> str:
    """Tag-only updates in one line: how many, and what happens to which tag."""
    diffs: dict[str, int] = {}
    for change in changes:
        for diff in change.tag_changes:
            diffs[diff] = diffs.get(diff, 0) + 1
    what = "; ".join(f"{diff}" + (f" ({n} of them)" if n != len(changes) else "") for diff, n in sorted(diffs.items()))
    return (f"**{len(changes)} resource{'s' if len(changes) != 1 else ''} change only their tags** (in place)"
            + (f": {_cell(what)}." if what else "."))


def _changed_cost_lines(review: StackReview) -> list[str]:
    if not review.costs:
        return ["Nothing whose fixed cost is in the price table changes.", ""]
    lines = ["| What | Now | After | Change | Price |", "|---|---:|---:|---:|---|"]
    for line in review.costs:
        unit = " per hour" if line.per_hour else ""
        def money(value: Decimal | None, line: CostLine = line, unit: str = unit) -> str:
            if line.unpriced:
                return "?"
            return "-" if value is None else f"{_usd(value)}{unit}"
        change = "?" if line.unpriced else f"{line.change_usd:+,.2f}{unit}"
        lines.append(f"| {_cell(line.item)} | {money(line.now_usd)} | {money(line.after_usd)} | {change} | "
                     f"{_cell(line.price)} |")
    fixed = [c for c in review.costs if not c.per_hour and not c.unpriced]
    lines += ["", f"Fixed monthly cost changes by USD {sum((c.change_usd for c in fixed), Decimal(0)):+,.2f} "
                  "(USD per month, 730 h; priced lines only)."]
    unpriced = [c.item for c in review.costs if c.unpriced]
    if unpriced:
        lines.append(f"Not priced, not in the price table (isolated_studio/ops/prices.py): {len(unpriced)}.")
    return lines + [""]


def _plan_line(review: StackReview) -> str:
    if not review.has_changes:
        return "**No changes.** The infrastructure matches the configuration."
    text = (
        f"**Plan:** {review.to_add} to add, {review.to_change} to change, "
        f"{review.to_replace} to replace, {review.to_destroy} to destroy"
    )
    if review.to_forget:
        text += f", {review.to_forget} to forget"
    tagged = len(review.tags_only)
    if tagged:
        text += f" ({tagged} of the changes touch only tags)"
    return text + "."


def _sensitive_sections(review: StackReview, level: int) -> list[str]:
    lines: list[str] = []
    for category in CATEGORIES:
        changes = review.sensitive(category)
        if changes:
            lines += [f"{'#' * level} {category} ({len(changes)})", ""]
            lines += _change_table(changes)
    tagged = sum(1 for c in review.tags_only if c.category)
    if not lines:
        lines = ["None: no change to IAM, security groups, bucket/endpoint policies, KMS or routing.", ""]
    if tagged:
        lines += [f"{tagged} more of these resources change only their tags (see All changes).", ""]
    return lines


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
            f"USD 0.01 per GB; price is the us-east-1/us-west-2 list price: {INTERFACE_ENDPOINT_PRICE.cite()})."
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
    parser.add_argument("--synthesized", type=Path, metavar="OUTDIR",
                        help="the synthesized app (cdktf.out): policies known only after apply are rendered from "
                             "OUTDIR/stacks/STACK/cdk.tf.json (default: from the plan's configuration)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry; prints a one-line summary on stderr, returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    stacks = [stack for stack, _ in args.plans]
    if len(set(stacks)) != len(stacks):
        parser.error(f"each stack may be given once, got {stacks}")
    try:
        run = RunReview(tuple(review_plan(stack, load_plan(path), synthesized_stack(args.synthesized, stack))
                              for stack, path in args.plans))
    except (OSError, ValueError) as error:
        parser.error(str(error))
    _write(render_run_report(run), args.out)
    if args.stack_dir:
        args.stack_dir.mkdir(parents=True, exist_ok=True)
        for review in run.stacks:
            _write(render_stack_report(review), args.stack_dir / f"{review.stack}.md")
    print(_one_line_summary(run, args.out), file=sys.stderr)
    return 0


def synthesized_stack(outdir: Path | None, stack: str) -> dict[str, Any] | None:
    """``<outdir>/stacks/<stack>/cdk.tf.json``, if there is one."""
    path = outdir / "stacks" / stack / "cdk.tf.json" if outdir is not None else None
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


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
