"""The plan review's data model: resource changes, warnings and their groups, settings, costs, stack and run reviews.

Plain frozen dataclasses and the constants they are judged by (the security-relevant
categories, the warning groups in report order, the endpoint price); built by
:mod:`.review`, :mod:`.rules` and :mod:`.costs`, rendered by :mod:`.render`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from isolated_studio.ops import prices
from isolated_studio.ops.plan_actions import Action

# Price of one interface endpoint in one AZ, per hour: the us-east-1 / us-west-2 list price
# (isolated_studio/ops/prices.py has its source and date; other regions are slightly
# higher). Data processed through the endpoints (USD 0.01/GB for the first PB) is extra and
# not estimated here because it depends on usage.
INTERFACE_ENDPOINT_PRICE = prices.PRICES[("interface-endpoint-az", "us-east-1")]
INTERFACE_ENDPOINT_AZ_HOURLY_USD = INTERFACE_ENDPOINT_PRICE.usd_per_hour
# AWS bills a month as 730 hours (365 days x 24 h / 12).
HOURS_PER_MONTH = prices.HOURS_PER_MONTH


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
        return (
            self.action is Action.UPDATE
            and bool(self.changed_attributes)
            and set(self.changed_attributes) <= _TAG_ATTRIBUTES
        )

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


_TAG_ATTRIBUTES = frozenset({"tags", "tags_all"})


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


@dataclass(frozen=True)
class SettingChange:
    address: str
    setting: str
    old: str
    new: str


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


# One step of a resource address: dots inside an index do not split it, so that
# `aws_vpc_endpoint.this["com.amazonaws.us-east-1.sts"]` (for_each over service names) and
# `module.az["us-east-1.a"]` stay whole.
_ADDRESS_STEP = re.compile(r'(?:[^.\[]+|\[(?:"(?:[^"\\]|\\.)*"|[^\]"]*)\])+')
