"""The emulator answers a repeated request as AWS does (isolated_studio/ops/emulator_server.py):
a CreateVpcEndpoint with a ClientToken already used returns that endpoint, and a revoke naming a
rule that is gone says InvalidSecurityGroupRuleId.NotFound, the code the provider takes as done."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from emulator_support import REGION, MotoServer, start_moto

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def ec2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    server: MotoServer
    with start_moto(tmp_path_factory.mktemp("moto-emulator-server") / "moto.log") as server:
        yield boto3.client(
            "ec2",
            region_name=REGION,
            endpoint_url=server.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@pytest.fixture(scope="module")
def vpc(ec2) -> dict[str, str]:
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    return {"vpc": vpc_id, "subnet": subnet}


def _endpoints(ec2, vpc_id: str) -> list[str]:
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return sorted(e["VpcEndpointId"] for e in found if e["State"].lower() != "deleted")


def test_a_repeated_create_vpc_endpoint_returns_the_endpoint_its_token_created(ec2, vpc):
    """What a retried request of the provider's (same ClientToken) gets from AWS: no second endpoint."""
    create = dict(
        VpcId=vpc["vpc"],
        ServiceName=f"com.amazonaws.{REGION}.ec2",
        VpcEndpointType="Interface",
        SubnetIds=[vpc["subnet"]],
        ClientToken="terraform-20261208-0001",
    )
    first = ec2.create_vpc_endpoint(**create)["VpcEndpoint"]["VpcEndpointId"]
    again = ec2.create_vpc_endpoint(**create)["VpcEndpoint"]["VpcEndpointId"]
    other = ec2.create_vpc_endpoint(**{**create, "ClientToken": "terraform-20261208-0002"})["VpcEndpoint"]
    untokened = {k: v for k, v in create.items() if k != "ClientToken"}
    plain = [ec2.create_vpc_endpoint(**untokened)["VpcEndpoint"]["VpcEndpointId"] for _ in range(2)]

    assert again == first
    assert _endpoints(ec2, vpc["vpc"]) == sorted([first, other["VpcEndpointId"], *plain])
    assert len(set(plain)) == 2  # without a token every request is a new endpoint, as on AWS


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_revoking_a_rule_that_is_gone_says_the_rule_id_is_not_found(ec2, vpc, direction):
    group = ec2.create_security_group(GroupName=f"revoke-{direction}", Description="t", VpcId=vpc["vpc"])["GroupId"]
    authorize = getattr(ec2, f"authorize_security_group_{direction}")
    revoke = getattr(ec2, f"revoke_security_group_{direction}")
    permission = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}
    rule = authorize(GroupId=group, IpPermissions=[permission])["SecurityGroupRules"][0]["SecurityGroupRuleId"]

    revoke(GroupId=group, SecurityGroupRuleIds=[rule])
    with pytest.raises(ClientError) as again:
        revoke(GroupId=group, SecurityGroupRuleIds=[rule])

    assert again.value.response["Error"]["Code"] == "InvalidSecurityGroupRuleId.NotFound"
    # A revoke by the rule's content keeps moto's (and AWS's) answer for a rule that is not there.
    with pytest.raises(ClientError) as by_content:
        revoke(GroupId=group, IpPermissions=[permission])
    assert by_content.value.response["Error"]["Code"] == "InvalidPermission.NotFound"
