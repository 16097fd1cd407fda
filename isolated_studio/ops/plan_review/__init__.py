"""Markdown review reports from Terraform plan JSON: the package's public API, re-exported from its parts.

Reviewers of a plan for this project care about a few things more than the
raw diff: whether anything is destroyed, whether a long-lived resource (the
Studio domain, its EFS, buckets, KMS keys...) would be replaced and lose data,
what the next plan of another stack will do because of this one, what changes in
IAM / security groups / resource policies / KMS / routing (the isolation
boundary) and what it grants, the settings that matter (sizes, instance types,
retention, network access, KMS keys) old -> new, and what it costs a month.
This package reads ``terraform show -json plan.tfplan`` output (format_version
1.x) and puts exactly that at the top of a Markdown report, for one stack or
for a run of several stacks. Changes that touch only tags are summarized in
one line instead of filling the tables.

Warnings come from :data:`.rules.WARNING_RULES`, plain functions over the plan; each
warning has a group, and the report shows them grouped, data loss first. A new
rule (a refusal another command adds) is one more function there.

Its parts, each below the next (an import contract in pyproject.toml keeps them so):
:mod:`.model` (the data model), :mod:`.rules` (warnings, settings), :mod:`.costs`,
:mod:`.review` (a plan document in, a StackReview out), :mod:`.render` (the Markdown) and
:mod:`.cli` (the command line; ``__main__`` runs it).

Usage::

    python -m isolated_studio.ops.plan_review state=state.json network=network.json \\
        workload=workload.json --out review.md
"""

from __future__ import annotations

from isolated_studio.ops.plan_actions import Action
from isolated_studio.ops.plan_review.cli import main, synthesized_stack
from isolated_studio.ops.plan_review.costs import cost_lines, endpoint_cost
from isolated_studio.ops.plan_review.model import (
    CATEGORIES,
    CATEGORY_IAM,
    CATEGORY_KMS,
    CATEGORY_NETWORK,
    CATEGORY_POLICIES,
    CATEGORY_SECURITY_GROUPS,
    GROUP_ACROSS_STACKS,
    GROUP_DATA_LOSS,
    GROUP_DESTROYED,
    GROUP_PLAN,
    GROUP_REFUSED,
    HOURS_PER_MONTH,
    INTERFACE_ENDPOINT_AZ_HOURLY_USD,
    INTERFACE_ENDPOINT_PRICE,
    WARNING_GROUPS,
    CostLine,
    EndpointCost,
    ResourceChange,
    ReviewWarning,
    RunReview,
    SettingChange,
    StackReview,
    category_of,
)
from isolated_studio.ops.plan_review.render import list_item, render_run_report, render_stack_report
from isolated_studio.ops.plan_review.review import SUPPORTED_FORMAT_MAJOR, load_plan, plan_region, review_plan
from isolated_studio.ops.plan_review.rules import (
    GONE,
    LATER,
    LONG_LIVED_TYPES,
    NEW,
    SENSITIVE,
    SETTINGS,
    WARNING_RULES,
    WarningRule,
    destroys_and_replacements,
    errored_plan,
    next_plan_of_the_workload,
    refused_mid_apply,
    setting_changes,
)

# WARNING_RULES is rules.py's list itself: a rule appended to it here is one the review runs;
# rebinding the name here would not be (rebind isolated_studio.ops.plan_review.rules's).
__all__ = [
    "CATEGORIES",
    "CATEGORY_IAM",
    "CATEGORY_KMS",
    "CATEGORY_NETWORK",
    "CATEGORY_POLICIES",
    "CATEGORY_SECURITY_GROUPS",
    "GONE",
    "GROUP_ACROSS_STACKS",
    "GROUP_DATA_LOSS",
    "GROUP_DESTROYED",
    "GROUP_PLAN",
    "GROUP_REFUSED",
    "HOURS_PER_MONTH",
    "INTERFACE_ENDPOINT_AZ_HOURLY_USD",
    "INTERFACE_ENDPOINT_PRICE",
    "LATER",
    "LONG_LIVED_TYPES",
    "NEW",
    "SENSITIVE",
    "SETTINGS",
    "SUPPORTED_FORMAT_MAJOR",
    "WARNING_GROUPS",
    "WARNING_RULES",
    "Action",
    "CostLine",
    "EndpointCost",
    "ResourceChange",
    "ReviewWarning",
    "RunReview",
    "SettingChange",
    "StackReview",
    "WarningRule",
    "category_of",
    "cost_lines",
    "destroys_and_replacements",
    "endpoint_cost",
    "errored_plan",
    "list_item",
    "load_plan",
    "main",
    "next_plan_of_the_workload",
    "plan_region",
    "refused_mid_apply",
    "render_run_report",
    "render_stack_report",
    "review_plan",
    "setting_changes",
    "synthesized_stack",
]
