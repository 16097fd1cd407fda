"""Subnets go where the account really has zones: the available ones at plan time, or the
zones a team pins by ID; never letters assumed from the region's name (new accounts in
ap-northeast-1 and ca-central-1 have no zone b)."""

from __future__ import annotations

import json

import pytest
from cdktf import Testing

from isolated_studio.config import ConfigError
from stacks.network import NetworkStack

Testing.__test__ = False


def network(config) -> dict:
    return json.loads(Testing.synth(NetworkStack(Testing.app(), "network", config=config)))


@pytest.fixture(scope="module")
def in_region(dev_config):
    # The network stack alone: ca-central-1 has no CodeArtifact, so the whole configuration is refused
    # there (test_a_region_without_codeartifact_is_refused); the zones are the network's concern.
    return {
        region: network(dev_config.model_copy(update={"region": region}))
        for region in ("ap-northeast-1", "ca-central-1")
    }


@pytest.mark.parametrize("region", ["ap-northeast-1", "ca-central-1"])
def test_subnets_take_the_zones_the_account_has_available(in_region, region):
    doc = in_region[region]
    ((name, zones),) = doc["data"]["aws_availability_zones"].items()
    assert zones["state"] == "available"
    assert zones["filter"] == [{"name": "zone-type", "values": ["availability-zone"]}]  # no Local Zones
    subnets = sorted(doc["resource"]["aws_subnet"].values(), key=lambda s: s["cidr_block"])
    assert [s["availability_zone"] for s in subnets] == [
        f"${{element(data.aws_availability_zones.{name}.names, {i})}}" for i in range(2)
    ]
    # Nothing in the stack names a zone by letter.
    assert f"{region}b" not in json.dumps(doc) and f"{region}a" not in json.dumps(doc)


def test_a_subnet_created_in_a_zone_stays_there(in_region):
    # A zone that turns impaired (or a new one) reorders the list: that must not replace subnets.
    for subnet in in_region["ap-northeast-1"]["resource"]["aws_subnet"].values():
        assert subnet["lifecycle"] == {"ignore_changes": ["availability_zone"]}


def test_zones_pinned_by_id_are_used_as_given(dev_config):
    pinned = dev_config.model_copy(
        update={"network": dev_config.network.model_copy(update={"availability_zone_ids": ("usw2-az4", "usw2-az1")})}
    )
    doc = network(pinned)
    assert "aws_availability_zones" not in doc.get("data", {})
    subnets = sorted(doc["resource"]["aws_subnet"].values(), key=lambda s: s["cidr_block"])
    assert [(s["availability_zone_id"], "availability_zone" in s) for s in subnets] == [
        ("usw2-az4", False),
        ("usw2-az1", False),
    ]
    assert [s["tags"]["Name"] for s in subnets] == ["studio-dev-private-usw2-az4", "studio-dev-private-usw2-az1"]


def test_a_region_without_codeartifact_is_refused():
    from support import config_document

    from isolated_studio.config import parse_config

    with pytest.raises(ConfigError) as info:
        parse_config(config_document(project={"name_prefix": "studio-test", "region": "ca-central-1"}), env={})
    assert info.value.problems == [
        "project.region: ca-central-1 has no CodeArtifact (pip inside the VPC) (botocore 1.35.99 endpoint data); "
        "the stacks need it"
        "; way out: deploy to a region of aws that has every service the stacks need (ap-northeast-1, ap-south-1, "
        "ap-southeast-1, ap-southeast-2, eu-central-1, eu-north-1, eu-south-1, eu-west-1, eu-west-2, eu-west-3, us-east-1, "
        "us-east-2, us-west-2); if AWS has launched it in ca-central-1 since, upgrade botocore in Pipfile.lock and run "
        "`python -m isolated_studio.config.aws_constraints`"
    ]
