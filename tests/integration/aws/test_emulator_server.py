"""The emulator answers a repeated request as AWS does (isolated_studio/ops/emulator_server.py):
an EC2 request with a ClientToken already used gets the first request's answer (the endpoint it
created, the flow log it created), and a revoke naming a rule that is gone says
InvalidSecurityGroupRuleId.NotFound, the code the provider takes as done."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from emulator_support import REGION, MotoServer, start_moto

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with start_moto(tmp_path_factory.mktemp("moto-emulator-server") / "moto.log") as server:
        yield server


def _client(moto: MotoServer, service: str):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=moto.endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture(scope="module")
def ec2(moto: MotoServer):
    return _client(moto, "ec2")


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
    with pytest.raises(ClientError) as mismatch:  # the token again, with other parameters
        ec2.create_vpc_endpoint(**{**create, "ServiceName": f"com.amazonaws.{REGION}.sts"})
    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatch"


def test_a_repeated_create_flow_logs_returns_the_flow_log_its_token_created(moto, ec2, vpc):
    """The network apply failed once in CI on FlowLogAlreadyExists: moto ran the repeat again."""
    _client(moto, "s3").create_bucket(
        Bucket="flow-logs-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    create = dict(
        ResourceIds=[vpc["vpc"]],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::flow-logs-bucket",
        ClientToken="terraform-20261208-0003",
    )
    first = ec2.create_flow_logs(**create)
    again = ec2.create_flow_logs(**create)
    assert first["FlowLogIds"] and again["FlowLogIds"] == first["FlowLogIds"]
    assert again.get("Unsuccessful", []) == []
    logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["vpc"]]}])["FlowLogs"]
    assert [log["FlowLogId"] for log in logs] == first["FlowLogIds"]


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


def _as_attempt(client, invocation: str, attempt: int) -> None:
    """Send the client's next calls as attempt ``attempt`` of SDK call ``invocation``."""

    def mark(request, **_):
        request.headers["amz-sdk-invocation-id"] = invocation
        request.headers["amz-sdk-request"] = f"attempt={attempt}; max=5"

    client.meta.events.register_last("before-send", mark)


def test_a_retry_of_a_call_already_answered_gets_its_answer_again(moto):
    """Terraform's state lock: a conditional PutItem the SDK sent again after moto applied it
    failed on the lock it had just taken, and the lock stayed held. A new call still fails."""
    dynamodb = _client(moto, "dynamodb")
    dynamodb.create_table(
        TableName="locks",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lock = dict(
        TableName="locks",
        Item={"LockID": {"S": "bucket/network.tfstate"}, "Info": {"S": "terraform"}},
        ConditionExpression="attribute_not_exists(LockID)",
    )
    first, retry, other = (_client(moto, "dynamodb") for _ in range(3))
    _as_attempt(first, "invocation-1", 1)
    _as_attempt(retry, "invocation-1", 2)
    _as_attempt(other, "invocation-2", 1)

    first.put_item(**lock)
    retry.put_item(**lock)  # the same call's second attempt: its first answer, not a failed condition
    with pytest.raises(ClientError) as taken:
        other.put_item(**lock)  # another call: the lock is held, as on AWS
    assert taken.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert "attempt 2 of SDK call invocation-1" in moto.log.read_text()
