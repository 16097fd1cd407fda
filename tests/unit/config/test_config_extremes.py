"""Extreme configurations: each is refused before Terraform with a clear message, or accepted
as a valid configuration (tests/integration/config/test_config_extremes_synthesized.py
synthesizes those and checks the values against AWS's own models).

The configuration is validated in-process for every region of every partition botocore knows
(no synthesis per region); the walk that checks a synthesis (tests/config_extremes.py) is
shown to find what AWS refuses.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from config_extremes import ACCEPTED, accepted_config, aws_problems, parse, profile_name, resolve_references
from support import config_document

from isolated_studio.config import ConfigError, aws_constraints


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


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "a name prefix one character too long": (
        {"project": {"name_prefix": "s" * 25}},
        "project.name_prefix: 'sssssssssssssssssssssssss' must be 3-24",
    ),
    "a user profile name of 64 characters": (
        {"workload": {"user_profiles": [profile_name(1, 64)]}},
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


# --------------------------------------------------------------------------- extremes accepted, the walk


@pytest.mark.parametrize("name", ACCEPTED)
def test_the_accepted_extremes_are_valid_configurations(name):
    accepted_config(name)


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
    found, _ = aws_problems(bad)
    assert any("aws_iam_role.r.name" in p for p in found), found
    assert any("tag 'Team'" in p for p in found), found
    assert any("aws_s3_object.o: 11 tags" in p for p in found), found
    assert any("Bad_Bucket" in p for p in found), found


def test_unresolved_references_are_filled_or_left_unchecked():
    assert resolve_references("studio-${data.aws_caller_identity.current.account_id}-lab") == "studio-123456789012-lab"
    assert resolve_references("${aws_s3_bucket.lab.bucket}") is None
