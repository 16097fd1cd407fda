"""End to end against a real moto server, through the workflow CLI a user runs.

One emulated environment per session, built up in order by session fixtures (whichever test
asks first triggers a step, and each step runs once):

    emu          -> config/emulator.toml with this session's endpoint, into a tmp cdktf.out
    fresh_plan   -> `workflow plan` before anything exists
    deployed     -> `workflow deploy --yes --stacks state network` (bootstrap, then network)
    second_plan  -> `workflow plan` of every stack (workload is planned, never applied here)
    firewall_plan -> the network with the DNS firewall on (moto holds none), planned against it

The tests read what those steps did and check the emulated AWS through boto3; nothing
destroys that environment, so they pass in any order (CI shuffles them: pytest-randomly).
The destroy test has a deployment of its own, on a moto server of its own, in
tests/e2e/emulator/test_emulator_destroy.py: another module, so that it runs beside this one.
Running a single test brings up whatever it needs.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emulator_support import (
    EMULATOR_CONFIG,
    MOTO_ACCOUNT,
    MOTO_NETWORK_DRIFT,
    REGION,
    TERRAFORM_TIMEOUT_S,
    Emulator,
    MotoServer,
    changed_attributes,
    changes,
    describe,
    start_moto,
    synthesized_emulator,
)
from support import require_terraform

from isolated_studio.checks import isolation
from isolated_studio.config import PROJECT_ROOT, load_config
from isolated_studio.ops.workflow import synthesize

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

REPO_EMULATOR_STATE = PROJECT_ROOT / "terraform-state" / "emulator"


@dataclass
class Deployment:
    proc: subprocess.CompletedProcess[str]
    network: dict[str, Any]  # network outputs right after the apply
    state: dict[str, Any]  # state stack outputs
    # The VPC's endpoints as DescribeVpcEndpoints answered right after the apply: tests that plant
    # breaches (an endpoint added or deleted by hand) may run before the tests that read these.
    endpoints: list[dict[str, Any]]


def _stamp(path: Path) -> float | None:
    return path.stat().st_mtime if path.exists() else None


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    require_terraform()
    with start_moto(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="session")
def repo_state_before() -> float | None:
    return _stamp(REPO_EMULATOR_STATE)


@pytest.fixture(scope="session")
def emu(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory, repo_state_before: float | None) -> Emulator:
    return synthesized_emulator(moto.endpoint, tmp_path_factory.mktemp("emulator"))


@pytest.fixture(scope="session")
def fresh_plan(emu: Emulator) -> subprocess.CompletedProcess[str]:
    return emu.workflow("plan", plans="fresh")


@pytest.fixture(scope="session")
def deployed(emu: Emulator, fresh_plan: subprocess.CompletedProcess[str]) -> Deployment:
    # Depends on fresh_plan so that the "before anything exists" plan really ran before.
    proc = emu.workflow("deploy", "--yes", "--stacks", "state", "network", plans="deploy")
    if proc.returncode != 0:
        pytest.fail(f"deploy failed:\n{describe(proc)}")
    network = emu.outputs("network")
    endpoints = emu.client("ec2").describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network["vpc_id"]]}])[
        "VpcEndpoints"
    ]
    return Deployment(proc, network, emu.outputs("state"), endpoints)


@pytest.fixture(scope="session")
def second_plan(emu: Emulator, deployed: Deployment) -> subprocess.CompletedProcess[str]:
    return emu.workflow("plan", plans="second")


# --------------------------------------------------------------------------- plan before anything exists


def test_plan_of_a_fresh_environment_plans_state_and_says_when_the_rest_can_be_planned(emu, fresh_plan):
    assert fresh_plan.returncode == 0, describe(fresh_plan)
    plans = emu.plan_dir("fresh")
    assert sorted(p.name for p in plans.iterdir()) == ["review.md", "state.plan.json", "state.tfplan"]
    assert "network can be planned after the state stack is applied" in fresh_plan.stdout
    assert "workload can be planned after network is applied" in fresh_plan.stdout

    state_changes = changes(emu.plan_json("fresh", "state"))
    assert {"aws_s3_bucket", "aws_dynamodb_table", "aws_kms_key"} <= {rc["type"] for rc in state_changes}
    assert {tuple(rc["change"]["actions"]) for rc in state_changes} == {("create",)}
    review = (plans / "review.md").read_text()
    assert f"| `state` | {len(state_changes)} |" in review
    not_planned = review.split("### Not planned", 1)[1]
    assert "`network`" in not_planned and "`workload`" in not_planned


# --------------------------------------------------------------------------- bootstrap


def test_deploy_bootstraps_the_state_stack_then_applies_the_network(emu, deployed, repo_state_before):
    out = deployed.proc.stdout
    assert f"Target: emulator {emu.endpoint}, region {REGION}" in out
    assert out.index("bootstrapping the state stack") < out.index("state: applying") < out.index("network: applying")
    assert sorted(p.name for p in emu.plan_dir("deploy").glob("*.tfplan")) == ["network.tfplan", "state.tfplan"]
    # The first deploy creates the subnets with the endpoints: still priced, from the configuration.
    review = (emu.plan_dir("deploy") / "review.md").read_text()
    assert "| `network` | 49 | 0 | 0 | 0 | 160.60 |" in review
    assert "11 of them get subnets created in this apply" in review

    bootstrap_state = emu.root / emu.config.bootstrap_state_file
    managed = [r for r in json.loads(bootstrap_state.read_text())["resources"] if r["mode"] == "managed"]
    assert {r["type"] for r in managed} >= {"aws_s3_bucket", "aws_dynamodb_table"}
    # The session's bootstrap state stayed in its tmp root, not in the repository's terraform-state/.
    assert _stamp(REPO_EMULATOR_STATE) == repo_state_before


def test_state_bucket_is_versioned_kms_encrypted_and_private(emu, deployed):
    s3, bucket = emu.client("s3"), emu.config.state.bucket
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": deployed.state["state_kms_key_arn"],
    }
    assert rule["BucketKeyEnabled"] is True

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90


def test_network_state_is_written_with_the_state_key(emu, deployed):
    """The S3 backend names the state key (kms_key_id): with `encrypt = true` alone Terraform
    would write every state object AES256, overriding the bucket's KMS default."""
    head = emu.client("s3").head_object(Bucket=emu.config.state.bucket, Key=emu.config.state_key("network"))
    assert head["ServerSideEncryption"] == "aws:kms"
    # S3 reports the key ARN; moto the identifier the backend sent (the key's alias ARN): KMS resolves either.
    used = emu.client("kms").describe_key(KeyId=head["SSEKMSKeyId"])["KeyMetadata"]["Arn"]
    assert used == deployed.state["state_kms_key_arn"]


def test_state_bucket_has_no_tls_only_policy_in_the_emulator(emu, deployed):
    """moto applies the Deny of the TLS-only policy ignoring its condition (it would refuse every
    request, Terraform's state included), so the emulator environment leaves it out."""
    with pytest.raises(ClientError) as error:
        emu.client("s3").get_bucket_policy(Bucket=emu.config.state.bucket)
    assert error.value.response["Error"]["Code"] == "NoSuchBucketPolicy"


def test_lock_table_is_on_demand_encrypted_with_point_in_time_recovery(emu, deployed):
    dynamodb, table_name = emu.client("dynamodb"), emu.config.state.lock_table
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table.get("DeletionProtectionEnabled") is False  # state.protect = false in the emulator
    backups = dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


# --------------------------------------------------------------------------- network


def test_vpc_has_dns_and_private_subnets_in_two_azs(emu, deployed):
    ec2, net = emu.client("ec2"), deployed.network
    vpc = ec2.describe_vpcs(VpcIds=[net["vpc_id"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == emu.config.network.vpc_cidr
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        value = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)
        assert value[attribute[0].upper() + attribute[1:]]["Value"] is True, attribute

    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert sorted((s["AvailabilityZone"], s["CidrBlock"]) for s in subnets) == sorted(
        zip(net["availability_zones"], emu.config.subnet_cidrs)
    )
    assert sorted(s["SubnetId"] for s in subnets) == sorted(net["private_subnet_ids"])
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)


def test_no_route_leaves_the_vpc_and_no_gateway_exists(emu, deployed):
    ec2, vpc_id = emu.client("ec2"), deployed.network["vpc_id"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    tables = ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
    private = {t["RouteTableId"]: t for t in tables if t["RouteTableId"] in deployed.network["private_route_table_ids"]}
    assert len(private) == 2
    for table in private.values():  # one table per subnet
        assert [a["SubnetId"] for a in table["Associations"] if "SubnetId" in a] != []
    for table in tables:
        for route in table["Routes"]:
            assert route.get("DestinationCidrBlock") != "0.0.0.0/0", (table["RouteTableId"], route)
            assert route.get("DestinationIpv6CidrBlock") != "::/0", (table["RouteTableId"], route)
            assert not route.get("NatGatewayId") and not str(route.get("GatewayId", "")).startswith("igw-"), route

    assert (
        ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
        == []
    )
    assert ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"] == []
    egress_only = ec2.describe_egress_only_internet_gateways()["EgressOnlyInternetGateways"]
    assert not [g for g in egress_only if any(a["VpcId"] == vpc_id for a in g.get("Attachments", []))]


def test_endpoints_are_private_and_cover_the_configured_services(emu, deployed):
    ec2, net = emu.client("ec2"), deployed.network
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [net["vpc_id"]]}])["VpcEndpoints"]
    # An endpoint deleted (the drift test plants one and deletes it) stays listed as "deleted", as in AWS.
    endpoints = [e for e in endpoints if e["State"].lower() != "deleted"]
    interface = {e["ServiceName"]: e for e in endpoints if e["VpcEndpointType"] == "Interface"}
    gateway = [e for e in endpoints if e["VpcEndpointType"] == "Gateway"]

    expected = {emu.config.endpoint_service_name(key) for key in emu.config.network.interface_endpoints}
    assert set(interface) == expected
    for name, endpoint in interface.items():
        assert endpoint["PrivateDnsEnabled"] is True, name
        assert sorted(endpoint["SubnetIds"]) == sorted(net["private_subnet_ids"]), name
        assert [g["GroupId"] for g in endpoint["Groups"]] == [net["endpoint_security_group_id"]], name

    assert [e["ServiceName"] for e in gateway] == [f"com.amazonaws.{REGION}.s3"]
    assert sorted(gateway[0]["RouteTableIds"]) == sorted(net["private_route_table_ids"])


def test_every_endpoint_holds_its_policy_and_it_passes_the_isolation_gate(emu, deployed):
    """The endpoint policies apply in the emulator: moto holds them, and each one read back, as a live
    audit would read it (DescribeVpcEndpoints), keeps every account but moto's out."""
    net, endpoints = deployed.network, deployed.endpoints
    assert sorted(net["vpc_endpoint_ids"].values()) == sorted(e["VpcEndpointId"] for e in endpoints)
    for endpoint in endpoints:
        document = json.loads(endpoint["PolicyDocument"])
        assert isolation.endpoint_policy_problems(document, {MOTO_ACCOUNT}) == [], endpoint["ServiceName"]
        ours = next(s for s in document["Statement"] if s["Sid"] == "OurPrincipalsToOurResources")
        assert ours["Condition"]["StringEquals"]["aws:PrincipalAccount"] == MOTO_ACCOUNT
    gateway = next(e for e in endpoints if e["VpcEndpointType"] == "Gateway")
    sids = [s["Sid"] for s in json.loads(gateway["PolicyDocument"])["Statement"]]
    assert sids == ["OurPrincipalsToOurResources", "AwsOwnedBuckets"]


@pytest.fixture(scope="module")
def firewall_plan(emu: Emulator, deployed: Deployment, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The emulator's network with the DNS firewall on (what every other environment deploys),
    planned against the deployed network: moto cannot hold the firewall, the provider still plans it."""
    root = tmp_path_factory.mktemp("dns-firewall")
    config = root / "emulator-dns.toml"
    text = EMULATOR_CONFIG.read_text()
    assert "dns_firewall = false" in text
    config.write_text(text.replace("dns_firewall = false", "dns_firewall = true"))
    env = {**emu.env, "STUDIO_CONFIG": str(config)}
    synthesize(root / "cdktf.out", env, timeout_s=600)
    planned = Emulator(root, root / "cdktf.out", emu.endpoint, load_config(config, env=env), env)
    for args in (("init", "-input=false", "-no-color"), ("plan", "-input=false", "-no-color", "-out=dns.tfplan")):
        proc = planned.terraform("network", *args)
        assert proc.returncode == 0, describe(proc)
    shown = planned.terraform("network", "show", "-json", "dns.tfplan")
    assert shown.returncode == 0, describe(shown)
    return json.loads(shown.stdout)


def test_the_dns_firewall_moto_cannot_hold_is_planned(firewall_plan):
    created = [rc for rc in changes(firewall_plan) if rc["change"]["actions"] == ["create"]]
    types = sorted(rc["type"] for rc in created)
    assert types == sorted(
        [
            "aws_cloudwatch_log_group",
            "aws_kms_alias",
            "aws_kms_key",
            "aws_route53_resolver_firewall_config",
            "aws_route53_resolver_firewall_domain_list",
            "aws_route53_resolver_firewall_domain_list",
            "aws_route53_resolver_firewall_rule",
            "aws_route53_resolver_firewall_rule",
            "aws_route53_resolver_firewall_rule_group",
            "aws_route53_resolver_firewall_rule_group_association",
            "aws_route53_resolver_query_log_config",
            "aws_route53_resolver_query_log_config_association",
        ]
    )
    association = next(
        rc["change"]["after"] for rc in created if rc["type"] == "aws_route53_resolver_firewall_rule_group_association"
    )
    vpc = next(r for r in firewall_plan["prior_state"]["values"]["root_module"]["resources"] if r["type"] == "aws_vpc")
    assert association["vpc_id"] == vpc["values"]["id"]
    # Nothing else is created, replaced or destroyed: only the quirk moto always shows is updated.
    others = [rc for rc in changes(firewall_plan) if rc not in created]
    assert {tuple(rc["change"]["actions"]) for rc in others} <= {("update",)}
    assert {(rc["type"], a) for rc in others for a in changed_attributes(rc)} <= MOTO_NETWORK_DRIFT


def _rules(ec2: Any, group_id: str, egress: bool) -> set[tuple]:
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    return {
        (
            r["IpProtocol"],
            r["FromPort"],
            r["ToPort"],
            r.get("CidrIpv4") or r.get("PrefixListId") or r.get("ReferencedGroupInfo", {}).get("GroupId"),
        )
        for r in rules
        if r["IsEgress"] is egress
    }


def test_security_groups_admit_only_traffic_inside_the_vpc(emu, deployed):
    ec2, net, cidr = emu.client("ec2"), deployed.network, emu.config.network.vpc_cidr
    endpoints_sg, studio_sg = net["endpoint_security_group_id"], net["studio_security_group_id"]

    assert _rules(ec2, endpoints_sg, egress=False) == {("tcp", 443, 443, cidr)}
    assert _rules(ec2, studio_sg, egress=False) == {("tcp", 8192, 65535, studio_sg), ("tcp", 2049, 2049, cidr)}
    assert _rules(ec2, studio_sg, egress=True) == {
        ("tcp", 8192, 65535, studio_sg),
        ("tcp", 2049, 2049, cidr),
        ("tcp", 443, 443, cidr),
        ("tcp", 443, 443, net["s3_prefix_list_id"]),
    }

    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [net["vpc_id"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    assert [(g["IpPermissions"], g["IpPermissionsEgress"]) for g in default] == [([], [])]


def test_flow_logs_capture_all_traffic_into_the_log_group(emu, deployed):
    net = deployed.network
    logs = emu.client("ec2").describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [net["vpc_id"]]}])[
        "FlowLogs"
    ]
    assert [(f["TrafficType"], f["LogDestinationType"]) for f in logs] == [("ALL", "cloud-watch-logs")]
    assert f":log-group:{net['flow_log_group_name']}" in logs[0]["LogDestination"]
    group = emu.client("logs").describe_log_groups(logGroupNamePrefix=net["flow_log_group_name"])["logGroups"][0]
    assert group["retentionInDays"] == emu.config.network.flow_log_retention_days


# --------------------------------------------------------------------------- plan after deploy


def test_second_plan_changes_nothing_but_what_moto_cannot_round_trip(emu, second_plan):
    assert second_plan.returncode == 0, describe(second_plan)
    assert "state: no changes" in second_plan.stdout
    assert changes(emu.plan_json("second", "state")) == []
    drift = changes(emu.plan_json("second", "network"))
    assert {tuple(rc["change"]["actions"]) for rc in drift} <= {("update",)}, "the network would be re-created"
    unexplained = {
        (rc["address"], attribute)
        for rc in drift
        for attribute in changed_attributes(rc)
        if (rc["type"], attribute) not in MOTO_NETWORK_DRIFT
    }
    assert unexplained == set()


def test_workload_is_planned_from_the_network_state_in_the_emulated_bucket(emu, deployed, second_plan):
    assert second_plan.returncode == 0, describe(second_plan)
    plan = emu.plan_json("second", "workload")
    remote = [
        r for r in plan["prior_state"]["values"]["root_module"]["resources"] if r["type"] == "terraform_remote_state"
    ]
    assert [(r["values"]["config"]["bucket"], r["values"]["config"]["key"]) for r in remote] == [
        (emu.config.state.bucket, emu.config.state_key("network"))
    ]

    domain = next(rc["change"]["after"] for rc in changes(plan) if rc["type"] == "aws_sagemaker_domain")
    assert domain["vpc_id"] == deployed.network["vpc_id"]
    assert sorted(domain["subnet_ids"]) == sorted(deployed.network["private_subnet_ids"])
    assert domain["app_network_access_type"] == "VpcOnly"


def test_review_report_of_the_real_plans_names_the_studio_resources(emu, second_plan):
    assert second_plan.returncode == 0, describe(second_plan)
    review = (emu.plan_dir("second") / "review.md").read_text()
    for stack in ("state", "network", "workload"):
        assert f"## Stack `{stack}`" in review
    for resource_type in (
        "aws_sagemaker_domain",
        "aws_sagemaker_user_profile",
        "aws_sagemaker_mlflow_tracking_server",
        "aws_codeartifact_repository",
        "aws_s3_bucket",
    ):
        assert f"`{resource_type}." in review, resource_type
    # 11 interface endpoints in 2 AZs at USD 0.01 per endpoint-AZ hour.
    assert "| `network` | 0 |" in review and "160.60" in review
    assert sorted(p.name for p in emu.plan_dir("second").glob("*.tfplan")) == [
        "network.tfplan",
        "state.tfplan",
        "workload.tfplan",
    ]


# --------------------------------------------------------------------------- drift and the live audit


@dataclass
class DriftRuns:
    clean: subprocess.CompletedProcess[str]
    audit_clean: subprocess.CompletedProcess[str]
    drifted: subprocess.CompletedProcess[str]
    audit: subprocess.CompletedProcess[str]
    planted: dict[str, str]  # breach -> the id it has in the emulator


def _plant(ec2: Any, iam: Any, network: dict[str, Any], prefix: str, undo: list[Any]) -> dict[str, str]:
    """Every out-of-band breach of the issue that moto can hold, made as someone in the console would;
    each step that undoes one goes into ``undo`` as soon as there is something to undo."""
    vpc, studio = network["vpc_id"], network["studio_security_group_id"]
    planted: dict[str, str] = {}
    planted["ssh"] = ec2.authorize_security_group_ingress(
        GroupId=studio,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    undo.append(lambda: ec2.revoke_security_group_ingress(GroupId=studio, SecurityGroupRuleIds=[planted["ssh"]]))
    igw = planted["internet gateway"] = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    undo.append(lambda: ec2.delete_internet_gateway(InternetGatewayId=igw))
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    undo.append(lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc))
    table = planted["default route"] = network["private_route_table_ids"][0]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    undo.append(lambda: ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0"))
    other = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    undo.append(lambda: ec2.delete_vpc(VpcId=other))
    pcx = planted["peering connection"] = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=other)[
        "VpcPeeringConnection"
    ]["VpcPeeringConnectionId"]
    undo.append(lambda: ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx))
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    undo.append(lambda: ec2.delete_transit_gateway(TransitGatewayId=tgw))
    attachment = planted["transit gateway attachment"] = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=vpc, SubnetIds=network["private_subnet_ids"][:1]
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    undo.append(lambda: ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment))
    endpoint = planted["new endpoint"] = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.kms",
        VpcEndpointType="Interface",
        PrivateDnsEnabled=True,
        SubnetIds=network["private_subnet_ids"][:1],
    )["VpcEndpoint"]["VpcEndpointId"]
    undo.append(lambda: ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint]))
    sts = next(
        e
        for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
        if e["ServiceName"] == f"com.amazonaws.{REGION}.sts"
    )
    planted["endpoint policy"] = sts["VpcEndpointId"]
    ec2.modify_vpc_endpoint(
        VpcEndpointId=sts["VpcEndpointId"],
        PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:*", "Resource": "*"}]}
        ),
    )
    # moto has no --reset-policy: the original document goes back.
    undo.append(
        lambda: ec2.modify_vpc_endpoint(VpcEndpointId=sts["VpcEndpointId"], PolicyDocument=sts["PolicyDocument"])
    )
    role = planted["role inline policy"] = f"{prefix}-flow-logs"
    iam.put_role_policy(
        RoleName=role,
        PolicyName="added-by-hand",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    undo.append(lambda: iam.delete_role_policy(RoleName=role, PolicyName="added-by-hand"))
    return planted


@pytest.fixture(scope="session")
def drift_runs(emu: Emulator, deployed: Deployment) -> DriftRuns:
    """`drift` of the untouched state stack and `audit` of the untouched environment; then a tag
    changed by hand and every breach above planted, `drift` of the network and `audit` again.

    Everything planted is removed before the fixture returns, so other tests never see it.
    """
    clean = emu.workflow("drift", "--stacks", "state", plans="drift-clean")
    audit_clean = emu.workflow("audit", plans="audit-clean")
    ec2, vpc_id = emu.client("ec2"), deployed.network["vpc_id"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Owner", "Value": "changed-by-hand"}])
    undo: list[Any] = [lambda: ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "Owner"}])]
    try:
        planted = _plant(ec2, emu.client("iam"), deployed.network, emu.config.name_prefix, undo)
        drifted = emu.workflow("drift", "--stacks", "network", plans="drift-network")
        audit = emu.workflow("audit", plans="audit-breached")
    finally:
        for step in reversed(undo):
            step()
    return DriftRuns(clean, audit_clean, drifted, audit, planted)


def test_drift_of_an_untouched_stack_exits_0(emu, drift_runs):
    assert drift_runs.clean.returncode == 0, describe(drift_runs.clean)
    assert "state: no drift" in drift_runs.clean.stdout
    report = (emu.plan_dir("drift-clean") / "review.md").read_text()
    assert "## Drift: none" in report and report.index("## Drift: none") < report.index("## Summary")
    # make drift audits the live boundary too: the untouched one keeps every rule.
    assert "## Live isolation audit: no breach" in report


def test_the_audit_of_the_untouched_environment_exits_0_and_reads_what_the_stacks_describe(emu, drift_runs, deployed):
    proc = drift_runs.audit_clean
    assert proc.returncode == 0, describe(proc)
    report = (emu.plan_dir("audit-clean") / "audit.md").read_text()
    assert "## Live isolation audit: no breach" in report
    assert (
        f"- VPC {deployed.network['vpc_id']} ({emu.config.network.vpc_cidr}): 3 route tables, 3 security groups"
        in report
    )
    assert f"- bucket {emu.config.state.bucket}" in report
    assert "- role studio-emu-flow-logs (1 inline, 0 managed)" in report
    # What the emulator cannot hold is said, never skipped silently.
    assert "- domain studio-emu: not found (the workload is not deployed)" in report
    assert "- role studio-emu-studio-execution: does not exist (not deployed)" in report
    assert (
        "- DNS firewall (its association, rules and fail-closed setting): the emulator has no Route 53 Resolver"
        in report
    )
    assert "- the lab buckets' refusal of the execution role outside our S3 endpoint: moto applies a Deny" in report


def test_a_tag_changed_out_of_band_is_reported_as_drift_with_exit_2(emu, drift_runs):
    proc = drift_runs.drifted
    assert proc.returncode == 2, describe(proc)
    assert "network: DRIFT" in proc.stdout
    report = (emu.plan_dir("drift-network") / "review.md").read_text()
    vpc_row = next(line for line in report.splitlines() if line.startswith("| `aws_vpc."))
    assert "changed" in vpc_row and "tags" in vpc_row


def _row(report: str, *parts: str) -> str:
    rows = [line for line in report.splitlines() if line.startswith("|") and all(p in line for p in parts)]
    assert len(rows) == 1, f"{parts} in {len(rows)} rows of:\n{report}"
    return rows[0]


# breach -> what the drift report's boundary table says of it (a plan sees it), or None (only the audit does)
DRIFT_SEES = {
    "ssh": (
        "`aws_security_group.studio-security-group_",
        "rule ingress tcp port 22 from 0.0.0.0/0 added outside Terraform",
        "**leaves it in place**",
        "revoke-security-group-ingress",
    ),
    "default route": (
        "`aws_route_table.vpc_private-route-table-0_",
        "route to 0.0.0.0/0 through gateway_id=igw-",
        "**leaves it in place**",
        "aws ec2 delete-route",
    ),
    # The stacks set the policy (aws_vpc_endpoint_policy): the plan puts it back.
    "endpoint policy": (
        "`aws_vpc_endpoint_policy.endpoints_policy-sts_",
        "policy: added Allow sts:* on * for *",
        "changes it back",
        "`make deploy STACKS=network` changes it back",
    ),
    # The role's inline policies are exclusive (modules/exclusive_role_policies.py): moto answers the
    # provider's ListRolePolicies, so the plan changes the exclusive resource and a deploy deletes it.
    "role inline policy": (
        "`aws_iam_role.flow-log_role_",
        "inline policy added-by-hand added outside Terraform",
        "changes it back",
        "`make deploy STACKS=network` deletes it",
        "aws iam delete-role-policy",
    ),
}
# breach -> the audit's rule
AUDIT_SEES = {
    "ssh": "rules-stay-inside",
    "internet gateway": "no-gateways",
    "default route": "no-route-out",
    "peering connection": "no-attachments",
    "transit gateway attachment": "no-attachments",
    "new endpoint": "no-new-endpoints",
    "endpoint policy": "endpoint-policies",
    "role inline policy": "role-policies",
}


@pytest.mark.parametrize("breach", sorted(set(DRIFT_SEES) | set(AUDIT_SEES)))
def test_make_drift_reports_every_breach_planted_out_of_band_with_exit_2(emu, drift_runs, breach):
    """The issue's breaches, each planted in the deployed network: `make drift` says so, exit 2."""
    assert drift_runs.drifted.returncode == 2, describe(drift_runs.drifted)
    report = (emu.plan_dir("drift-network") / "review.md").read_text()
    if breach in DRIFT_SEES:  # the refresh found it: the boundary table, though no plan removes it
        boundary = report.split("The isolation boundary was changed outside Terraform", 1)[1].split("\n\n", 2)[1]
        assert _row(boundary, *DRIFT_SEES[breach])
    if breach in AUDIT_SEES:  # no plan can see it: the live audit's section of the drift report
        breaches = report.split("## ISOLATION BREACHES", 1)[1].split("\n## ", 1)[0]
        assert _row(breaches, f"| {AUDIT_SEES[breach]} |", drift_runs.planted[breach])


@pytest.mark.parametrize("breach", sorted(AUDIT_SEES))
def test_make_audit_reports_every_breach_the_live_boundary_shows_with_exit_2(emu, drift_runs, breach):
    assert drift_runs.audit.returncode == 2, describe(drift_runs.audit)
    report = (emu.plan_dir("audit-breached") / "audit.md").read_text()
    row = _row(report, f"| {AUDIT_SEES[breach]} |", drift_runs.planted[breach])
    # With the command that removes it (an edited endpoint policy: the deploy that puts the stacks' back).
    assert any(command in row for command in ("| aws ec2 ", "| aws iam ", "| `make deploy STACKS=network`"))
    assert "BREACH " in drift_runs.audit.stdout and drift_runs.planted[breach] in drift_runs.audit.stdout


# --------------------------------------------------------------------------- locking


def _read_until(proc: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    assert proc.stdout is not None
    seen, deadline = "", time.monotonic() + timeout_s
    while marker not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            raise AssertionError(f"no {marker!r} from terraform within {timeout_s} s:\n{seen}")
        ready, _, _ = select.select([proc.stdout], [], [], min(remaining, 1))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536).decode()
            seen += chunk
    return seen


def _state_version(emu: Emulator) -> str:
    head = emu.client("s3").head_object(Bucket=emu.config.state.bucket, Key=emu.config.state_key("network"))
    return head.get("VersionId") or head["ETag"]


def test_a_second_run_fails_on_the_lock_while_another_holds_it(emu, deployed):
    version_before = _state_version(emu)
    env = {**emu.terraform_env(), "TF_INPUT": "1"}
    # `apply -destroy` takes the lock and keeps it while it waits at the approval prompt; the
    # answer it gets below is "no".
    holder = subprocess.Popen(
        ["terraform", "apply", "-destroy", "-no-color"],
        cwd=emu.stack_dir("network"),
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # The competitor is a colleague's run: the same synthesized app in another checkout.
    other_checkout = emu.root / "other-checkout" / "cdktf.out"
    shutil.copytree(emu.outdir, other_checkout, ignore=shutil.ignore_patterns(".terraform", "*.tfplan"))
    try:
        _read_until(holder, "Enter a value:", TERRAFORM_TIMEOUT_S)
        second = emu.workflow(
            "plan", "--stacks", "network", "--lock-timeout", "1s", plans="locked", outdir=other_checkout
        )
        holder_out = holder.communicate(input="no\n", timeout=60)[0]
    finally:
        if holder.poll() is None:
            holder.send_signal(signal.SIGINT)
            holder.wait(timeout=60)

    assert second.returncode == 1, describe(second)
    assert "Error acquiring the state lock" in second.stderr
    assert "OperationTypeApply" in second.stderr  # it names who holds the lock
    assert "Destroy cancelled" in holder_out
    # Nothing was written, the lock is released, and the network is still there.
    assert _state_version(emu) == version_before
    lock_id = f"{emu.config.state.bucket}/{emu.config.state_key('network')}"
    item = emu.client("dynamodb").get_item(TableName=emu.config.state.lock_table, Key={"LockID": {"S": lock_id}})
    assert "Item" not in item
    assert emu.client("ec2").describe_vpcs(VpcIds=[deployed.network["vpc_id"]])["Vpcs"]


# --------------------------------------------------------------------------- target checks


def test_deploy_refuses_when_the_configured_account_is_not_the_credentials_account(emu, moto, tmp_path):
    """Outside emulator mode the account check is on; moto's STS answers for 123456789012."""
    text = EMULATOR_CONFIG.read_text().split("\n[emulator]\n")[0]
    config = tmp_path / "other-account.toml"
    text = text.replace(f'account_id = "{MOTO_ACCOUNT}"', 'account_id = "111111111111"')
    # Not an emulator file any more: its bootstrap state may not live in the emulator's place.
    text = text.replace("terraform-state/emulator/state.tfstate", "terraform-state/other-account/state.tfstate")
    config.write_text(text)
    env = {**emu.env, "STUDIO_CONFIG": str(config), "AWS_ENDPOINT_URL": moto.endpoint}
    env.pop("STUDIO_EMULATOR_ENDPOINT")

    proc = emu.workflow("deploy", "--yes", plans="refused", env=env, timeout_s=60)

    assert proc.returncode == 2, describe(proc)
    assert (
        f"credentials are for account {MOTO_ACCOUNT} but the configuration 'emulator' expects "
        "111111111111; refusing to deploy"
    ) in proc.stderr
    assert not emu.plan_dir("refused").exists(), "nothing may be planned for a refused target"


def test_deploy_refuses_to_create_a_state_bucket_under_the_bare_default_name(emu, moto, tmp_path):
    """Neither project.account_id nor state.bucket: the bucket would be the bare <prefix>-tfstate."""
    text = EMULATOR_CONFIG.read_text()
    text = text.replace(f'account_id = "{MOTO_ACCOUNT}"\n', "").replace('bucket = "studio-emu-tfstate"\n', "")
    text = text.replace('name_prefix = "studio-emu"', 'name_prefix = "studio-bare"')
    config = tmp_path / "bare.toml"
    config.write_text(text)

    proc = emu.workflow("deploy", "--yes", plans="bare", env={**emu.env, "STUDIO_CONFIG": str(config)}, timeout_s=120)

    assert proc.returncode == 2, describe(proc)
    assert "the state bucket studio-bare-tfstate does not exist yet, and deploy does not create it" in proc.stderr
    assert not emu.plan_dir("bare").exists(), "refused before anything is planned"
    assert "studio-bare-tfstate" not in {b["Name"] for b in emu.client("s3").list_buckets()["Buckets"]}
