"""The network stack: private subnets, endpoints, security groups, flow logs, outputs."""

import json

import pytest
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from matchers import has, has_provider


@pytest.fixture(scope="module")
def net(synth):
    return synth.texts["network"]


def test_vpc_has_dns_support_and_hostnames(net):
    assert has(
        net,
        Vpc.TF_RESOURCE_TYPE,
        {"cidr_block": "10.10.0.0/16", "enable_dns_support": True, "enable_dns_hostnames": True},
    )


@pytest.mark.parametrize("index, cidr", [(0, "10.10.0.0/24"), (1, "10.10.1.0/24")])
def test_one_private_subnet_per_available_zone(synth, net, index, cidr):
    (zones,) = synth.stacks["network"]["data"]["aws_availability_zones"]
    assert has(
        net,
        Subnet.TF_RESOURCE_TYPE,
        {
            "availability_zone": f"${{element(data.aws_availability_zones.{zones}.names, {index})}}",
            "cidr_block": cidr,
            "map_public_ip_on_launch": False,
            "lifecycle": {"ignore_changes": ["availability_zone"]},
        },
    )


def test_each_subnet_has_its_own_route_table(synth):
    tables = synth.resources("network", "aws_route_table")
    associations = synth.resources("network", RouteTableAssociation.TF_RESOURCE_TYPE).values()
    assert len(tables) == 2
    assert len({a["route_table_id"] for a in associations}) == 2
    assert len({a["subnet_id"] for a in associations}) == 2


def test_default_security_group_is_emptied(net):
    assert has(net, DefaultSecurityGroup.TF_RESOURCE_TYPE, {"ingress": [], "egress": []})


def test_s3_gateway_endpoint_is_on_the_private_route_tables(synth):
    gateway = [
        e for e in synth.resources("network", "aws_vpc_endpoint").values() if e["vpc_endpoint_type"] == "Gateway"
    ]
    assert len(gateway) == 1
    assert gateway[0]["service_name"] == "com.amazonaws.us-west-2.s3"
    assert sorted(gateway[0]["route_table_ids"]) == sorted(
        f"${{aws_route_table.{name}.id}}" for name in synth.resources("network", "aws_route_table")
    )


@pytest.mark.parametrize(
    "service",
    [
        "com.amazonaws.us-west-2.sagemaker.api",
        "com.amazonaws.us-west-2.sagemaker.runtime",
        "aws.sagemaker.us-west-2.experiments",
        "com.amazonaws.us-west-2.codeartifact.api",
        "com.amazonaws.us-west-2.codeartifact.repositories",
        "com.amazonaws.us-west-2.sts",
        "com.amazonaws.us-west-2.ecr.api",
        "com.amazonaws.us-west-2.ecr.dkr",
        "com.amazonaws.us-west-2.logs",
        "com.amazonaws.us-west-2.monitoring",
        "com.amazonaws.us-west-2.ec2",
    ],
)
def test_interface_endpoint_with_private_dns_in_both_subnets(synth, net, service):
    assert has(
        net,
        VpcEndpoint.TF_RESOURCE_TYPE,
        {"service_name": service, "vpc_endpoint_type": "Interface", "private_dns_enabled": True},
    )
    endpoint = next(e for e in synth.resources("network", "aws_vpc_endpoint").values() if e["service_name"] == service)
    assert len(endpoint["subnet_ids"]) == 2
    assert len(endpoint["security_group_ids"]) == 1 and "endpoints" in endpoint["security_group_ids"][0]


def test_endpoint_security_group_admits_only_https_from_the_vpc(synth):
    rules = [
        r
        for n, r in synth.resources("network", VpcSecurityGroupIngressRule.TF_RESOURCE_TYPE).items()
        if n.startswith("endpoints")
    ]
    assert [(r["from_port"], r["to_port"], r["ip_protocol"], r["cidr_ipv4"]) for r in rules] == [
        (443, 443, "tcp", "10.10.0.0/16")
    ]


def test_studio_security_group_rules_stay_inside_the_vpc(synth):
    def rules(rtype):
        return sorted(
            (
                r["from_port"],
                r["to_port"],
                r.get("cidr_ipv4") or ("self" if r.get("referenced_security_group_id") else "s3-prefix-list"),
            )
            for n, r in synth.resources("network", rtype).items()
            if n.startswith("studio-security-group")
        )

    assert rules(VpcSecurityGroupIngressRule.TF_RESOURCE_TYPE) == [(2049, 2049, "10.10.0.0/16"), (8192, 65535, "self")]
    assert rules(VpcSecurityGroupEgressRule.TF_RESOURCE_TYPE) == [
        (443, 443, "10.10.0.0/16"),
        (443, 443, "s3-prefix-list"),
        (2049, 2049, "10.10.0.0/16"),
        (8192, 65535, "self"),
    ]
    s3 = next(
        r
        for r in synth.resources("network", VpcSecurityGroupEgressRule.TF_RESOURCE_TYPE).values()
        if "prefix_list_id" in r
    )
    assert "aws_vpc_endpoint.endpoints_s3-gateway" in s3["prefix_list_id"]


def test_flow_logs_go_to_an_encrypted_log_group_with_retention(synth, net):
    assert has(net, KmsKey.TF_RESOURCE_TYPE, {"enable_key_rotation": True})
    assert has(net, CloudwatchLogGroup.TF_RESOURCE_TYPE, {"name": "/vpc/studio-dev/flow-logs", "retention_in_days": 30})
    group = next(
        g
        for g in synth.resources("network", "aws_cloudwatch_log_group").values()
        if g["name"] == "/vpc/studio-dev/flow-logs"
    )
    assert group["kms_key_id"].startswith("${aws_kms_key.")
    assert has(net, FlowLog.TF_RESOURCE_TYPE, {"traffic_type": "ALL", "log_destination_type": "cloud-watch-logs"})
    key = group["kms_key_id"].split(".")[1]
    key_policy = synth.policy("network", synth.resources("network", "aws_kms_key")[key]["policy"])
    logs = next(s for s in key_policy["Statement"] if s["Sid"] == "LogGroupsEncrypt")
    context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context.endswith(":log-group:/vpc/studio-dev/flow-logs")  # this log group only


def test_provider_pins_region_and_tags_everything(net):
    assert has_provider(net, AwsProvider.TF_RESOURCE_TYPE, {"region": "us-west-2"})
    provider = json.loads(net)["provider"]["aws"][0]
    assert provider["default_tags"][0]["tags"]["Project"] == "isolated-studio"


@pytest.mark.parametrize(
    "name",
    [
        "vpc_id",
        "vpc_cidr",
        "private_subnet_ids",
        "private_route_table_ids",
        "studio_security_group_id",
        "endpoint_security_group_id",
        "s3_prefix_list_id",
    ],
)
def test_outputs_the_workload_needs_have_descriptions(synth, name):
    output = synth.stacks["network"]["output"][name]
    assert output["description"] and output["value"]


def test_network_state_is_in_s3_with_dynamodb_locking(synth):
    backend = synth.stacks["network"]["terraform"]["backend"]["s3"]
    assert backend == {
        "bucket": "studio-dev-tfstate",
        "key": "isolated-studio/dev/us-west-2/network.tfstate",
        "region": "us-west-2",
        "encrypt": True,
        "kms_key_id": "alias/studio-dev-tfstate",
        "dynamodb_table": "studio-dev-tflock",
    }


def test_state_is_written_with_the_state_stacks_key(synth, synth_variant):
    """`encrypt` alone makes Terraform write AES256; kms_key_id names the state stack's key:
    its alias (resolved in the credentials' account), or its alias ARN once the account is known."""
    (alias,) = [a["name"] for a in synth.resources("state", "aws_kms_alias").values()]
    for stack in ("network", "workload"):
        assert synth.stacks[stack]["terraform"]["backend"]["s3"]["kms_key_id"] == alias
        variant = synth_variant.stacks[stack]["terraform"]["backend"]["s3"]
        assert variant["kms_key_id"] == f"arn:aws:kms:us-west-2:{synth_variant.config.account_id}:{alias}"


def test_s3_native_locking_is_an_option(synth_variant):
    backend = synth_variant.stacks["network"]["terraform"]["backend"]["s3"]
    assert backend["use_lockfile"] is True and backend["dynamodb_table"] == "studio-dev-tflock"


def test_stacks_have_their_own_state_keys(synth):
    keys = [synth.stacks[s]["terraform"]["backend"]["s3"]["key"] for s in ("network", "workload")]
    assert keys == ["isolated-studio/dev/us-west-2/network.tfstate", "isolated-studio/dev/us-west-2/workload.tfstate"]


def test_a_configured_account_is_the_only_one_every_provider_accepts(synth, synth_variant):
    account = synth_variant.config.account_id
    assert account
    for stack, doc in synth_variant.stacks.items():
        (provider,) = doc["provider"]["aws"]
        assert provider["allowed_account_ids"] == [account], stack
    for stack, doc in synth.stacks.items():  # no account configured: any account, checked by the guard
        assert "allowed_account_ids" not in doc["provider"]["aws"][0], stack
