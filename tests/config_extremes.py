"""The extreme configurations of tests/unit/config/test_config_extremes.py and
tests/integration/config/test_config_extremes_synthesized.py, and the walk that checks a
synthesis against AWS's own models (isolated_studio/config/aws_constraints.json, from
botocore's service models and endpoint data).

The accepted extremes (longest names, most tags, most zones, most trusted accounts) are valid
configurations (the unit tier) that synthesize only values AWS accepts (the integration tier:
a synthesis each); the walk checks every name, tag and list the stacks send to an API against
that API's shape, the names the stacks derive from the settings (roles, log groups, the
lifecycle configuration, buckets) included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from support import config_document

from isolated_studio.config import StudioConfig, aws_constraints, parse_config
from isolated_studio.config.rules import DEFAULT_TAG_KEYS

ENV: dict[str, str] = {}


def parse(**sections: Any) -> StudioConfig:
    return parse_config(config_document(**sections), env=ENV)


def profile_name(n: int, length: int) -> str:
    """A user profile name of ``length`` characters with hyphen runs (what UserProfileName allows)."""
    body = f"u{n}" + "--x" * 30
    return body[: length - 1] + "z"


def _longest_accepted_prefix() -> str:
    return "s" + "-a" * 11 + "z"  # 24 characters, single hyphens


ACCEPTED: dict[str, dict[str, Any]] = {
    # The longest names the configuration accepts, everywhere a setting becomes a name.
    "longest names": {
        "project": {"name_prefix": _longest_accepted_prefix(), "environment": "e" * 16},
        "state": {"bucket": "b" * 63, "lock_table": "t" * 255},
        "workload": {
            "user_profiles": [profile_name(1, 63), profile_name(2, 63)],
            "codeartifact_domain": "d" * 50,
            "codeartifact_repository": "r" * 100,
            "codeartifact_upstream_repository": "u" * 100,
        },
    },
    # As many tags of our own as an S3 object leaves room for, each as long as AWS allows.
    "most tags": {"tags": {f"{i}" + "K" * 127: "v" * 256 for i in range(10 - len(DEFAULT_TAG_KEYS))}},
    # The most zones, and the most trusted Docker accounts.
    "most zones and accounts": {
        "network": {"az_count": 6, "subnet_prefix_length": 26},
        "workload": {"docker_trusted_accounts": [f"{100000000000 + i}" for i in range(20)]},
    },
}


def accepted_config(name: str) -> StudioConfig:
    return parse(**ACCEPTED[name])


# Where a synthesized attribute becomes an API field, and that field's shape (botocore's).
NAMES: Mapping[tuple[str, str], str] = {
    ("aws_sagemaker_domain", "domain_name"): "sagemaker.DomainName",
    ("aws_sagemaker_user_profile", "user_profile_name"): "sagemaker.UserProfileName",
    ("aws_sagemaker_studio_lifecycle_config", "studio_lifecycle_config_name"): "sagemaker.StudioLifecycleConfigName",
    ("aws_sagemaker_mlflow_tracking_server", "tracking_server_name"): "sagemaker.TrackingServerName",
    ("aws_sagemaker_mlflow_tracking_server", "artifact_store_uri"): "sagemaker.S3Uri",
    ("aws_codeartifact_domain", "domain"): "codeartifact.DomainName",
    ("aws_codeartifact_repository", "repository"): "codeartifact.RepositoryName",
    ("aws_iam_role", "name"): "iam.roleNameType",
    ("aws_iam_policy", "name"): "iam.policyNameType",
    ("aws_iam_role_policy", "name"): "iam.policyNameType",
    ("aws_kms_alias", "name"): "kms.AliasNameType",
    ("aws_cloudwatch_log_group", "name"): "logs.LogGroupName",
    ("aws_dynamodb_table", "name"): "dynamodb.TableName",
}
#: A stand-in for each reference Terraform resolves at plan time (an account ID is 12 digits).
RESOLVED = {"data.aws_caller_identity": "123456789012", "data.aws_region": "us-west-2", "data.aws_partition": "aws"}


def resolve_references(value: str) -> str | None:
    """The value with its references to the account, region and partition filled; None when it
    holds another reference (a resource's computed attribute, checked where it is made)."""

    def fill(match: re.Match[str]) -> str:
        for prefix, stand_in in RESOLVED.items():
            if match.group(1).startswith(prefix):
                return stand_in
        raise LookupError(match.group(1))

    try:
        return re.sub(r"\$\{([^}]*)\}", fill, value)
    except LookupError:
        return None


def _resources(stacks: Mapping[str, dict]) -> Iterator[tuple[str, str, str, dict]]:
    for stack, doc in stacks.items():
        for rtype, blocks in doc.get("resource", {}).items():
            for name, body in blocks.items():
                yield stack, rtype, name, body


def default_tags(doc: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for provider in doc.get("provider", {}).get("aws", []):
        for block in provider.get("default_tags", []):
            tags.update(block.get("tags", {}))
    return tags


def _bucket_problems(name: str) -> list[str]:
    # The S3 user guide's general purpose bucket naming rules (S3's model has no pattern).
    if not (3 <= len(name) <= 63 and re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name)) or ".." in name:
        return [f"bucket name {name!r} breaks S3's naming rules (3-63 lowercase letters, digits, dots, hyphens)"]
    return []


def aws_problems(stacks: Mapping[str, dict]) -> tuple[list[str], int]:
    found, checked = [], 0
    for stack, rtype, name, body in _resources(stacks):
        where = f"{stack}: {rtype}.{name}"
        for (kind, attribute), ref in NAMES.items():
            if kind == rtype and isinstance(body.get(attribute), str):
                value = resolve_references(body[attribute])
                if value is not None:
                    checked += 1
                    found += [f"{where}.{attribute}: {p}" for p in aws_constraints.value_problems(value, ref)]
        if rtype == "aws_s3_bucket" and isinstance(body.get("bucket"), str):
            value = resolve_references(body["bucket"])
            if value is not None:
                checked += 1
                found += [f"{where}: {p}" for p in _bucket_problems(value)]
        if rtype == "aws_sagemaker_domain":
            for ref, values in (
                ("sagemaker.Subnets", body.get("subnet_ids")),
                (
                    "sagemaker.VpcOnlyTrustedAccounts",
                    (body.get("domain_settings") or {}).get("docker_settings", {}).get("vpc_only_trusted_accounts"),
                ),
            ):
                if isinstance(values, list):
                    # Its length as given; each member once Terraform resolves it (a subnet ID from
                    # the network's outputs is checked by the network's own shape).
                    resolved = [v for v in map(resolve_references, values) if v is not None]
                    stand_ins = resolved + ["x"] * (len(values) - len(resolved))
                    checked += 1
                    found += [f"{where}: {p}" for p in aws_constraints.value_problems(stand_ins, ref)]
        tags = {**default_tags(stacks[stack]), **(body.get("tags") or {})}
        if tags:
            checked += 1
            found += [
                f"{where}: tag {k!r}: {p}"
                for k, v in tags.items()
                if "${" not in k + v
                for p in aws_constraints.tag_problems(k, v)
            ]
            limit = aws_constraints.S3_OBJECT_MAX_TAGS if rtype == "aws_s3_object" else 50
            if len(tags) > limit:
                found.append(f"{where}: {len(tags)} tags, more than the {limit} {rtype} takes")
    return found, checked
