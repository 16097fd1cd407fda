"""Extreme configurations: each is refused before Terraform with a clear message, or it
synthesizes values AWS's own models accept (isolated_studio/config/aws_constraints.json, from
botocore's service models and endpoint data).

The configuration is validated in-process for every region of every partition botocore knows
(no synthesis per region); a handful of accepted extremes (longest names, most tags, most zones,
most trusted accounts) are synthesized once per session, and every name, tag and list the
stacks send to an API is checked against that API's shape: the names the stacks derive from
the settings (roles, log groups, the lifecycle configuration, buckets) included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from support import config_document

from isolated_studio.config import (
    ConfigError,
    StudioConfig,
    aws_constraints,
    parse_config,
)
from isolated_studio.config.rules import DEFAULT_TAG_KEYS

ENV: dict[str, str] = {}


def parse(**sections: Any) -> StudioConfig:
    return parse_config(config_document(**sections), env=ENV)


def problems(**sections: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(**sections)
    return info.value.problems


def every_region() -> list[tuple[str, str]]:
    parts = aws_constraints.constraints()["partitions"]
    return [(name, region) for name, part in sorted(parts.items()) for region in part["regions"]]


# --------------------------------------------------------------------------- every region, in-process


@pytest.mark.parametrize("partition, region", every_region(), ids=[r for _, r in every_region()])
def test_every_region_is_refused_with_what_it_lacks_or_accepted_with_every_service(partition, region):
    needed = [e for e in config_document()["network"].get("interface_endpoints", ())]
    if region in aws_constraints.supported_regions():
        try:
            config = parse(project={"name_prefix": "studio-test", "environment": "test", "region": region})
        except ConfigError as exc:
            # A region with every service, whose Studio image account AWS's table misprints
            # (us-east-2): refused with the setting that fixes it.
            assert all(
                p.startswith(f"workload.studio_image_arn: must be set in {region}") and "set it to" in p
                for p in exc.problems
            ), exc.problems
            return
        assert config.region == region
        assert aws_constraints.region_problems(region, [*needed, *config.network.interface_endpoints]) == []
        return
    found = problems(project={"name_prefix": "studio-test", "environment": "test", "region": region})
    region_problems = [p for p in found if p.startswith("project.region: ")]
    assert region_problems, found
    for problem in region_problems:
        # What it lacks, by name, and what to do instead.
        assert re.search(rf"^project\.region: {re.escape(region)} has no \w", problem), problem
        assert "; the stacks need it" in problem and (
            "way out: deploy to a region of" in problem or f"no region of {partition} has every service" in problem
        )
        assert "upgrade botocore" in problem


def test_ca_central_1_is_refused_for_codeartifact_with_the_way_out():
    # botocore 1.35.99's endpoint data has no CodeArtifact in ca-central-1: pip inside the VPC
    # could not work there, so the first deploy would fail (issue 24, item 3).
    (problem,) = problems(project={"name_prefix": "studio-test", "environment": "test", "region": "ca-central-1"})
    assert problem.startswith("project.region: ca-central-1 has no CodeArtifact (pip inside the VPC)")
    assert "way out: deploy to a region of aws that has every service the stacks need (" in problem
    assert "us-west-2" in problem and "ca-central-1)" not in problem


def test_a_region_of_no_partition_is_refused_with_the_nearest_names():
    (problem,) = problems(project={"name_prefix": "studio-test", "environment": "test", "region": "eu-west-9"})
    assert "'eu-west-9' is not a region of any AWS partition" in problem and "did you mean" in problem


# --------------------------------------------------------------------------- extremes refused


def _profile(n: int, length: int) -> str:
    """A user profile name of ``length`` characters with hyphen runs (what UserProfileName allows)."""
    body = f"u{n}" + "--x" * 30
    return body[: length - 1] + "z"


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "a name prefix one character too long": (
        {"project": {"name_prefix": "s" * 25}},
        "project.name_prefix: 'sssssssssssssssssssssssss' must be 3-24",
    ),
    "a user profile name of 64 characters": (
        {"workload": {"user_profiles": [_profile(1, 64)]}},
        "workload.user_profiles: ",
    ),
    "9 tags of your own (S3 objects take 10 with the provider's 2)": (
        {"tags": {f"Key{i}": "v" for i in range(9)}},
        "S3 takes at most 10 on an object",
    ),
    "51 tags": ({"tags": {f"Key{i}": "v" for i in range(51)}}, "S3 takes at most 10 on an object"),
    "a tag value with parentheses and a comma": ({"tags": {"Team": "ml (core), eu"}}, "tags.Team: "),
    "a tag key of 129 characters": ({"tags": {"K" * 129: "v"}}, "tags."),
    "a tag value of 257 characters": ({"tags": {"Team": "v" * 257}}, "tags.Team: "),
    "21 trusted Docker accounts": (
        {"workload": {"docker_trusted_accounts": [f"{100000000000 + i}" for i in range(21)]}},
        "workload.docker_trusted_accounts: ",
    ),
    "an instance type not in SageMaker's enum": (
        {"workload": {"jupyterlab_instance_type": "ml.t3.huge"}},
        "workload.jupyterlab_instance_type: ",
    ),
    "7 availability zones": ({"network": {"az_count": 7}}, "network.az_count: "),
    "a CodeArtifact domain of 51 characters": (
        {"workload": {"codeartifact_domain": "d" * 51}},
        "workload.codeartifact_domain: ",
    ),
    "a CodeArtifact repository of 101 characters": (
        {"workload": {"codeartifact_repository": "r" * 101}},
        "workload.codeartifact_repository: ",
    ),
}


@pytest.mark.parametrize("name", REFUSED)
def test_an_extreme_aws_refuses_is_refused_before_terraform_naming_the_setting(name):
    sections, expected = REFUSED[name]
    found = problems(**sections)
    assert any(p.startswith(expected) or (expected in p) for p in found), found
    # A clear message: the setting it is about, and more than a bare "invalid".
    assert all(re.match(r"^[a-z_]+(\.[\w-]+)?: .{20,}", p) for p in found), found


# --------------------------------------------------------------------------- extremes accepted: synthesized


def _longest_accepted_prefix() -> str:
    return "s" + "-a" * 11 + "z"  # 24 characters, single hyphens


ACCEPTED: dict[str, dict[str, Any]] = {
    # The longest names the configuration accepts, everywhere a setting becomes a name.
    "longest names": {
        "project": {"name_prefix": _longest_accepted_prefix(), "environment": "e" * 16},
        "state": {"bucket": "b" * 63, "lock_table": "t" * 255},
        "workload": {
            "user_profiles": [_profile(1, 63), _profile(2, 63)],
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


def _accepted(name: str) -> StudioConfig:
    return parse(**ACCEPTED[name])


@pytest.mark.parametrize("name", ACCEPTED)
def test_the_accepted_extremes_are_valid_configurations(name):
    _accepted(name)


@pytest.fixture(scope="session")
def synth_extremes(tmp_path_factory) -> dict[str, dict[str, dict]]:
    """Each accepted extreme synthesized once: ~1.5 s each."""
    from main import build_app

    out: dict[str, dict[str, dict]] = {}
    for number, name in enumerate(ACCEPTED):
        outdir = tmp_path_factory.mktemp(f"extreme-{number}")
        build_app(_accepted(name), outdir).synth()
        out[name] = {p.parent.name: json.loads(p.read_text()) for p in (outdir / "stacks").glob("*/cdk.tf.json")}
    return out


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


def _resolve(value: str) -> str | None:
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


def _default_tags(doc: Mapping[str, Any]) -> dict[str, str]:
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


def _aws_problems(stacks: Mapping[str, dict]) -> tuple[list[str], int]:
    found, checked = [], 0
    for stack, rtype, name, body in _resources(stacks):
        where = f"{stack}: {rtype}.{name}"
        for (kind, attribute), ref in NAMES.items():
            if kind == rtype and isinstance(body.get(attribute), str):
                value = _resolve(body[attribute])
                if value is not None:
                    checked += 1
                    found += [f"{where}.{attribute}: {p}" for p in aws_constraints.value_problems(value, ref)]
        if rtype == "aws_s3_bucket" and isinstance(body.get("bucket"), str):
            value = _resolve(body["bucket"])
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
                    resolved = [v for v in map(_resolve, values) if v is not None]
                    stand_ins = resolved + ["x"] * (len(values) - len(resolved))
                    checked += 1
                    found += [f"{where}: {p}" for p in aws_constraints.value_problems(stand_ins, ref)]
        tags = {**_default_tags(stacks[stack]), **(body.get("tags") or {})}
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


@pytest.mark.slow  # synthesizes three more environments (~5 s): make test, not make test-fast
@pytest.mark.parametrize("name", ACCEPTED)
def test_an_accepted_extreme_synthesizes_only_values_aws_accepts(synth_extremes, name):
    found, checked = _aws_problems(synth_extremes[name])
    assert found == []
    assert checked > 40, checked  # the walk reached the stacks' names and tags, not an empty document


@pytest.mark.slow
def test_the_extremes_reach_the_stacks_as_configured(synth_extremes):
    longest = synth_extremes["longest names"]["workload"]["resource"]
    assert sorted(p["user_profile_name"] for p in longest["aws_sagemaker_user_profile"].values()) == sorted(
        [_profile(1, 63), _profile(2, 63)]
    )
    assert [
        r["repository"] for r in longest["aws_codeartifact_repository"].values() if r["repository"].startswith("r")
    ] == ["r" * 100]
    most = synth_extremes["most zones and accounts"]
    assert len(most["network"]["resource"]["aws_subnet"]) == 6
    tags = _default_tags(synth_extremes["most tags"]["workload"])
    assert len(tags) == aws_constraints.S3_OBJECT_MAX_TAGS  # exactly what an S3 object takes


def test_the_checks_of_synthesized_values_find_what_aws_refuses():
    # The walk itself: a role name past IAM's 64, a tag value with a comma, an 11th tag on an object.
    bad = {
        "workload": {
            "provider": {"aws": [{"default_tags": [{"tags": {f"T{i}": "v" for i in range(11)}}]}]},
            "resource": {
                "aws_iam_role": {"r": {"name": "r" * 65, "tags": {"Team": "a,b"}}},
                "aws_s3_object": {"o": {"key": "k"}},
                "aws_s3_bucket": {"b": {"bucket": "Bad_Bucket"}},
            },
        }
    }
    found, _ = _aws_problems(bad)
    assert any("aws_iam_role.r.name" in p for p in found), found
    assert any("tag 'Team'" in p for p in found), found
    assert any("aws_s3_object.o: 11 tags" in p for p in found), found
    assert any("Bad_Bucket" in p for p in found), found


def test_unresolved_references_are_filled_or_left_unchecked():
    assert _resolve("studio-${data.aws_caller_identity.current.account_id}-lab") == "studio-123456789012-lab"
    assert _resolve("${aws_s3_bucket.lab.bucket}") is None
