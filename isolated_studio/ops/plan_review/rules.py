"""The plan review's rules: the warnings a reviewer must read (WARNING_RULES) and the settings that change.

Each warning rule is a plain function over one stack's plan and its changes; a new rule (a
refusal another command adds) is one more function in :data:`WARNING_RULES`. The settings a
reviewer judges (:data:`SETTINGS`) are read old -> new by :func:`setting_changes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from isolated_studio.ops import day2
from isolated_studio.ops.plan_actions import Action, classify
from isolated_studio.ops.plan_review.model import (
    GROUP_ACROSS_STACKS,
    GROUP_DATA_LOSS,
    GROUP_DESTROYED,
    GROUP_PLAN,
    GROUP_REFUSED,
    ResourceChange,
    ReviewWarning,
    SettingChange,
)

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


WarningRule = Callable[[str, Mapping[str, Any], Sequence["ResourceChange"]], Iterable[ReviewWarning]]


def errored_plan(stack: str, plan: Mapping[str, Any], changes: Sequence[ResourceChange]) -> Iterator[ReviewWarning]:
    if plan.get("errored"):
        yield ReviewWarning(
            stack, "", "plan", "Terraform reported errors: the plan is incomplete, do not apply it", GROUP_PLAN
        )


def destroys_and_replacements(
    stack: str, plan: Mapping[str, Any], changes: Sequence[ResourceChange]
) -> Iterator[ReviewWarning]:
    """Every destroy, and every replacement of a long-lived resource: what it loses."""
    for change in changes:
        lost = LONG_LIVED_TYPES.get(change.type)
        if change.action is Action.DELETE:
            message = f"DESTROY `{change.address}`"
            message += f" ({change.details})" if change.details else ""
            message += f"; loses the {lost}" if lost else ""
            yield ReviewWarning(stack, change.address, "destroy", message, GROUP_DATA_LOSS if lost else GROUP_DESTROYED)
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


def next_plan_of_the_workload(
    stack: str, plan: Mapping[str, Any], changes: Sequence[ResourceChange]
) -> Iterator[ReviewWarning]:
    """A network change whose outputs the workload reads: what the workload's next plan will do.

    The workload is planned against the network's current state, so its own plan in the
    same run cannot show it.
    """
    if stack != "network":
        return
    changed = sorted(
        name
        for name, output in (plan.get("output_changes") or {}).items()
        if (output.get("actions") or ["no-op"]) != ["no-op"]
        and (output.get("before") != output.get("after") or output.get("after_unknown"))
    )
    placement = [n for n in changed if n.startswith(_DOMAIN_PLACEMENT)]
    groups = [n for n in changed if n.startswith(_DOMAIN_GROUPS)]
    if placement:
        yield ReviewWarning(
            stack,
            placement[0],
            "cross-stack",
            "the workload's next plan REPLACES the Studio domain and its user profiles: the domain's vpc_id and "
            f"subnet_ids (which force a new domain) come from the network's {', '.join(f'`{n}`' for n in placement)}, "
            "which this plan changes. A new domain gets a new home EFS: users lose their files and spaces unless "
            "workload.retain_home_efs keeps the old one (unattached). Apply this, then plan the workload and review "
            "that plan before applying it",
            GROUP_ACROSS_STACKS,
        )
    if groups:
        yield ReviewWarning(
            stack,
            groups[0],
            "cross-stack",
            "the workload's next plan changes the security groups of the domain, its users and spaces (in place): "
            f"they come from the network's {', '.join(f'`{n}`' for n in groups)}, which this plan changes",
            GROUP_ACROSS_STACKS,
        )


def refused_mid_apply(
    stack: str, plan: Mapping[str, Any], changes: Sequence[ResourceChange]
) -> Iterator[ReviewWarning]:
    """What AWS would fail part-way through the apply (isolated_studio.ops.day2): deploy refuses it."""
    for address, message in day2.refusals(plan):
        yield ReviewWarning(stack, address, day2.REFUSE, f"REFUSED: {message}", GROUP_REFUSED)


# Every rule that adds warnings, in order. Another command's refusal rule is one more here.
WARNING_RULES: list[WarningRule] = [
    errored_plan,
    refused_mid_apply,
    destroys_and_replacements,
    next_plan_of_the_workload,
]


def _warnings(stack: str, plan: Mapping[str, Any], changes: Sequence[ResourceChange]) -> tuple[ReviewWarning, ...]:
    """What every rule of :data:`WARNING_RULES` finds."""
    return tuple(warning for rule in WARNING_RULES for warning in rule(stack, plan, changes))


# --------------------------------------------------------------------------
# Settings a reviewer judges, old -> new

# resource type -> (attribute path, what it is); nested blocks are one-element lists in the plan.
SETTINGS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "aws_sagemaker_mlflow_tracking_server": (
        ("tracking_server_size", "MLflow tracking server size"),
        ("mlflow_version", "MLflow version"),
        ("automatic_model_registration", "automatic model registration"),
        ("weekly_maintenance_window_start", "maintenance window"),
        ("artifact_store_uri", "artifact store"),
    ),
    "aws_sagemaker_domain": (
        ("app_network_access_type", "network access type"),
        (
            "default_user_settings.jupyter_lab_app_settings.default_resource_spec.instance_type",
            "JupyterLab instance type (users)",
        ),
        (
            "default_space_settings.jupyter_lab_app_settings.default_resource_spec.instance_type",
            "JupyterLab instance type (spaces)",
        ),
        ("retention_policy.home_efs_file_system", "home EFS when the domain is deleted"),
        ("kms_key_id", "KMS key"),
        ("vpc_id", "VPC"),
        ("subnet_ids", "subnets"),
        ("default_user_settings.security_groups", "security groups"),
    ),
    "aws_sagemaker_user_profile": (
        ("user_profile_name", "user profile"),
        ("user_settings.jupyter_lab_app_settings.default_resource_spec.instance_type", "JupyterLab instance type"),
    ),
    "aws_vpc": (("cidr_block", "CIDR"),),
    "aws_subnet": (("cidr_block", "CIDR"), ("availability_zone", "availability zone")),
    "aws_kms_key": (("enable_key_rotation", "key rotation"), ("deletion_window_in_days", "deletion window (days)")),
    "aws_s3_bucket_server_side_encryption_configuration": (
        ("rule.apply_server_side_encryption_by_default.sse_algorithm", "encryption"),
        ("rule.apply_server_side_encryption_by_default.kms_master_key_id", "KMS key"),
    ),
    "aws_s3_bucket_versioning": (("versioning_configuration.status", "versioning"),),
    "aws_s3_bucket": (("force_destroy", "destroy when not empty"),),
    "aws_cloudwatch_log_group": (("retention_in_days", "retention (days)"), ("kms_key_id", "KMS key")),
    "aws_flow_log": (("traffic_type", "traffic logged"),),
    "aws_dynamodb_table": (("deletion_protection_enabled", "deletion protection"),),
}
NEW, GONE, LATER, SENSITIVE = "(new)", "(destroyed)", "(known after apply)", "(sensitive)"


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
            if (
                old == new
                or (action is Action.CREATE and new == "(unset)")
                or (action is Action.DELETE and old == "(unset)")
            ):
                continue
            yield SettingChange(entry["address"], label, old, new)
