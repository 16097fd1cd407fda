"""Day-2 rules over a plan: what AWS would refuse mid-apply, and what a replacement loses.

Plan JSON in (``terraform show -json``), findings out; :func:`isolated_studio.ops.plan_review.review_plan`
adds them to the review, so ``make plan``'s review.md shows them and ``make deploy`` acts on
them before anything is applied (:meth:`isolated_studio.ops.workflow.Workflow._confirm_apply`):

- ``refuse``: Terraform plans it, but AWS fails it part-way through the apply, whatever anyone
  confirms. Always refused, with the reason and the way out.
- the review's warnings of replaced long-lived resources (and of a removed user profile) get
  what exactly is lost and the way out; as before, ``--yes`` applies none of them without ``--allow-replace``.

docs/day-2.md has the outcome of every everyday change (tests/integration/terraform/test_day2_matrix.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

REFUSE = "refuse"
#: The review warnings' kinds that ``--yes`` applies only with ``--allow-replace``.
LOSS_KINDS = frozenset({"destroy", "replace"})
PROVIDER_ISSUE = "hashicorp/terraform-provider-aws#45528"

# The domain's attributes an update may change without sending UpdateDomain: tags go through
# AddTags/DeleteTags (internal/service/sagemaker/domain.go: resourceDomainUpdate only calls
# UpdateDomain when d.HasChangesExcept(tags, tags_all)).
_TAG_ATTRIBUTES = frozenset({"tags", "tags_all"})

_SETTINGS_OF = {
    "docker_settings": "workload.docker_trusted_accounts",
    "retention_policy": "workload.retain_home_efs",
    "default_user_settings": "the domain's default user settings",
    "default_space_settings": "the domain's default space settings",
    "domain_settings": "workload.docker_trusted_accounts",
}

# What each long-lived resource's replacement or destroy loses, and the way out.
LOSSES: Mapping[str, str] = {
    "aws_sagemaker_mlflow_tracking_server": (
        "every experiment, run, metric and registered model stored on the server is lost with it (the artifacts "
        "stay in the bucket): UpdateMlflowTrackingServer has no MlflowVersion, so the provider replaces the server "
        "for a new mlflow_version, name or role. Way out: keep the deployed value; to move to a new MLflow, create "
        "a second tracking server with the new version beside this one (a new workload.mlflow_server_name), copy "
        "the runs and models across with mlflow-export-import (AWS's MLflow migration guide), then retire the old "
        "server"
    ),
    "aws_codeartifact_repository": (
        "every package version in the repository (cached from PyPI or published) is deleted with it. Way out: "
        "keep the deployed name; or create the new repository first, copy what you need with "
        "`aws codeartifact copy-package-versions`, then switch"
    ),
    "aws_codeartifact_domain": (
        "every repository of the domain and its packages are deleted. Way out: keep the deployed domain name"
    ),
    "aws_sagemaker_domain": (
        "the users' home EFS (every file in their home directories), spaces and apps go with the domain, and "
        "SageMaker refuses to delete a domain (and its user profiles) while apps or spaces exist, so the apply "
        "stops part-way. Way out: revert the change; or back up the home directories, delete the users' apps and "
        "spaces (the cleanup `make destroy` runs), then deploy"
    ),
    "aws_sagemaker_user_profile": (
        "SageMaker refuses to delete a user profile while its apps or private spaces exist, and the user's home "
        "directory on the domain's EFS is left behind. Way out: have the user save their work, delete their apps "
        "and spaces, then deploy"
    ),
    "aws_vpc": (
        "the workload's next plan replaces the Studio domain that lives in it (vpc_id and subnet_ids force a new "
        "domain), with the users' home EFS. Way out: keep the deployed network.vpc_cidr; to move to another "
        "network, deploy a second environment beside this one (another project.name_prefix), move the users' "
        "work, then destroy this one"
    ),
    "aws_s3_bucket": (
        "every object and object version in it is deleted (or the destroy fails on a non-empty bucket). Way out: "
        "keep the deployed name; or copy the objects to the new bucket first (`aws s3 sync`)"
    ),
}


def _resources(plan: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    return plan.get("resource_changes") or []


def _actions(entry: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(entry.get("change", {}).get("actions", []))


def _settled(value: Any) -> Any:
    """The value as AWS holds it: the provider plans an unset nested argument as "" or [] where
    its state read back null (seen for a domain's docker_settings.vpc_only_trusted_accounts and
    execution_role_identity_config on a tags-only update), and sends neither."""
    if isinstance(value, Mapping):
        kept = {k: _settled(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None} or None
    if isinstance(value, list):
        return [v for v in map(_settled, value) if v is not None] or None
    return None if value == "" else value


def changed_attributes(entry: Mapping[str, Any]) -> list[str]:
    change = entry.get("change", {})
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    names = {k for k in before.keys() | after.keys() if _settled(before.get(k)) != _settled(after.get(k))}
    names |= {k for k, v in unknown.items() if v and k in before and v is not False}
    return sorted(names)


def _domain_update(entry: Mapping[str, Any]) -> str | None:
    """Why this in-place update of a domain fails on AWS, or None."""
    if entry.get("type") != "aws_sagemaker_domain" or _actions(entry) != ("update",):
        return None
    before = entry["change"].get("before") or {}
    if before.get("app_network_access_type") != "VpcOnly":
        return None
    changed = [a for a in changed_attributes(entry) if a not in _TAG_ATTRIBUTES]
    if not changed:
        return None
    settings = sorted(
        {_SETTINGS_OF.get(a, a) for a in changed}
        | ({"workload.docker_trusted_accounts"} if "domain_settings" in changed else set())
    )
    way_out = (
        "Way out: revert it in the configuration; or make the same change with the AWS CLI, which sends "
        "only what you give it (`aws sagemaker update-domain --domain-id <domain_id output> ...`), then "
        "plan again: Terraform reads the domain back and has nothing left to change"
    )
    if "retention_policy" in changed:
        way_out = (
            "Way out: revert workload.retain_home_efs: the retention policy is Terraform's own (sent only "
            "with DeleteDomain), so no CLI call changes it; to keep the users' files through a destroy "
            "anyway, back up the home EFS (the domain's home_efs_file_system_id) first"
        )
    return (
        f"`{entry['address']}`: this in-place update of a VpcOnly domain ({', '.join(changed)}; from "
        f"{', '.join(settings)}) fails on AWS with the pinned provider 5.100.0: its UpdateDomain sends "
        "AppNetworkAccessType without VpcId and SubnetIds, and SageMaker answers ValidationException "
        f"({PROVIDER_ISSUE}; the fix, #45530, is not in 5.100.0). Nothing is applied. {way_out}"
    )


def _lifecycle_config_replacements(plan: Mapping[str, Any]) -> list[str]:
    """Delete-first replacements of a lifecycle configuration a domain or profile keeps listing."""
    entries = list(_resources(plan))
    gone = {e["address"] for e in entries if _actions(e) in (("delete", "create"), ("delete",))}
    found = []
    for entry in entries:
        if entry.get("type") != "aws_sagemaker_studio_lifecycle_config" or _actions(entry) != ("delete", "create"):
            continue
        arn = (entry["change"].get("before") or {}).get("arn")
        users = [
            e["address"]
            for e in entries
            if e["address"] not in gone
            and e.get("type") in ("aws_sagemaker_domain", "aws_sagemaker_user_profile", "aws_sagemaker_space")
            and arn
            and arn in str((e.get("change") or {}).get("before"))
        ]
        if users:
            found.append(
                f"`{entry['address']}` would be deleted and created again, but SageMaker refuses to delete a "
                f"lifecycle configuration that {', '.join(f'`{u}`' for u in users)} still list (ResourceInUse, "
                "DeleteStudioLifecycleConfig API reference): the apply would fail part-way. Way out: detach it "
                "first (workload.attach_lifecycle_config = false, deploy), make the change, then attach it again"
            )
    return found


def refusals(plan: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(address, message) of every change AWS fails part-way through an apply."""
    found = [(e["address"], why) for e in _resources(plan) if (why := _domain_update(e))]
    found += [(m.split("`")[1], m) for m in _lifecycle_config_replacements(plan)]
    return found


def loss(resource_type: str) -> str | None:
    return LOSSES.get(resource_type)


def annotate(warnings: Sequence[Any], plan: Mapping[str, Any]) -> tuple[Any, ...]:
    """The review's warnings (plan_review.ReviewWarning), each replacement or destroy of a
    long-lived resource with what it loses and the way out."""
    types: dict[str, str] = {e["address"]: e.get("type") or "" for e in _resources(plan)}
    out = []
    for warning in warnings:
        rtype = types.get(warning.address, "")
        # A destroy's warning already says what is lost; a removed user profile also fails while its
        # apps or spaces exist, which the apply would only find out part-way.
        annotated = warning.kind == "replace" or (warning.kind == "destroy" and rtype == "aws_sagemaker_user_profile")
        lost = loss(rtype) if annotated else None
        out.append(replace(warning, message=f"{warning.message}. {lost[0].upper()}{lost[1:]}") if lost else warning)
    return tuple(out)


# What `make deploy` does with a plan, from its review's warnings (Workflow._confirm_apply acts on
# exactly this; tests/integration/terraform/test_day2_matrix.py asserts it for every day-2 change).
APPLIES = "applies"
ASKS_FIRST = "asks first"  # interactive: shown and asked; --yes: refused unless --allow-replace
REFUSED = "refused"


def refused_warnings(warnings: Sequence[Any]) -> list[Any]:
    """The warnings that make deploy refuse the plan whatever anyone confirms."""
    return [w for w in warnings if w.kind == REFUSE]


def loss_warnings(warnings: Sequence[Any]) -> list[Any]:
    """The destroys and replacements of long-lived resources: ``--yes`` needs ``--allow-replace``."""
    return [w for w in warnings if w.kind in LOSS_KINDS]


def deploy_decision(warnings: Sequence[Any]) -> str:
    """:data:`REFUSED`, :data:`ASKS_FIRST` or :data:`APPLIES`."""
    if refused_warnings(warnings):
        return REFUSED
    return ASKS_FIRST if loss_warnings(warnings) else APPLIES
