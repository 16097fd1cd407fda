"""The live audit against moto: an environment built with boto3 as the stacks describe it passes,
and each out-of-band breach planted into it is found, with the command that removes it.

moto holds the VPC, its gateways, routes, peering and transit attachments, security groups,
endpoints and buckets (in process: no server, no Terraform). It has no Route 53 Resolver DNS
Firewall and no SageMaker domain that Terraform can create: those answers come from
botocore's Stubber, validated against the services' models. The same audit against a
Terraform-deployed environment is in tests/e2e/emulator/test_emulator_e2e.py and test_emulator_workload.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from isolated_studio.checks import boundary
from isolated_studio.config.emulator import AWS, EmulatorProfile
from isolated_studio.ops import audit
from isolated_studio.ops.audit import Target

REGION = "us-west-2"
ACCOUNT = "123456789012"  # moto's
CIDR = "10.20.0.0/16"
TAGS = {"StudioPrefix": "t", "Environment": "test"}
MOTO = EmulatorProfile(True, "http://127.0.0.1:4566")
LAB = f"t-lab-{ACCOUNT}-{REGION}"
BLOCK = {
    "block_public_acls": True,
    "ignore_public_acls": True,
    "block_public_policy": True,
    "restrict_public_buckets": True,
}


def rule(direction: str, port: int, **target: str) -> dict[str, Any]:
    return {
        "security_group_id": "${aws_security_group.studio.id}",
        "ip_protocol": "tcp",
        "from_port": port,
        "to_port": port,
        **target,
    }


ME = "${data.aws_caller_identity.account.account_id}"
# The endpoint statement of modules/endpoint_policies.py: our principals, to our resources.
OURS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OurPrincipalsToOurResources",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:PrincipalAccount": ME},
                    "StringEqualsIfExists": {"aws:ResourceAccount": ME},
                },
            }
        ],
    }
)
ALLOWED = [f"*.{REGION}.amazonaws.com", "*.compute.internal"]


def statement(sid: str, effect: str, actions: list[str], resources: list[str], **condition: Any) -> dict[str, Any]:
    """A statement of an aws_iam_policy_document, as cdktf synthesizes it."""
    return {
        "sid": sid,
        "effect": effect,
        "actions": actions,
        "resources": resources,
        "condition": [
            {"test": test, "variable": variable, "values": values} for test, (variable, values) in condition.items()
        ],
    }


# What the stacks synthesize (the shape cdktf writes), small: the network and the workload.
NETWORK = {
    "data": {"aws_caller_identity": {"account": {}}},
    "resource": {
        "aws_vpc": {"vpc": {"cidr_block": CIDR}},
        "aws_subnet": {
            f"s{i}": {"vpc_id": "${aws_vpc.vpc.id}", "cidr_block": f"10.20.{i}.0/24", "map_public_ip_on_launch": False}
            for i in (0, 1)
        },
        "aws_route_table": {f"r{i}": {"vpc_id": "${aws_vpc.vpc.id}"} for i in (0, 1)},
        "aws_default_security_group": {"default": {"vpc_id": "${aws_vpc.vpc.id}", "ingress": [], "egress": []}},
        "aws_security_group": {
            "studio": {"name": "t-studio", "vpc_id": "${aws_vpc.vpc.id}"},
            "endpoints": {"name": "t-endpoints", "vpc_id": "${aws_vpc.vpc.id}"},
        },
        "aws_vpc_security_group_ingress_rule": {
            "nfs": rule("in", 2049, cidr_ipv4=CIDR),
            "apps": rule("in", 8192, referenced_security_group_id="${aws_security_group.studio.id}"),
            "https": {**rule("in", 443, cidr_ipv4=CIDR), "security_group_id": "${aws_security_group.endpoints.id}"},
        },
        "aws_vpc_security_group_egress_rule": {
            "s3": rule("out", 443, prefix_list_id="${aws_vpc_endpoint.s3.prefix_list_id}"),
            "endpoints": rule("out", 443, cidr_ipv4=CIDR),
        },
        "aws_vpc_endpoint": {
            "s3": {
                "vpc_id": "${aws_vpc.vpc.id}",
                "service_name": f"com.amazonaws.{REGION}.s3",
                "vpc_endpoint_type": "Gateway",
                "route_table_ids": ["${aws_route_table.r0.id}", "${aws_route_table.r1.id}"],
            },
            "sts": {
                "vpc_id": "${aws_vpc.vpc.id}",
                "service_name": f"com.amazonaws.{REGION}.sts",
                "vpc_endpoint_type": "Interface",
                "private_dns_enabled": True,
                "subnet_ids": ["${aws_subnet.s0.id}"],
                "security_group_ids": ["${aws_security_group.endpoints.id}"],
            },
        },
        "aws_vpc_endpoint_policy": {
            name: {"vpc_endpoint_id": f"${{aws_vpc_endpoint.{name}.id}}", "policy": OURS} for name in ("s3", "sts")
        },
        "aws_route53_resolver_firewall_rule_group": {"dns": {"name": "t-dns"}},
        "aws_route53_resolver_firewall_domain_list": {
            "allowed": {"name": "t-allowed", "domains": ALLOWED},
            "everything": {"name": "t-everything-else", "domains": ["*"]},
        },
        "aws_route53_resolver_firewall_rule": {
            rule: {
                "name": rule,
                "action": action,
                "priority": priority,
                "firewall_rule_group_id": "${aws_route53_resolver_firewall_rule_group.dns.id}",
                "firewall_domain_list_id": f"${{aws_route53_resolver_firewall_domain_list.{domains}.id}}",
            }
            for rule, action, priority, domains in (
                ("allow", "ALLOW", 100, "allowed"),
                ("block", "BLOCK", 200, "everything"),
            )
        },
        "aws_route53_resolver_firewall_rule_group_association": {
            "dns": {
                "vpc_id": "${aws_vpc.vpc.id}",
                "firewall_rule_group_id": "${aws_route53_resolver_firewall_rule_group.dns.id}",
                "priority": 101,
            }
        },
        "aws_route53_resolver_firewall_config": {
            "dns": {"resource_id": "${aws_vpc.vpc.id}", "firewall_fail_open": "DISABLED"}
        },
    },
    "output": {
        "s3_endpoint": {"value": "${aws_vpc_endpoint.s3.id}"},
        "subnets": {"value": ["${aws_subnet.s0.id}", "${aws_subnet.s1.id}"]},
        "studio_sg": {"value": "${aws_security_group.studio.id}"},
        "vpc": {"value": "${aws_vpc.vpc.id}"},
    },
}
WORKLOAD = {
    "data": {
        "aws_caller_identity": {"account": {}},
        "terraform_remote_state": {"network": {}},
        "aws_iam_policy_document": {
            "lab": {
                "statement": [
                    {
                        "sid": "DenyInsecureTransport",
                        "effect": "Deny",
                        "actions": ["s3:*"],
                        "principals": [{"type": "AWS", "identifiers": ["*"]}],
                        "resources": ["${aws_s3_bucket.lab.arn}", "${aws_s3_bucket.lab.arn}/*"],
                        "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
                    },
                    # The data perimeter's requirement (issue 22): only through this VPC's S3 endpoint.
                    {
                        "sid": "OnlyThroughTheStudioEndpoint",
                        "effect": "Deny",
                        "actions": ["s3:*"],
                        "principals": [{"type": "AWS", "identifiers": ["*"]}],
                        "resources": ["${aws_s3_bucket.lab.arn}", "${aws_s3_bucket.lab.arn}/*"],
                        "condition": [
                            {
                                "test": "StringNotEquals",
                                "variable": "aws:SourceVpce",
                                "values": ["${data.terraform_remote_state.network.outputs.s3_endpoint}"],
                            }
                        ],
                    },
                    {
                        "sid": "LabRoleReadWrite",
                        "effect": "Allow",
                        "actions": ["s3:GetObject", "s3:PutObject"],
                        "principals": [{"type": "AWS", "identifiers": ["${aws_iam_role.exec.arn}"]}],
                        "resources": ["${aws_s3_bucket.lab.arn}/*"],
                    },
                ]
            },
            # The execution role's guardrails and its grant (modules/studio_roles.py), a few statements of each.
            "guardrails": {
                "statement": [
                    statement(
                        "NoOtherAccountsResources",
                        "Deny",
                        ["*"],
                        ["*"],
                        StringNotEquals=("aws:ResourceAccount", [ME]),
                        Null=("aws:ResourceAccount", ["false"]),
                    ),
                    statement(
                        "NoNewNetworkPaths", "Deny", ["ec2:CreateVpcEndpoint", "ec2:CreateVpcPeeringConnection"], ["*"]
                    ),
                    statement("NoResourcePoliciesOrSharing", "Deny", ["s3:PutBucketPolicy"], ["*"]),
                ]
            },
            "lab_data": {
                "statement": [
                    statement("LabObjects", "Allow", ["s3:GetObject", "s3:PutObject"], ["${aws_s3_bucket.lab.arn}/*"])
                ]
            },
            "boundary": {
                "statement": [statement("ServicesOfTheReviewedPolicies", "Allow", ["s3:*", "sagemaker:*"], ["*"])]
            },
        },
    },
    "resource": {
        "aws_iam_role": {"exec": {"name": "t-exec", "permissions_boundary": "${aws_iam_policy.boundary.arn}"}},
        "aws_iam_policy": {
            "boundary": {"name": "t-exec-boundary", "policy": "${data.aws_iam_policy_document.boundary.json}"}
        },
        "aws_iam_role_policy": {
            name: {
                "name": name,
                "role": "${aws_iam_role.exec.id}",
                "policy": f"${{data.aws_iam_policy_document.{name.replace('-', '_')}.json}}",
            }
            for name in ("guardrails", "lab-data")
        },
        "aws_iam_role_policies_exclusive": {
            "exec": {
                "role_name": "${aws_iam_role.exec.name}",
                "policy_names": ["${aws_iam_role_policy.guardrails.name}", "${aws_iam_role_policy.lab-data.name}"],
            }
        },
        "aws_s3_bucket": {"lab": {"bucket": f"t-lab-${{data.aws_caller_identity.account.account_id}}-{REGION}"}},
        "aws_s3_bucket_policy": {
            "lab": {"bucket": "${aws_s3_bucket.lab.id}", "policy": "${data.aws_iam_policy_document.lab.json}"}
        },
        "aws_s3_bucket_public_access_block": {"lab": {"bucket": "${aws_s3_bucket.lab.id}", **BLOCK}},
        "aws_sagemaker_domain": {
            "studio": {
                "domain_name": "t-studio",
                "app_network_access_type": "VpcOnly",
                "vpc_id": "${data.terraform_remote_state.network.outputs.vpc}",
                "subnet_ids": "${data.terraform_remote_state.network.outputs.subnets}",
                "default_user_settings": {
                    "execution_role": "${aws_iam_role.exec.arn}",
                    "security_groups": ["${data.terraform_remote_state.network.outputs.studio_sg}"],
                },
            }
        },
    },
}
EXPECTED = boundary.from_stacks({"network": NETWORK, "workload": WORKLOAD}, account=ACCOUNT, region=REGION)


@dataclass
class Deployed:
    """The environment as boto3 built it, its ids, and the answers of the stubbed services."""

    ec2: Any
    s3: Any
    vpc: str
    subnets: list[str]
    tables: list[str]
    groups: dict[str, str]
    endpoints: dict[str, str]
    policy: dict[str, Any]
    domain: dict[str, Any] = field(default_factory=dict)
    dns_associations: list[dict[str, Any]] = field(default_factory=list)
    dns_rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # rule group -> its rules
    dns_domains: dict[str, list[str]] = field(default_factory=dict)  # domain list -> its names
    fail_open: str = "DISABLED"
    iam: Any = None
    boundary: str = ""  # the execution role's permissions boundary

    def put_policy(self, statements: list[dict[str, Any]]) -> None:
        self.s3.put_bucket_policy(Bucket=LAB, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))


def deploy(clients: Clients) -> Deployed:
    """What `make deploy` of NETWORK and WORKLOAD leaves in AWS, made with boto3."""
    ec2, s3, iam = clients("ec2"), clients("s3"), clients("iam")
    vpc = ec2.create_vpc(
        CidrBlock=CIDR,
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()]}],
    )["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24")["Subnet"]["SubnetId"] for i in (0, 1)]
    tables = [ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"] for _ in subnets]
    for subnet, table in zip(subnets, tables):
        ec2.associate_route_table(SubnetId=subnet, RouteTableId=table)
    groups = {
        name: ec2.create_security_group(GroupName=f"t-{name}", Description=name, VpcId=vpc)["GroupId"]
        for name in ("studio", "endpoints")
    }
    # Terraform removes the allow-all egress AWS puts in every new group, and all rules of the default group.
    for group in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]:
        if group["IpPermissionsEgress"]:
            ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
        if group["IpPermissions"]:
            ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    policies = {e.service: json.dumps(e.policy) for e in EXPECTED.endpoints}
    s3_endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=tables,
        PolicyDocument=policies[f"com.amazonaws.{REGION}.s3"],
    )["VpcEndpoint"]["VpcEndpointId"]
    sts = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.sts",
        VpcEndpointType="Interface",
        PrivateDnsEnabled=True,
        SubnetIds=subnets[:1],
        SecurityGroupIds=[groups["endpoints"]],
        PolicyDocument=policies[f"com.amazonaws.{REGION}.sts"],
    )["VpcEndpoint"]["VpcEndpointId"]
    prefix_list = ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{REGION}.s3"]}]
    )["PrefixLists"][0]["PrefixListId"]
    studio = groups["studio"]
    ec2.authorize_security_group_ingress(
        GroupId=studio,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "IpRanges": [{"CidrIp": CIDR}]},
            {"IpProtocol": "tcp", "FromPort": 8192, "ToPort": 8192, "UserIdGroupPairs": [{"GroupId": studio}]},
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=studio,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": prefix_list}]}
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=studio,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": CIDR}]}],
    )
    ec2.authorize_security_group_ingress(
        GroupId=groups["endpoints"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": CIDR}]}],
    )
    (expected_role,) = EXPECTED.roles
    boundary_arn = iam.create_policy(
        PolicyName="t-exec-boundary", PolicyDocument=json.dumps(expected_role.boundary_policy)
    )["Policy"]["Arn"]
    role = iam.create_role(RoleName="t-exec", AssumeRolePolicyDocument="{}", PermissionsBoundary=boundary_arn)["Role"][
        "Arn"
    ]
    for name, document in expected_role.inline.items():
        iam.put_role_policy(RoleName="t-exec", PolicyName=name, PolicyDocument=json.dumps(document))
    s3.create_bucket(Bucket=LAB, CreateBucketConfiguration={"LocationConstraint": REGION})
    policy = json.loads(json.dumps(EXPECTED.buckets[0].policy).replace("aws_vpc_endpoint.s3", s3_endpoint))
    policy["Statement"][2]["Principal"] = {"AWS": role}
    s3.put_bucket_policy(Bucket=LAB, Policy=json.dumps(policy))
    s3.put_public_access_block(
        Bucket=LAB,
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        ),
    )
    domain = {
        "DomainId": "d-abcdef123456",
        "DomainName": "t-studio",
        "AppNetworkAccessType": "VpcOnly",
        "VpcId": vpc,
        "SubnetIds": subnets,
        "DefaultUserSettings": {"ExecutionRole": role, "SecurityGroups": [studio]},
    }
    associations = [
        {
            "Id": "rslvr-frgassoc-1",
            "FirewallRuleGroupId": "rslvr-frg-1",
            "VpcId": vpc,
            "Priority": 101,
            "Status": "COMPLETE",
            "Name": "t-dns",
        }
    ]
    rules = {
        "rslvr-frg-1": [
            {
                "FirewallRuleGroupId": "rslvr-frg-1",
                "FirewallDomainListId": "rslvr-fdl-allowed",
                "Name": "allow",
                "Priority": 100,
                "Action": "ALLOW",
            },
            {
                "FirewallRuleGroupId": "rslvr-frg-1",
                "FirewallDomainListId": "rslvr-fdl-everything",
                "Name": "block",
                "Priority": 200,
                "Action": "BLOCK",
                "BlockResponse": "NXDOMAIN",
            },
        ]
    }
    # Route 53 Resolver answers with the names fully qualified.
    domains = {"rslvr-fdl-allowed": [f"{d}." for d in ALLOWED], "rslvr-fdl-everything": ["*"]}
    return Deployed(
        ec2,
        s3,
        vpc,
        subnets,
        tables,
        groups,
        {"s3": s3_endpoint, "sts": sts},
        policy,
        domain,
        associations,
        rules,
        domains,
        iam=iam,
        boundary=boundary_arn,
    )


class Clients:
    """One boto3 client per service for the module (creating one costs ~0.1 s): moto's in-process
    mock answers them; SageMaker and Route 53 Resolver answer through a Stubber per audit."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: list[Stubber] = []

    def __call__(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(service, region_name=REGION)
        return self.clients[service]


@pytest.fixture(scope="module")
def clients() -> Iterator[Clients]:
    with pytest.MonkeyPatch.context() as patch:
        # moto's EC2 loads ~2,600 sample AMIs into every fresh account (0.2 s a test); none is needed.
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        with mock_aws() as mock:
            made = Clients()
            made.mock = mock  # type: ignore[attr-defined]
            yield made


@pytest.fixture
def deployed(clients: Clients) -> Iterator[Deployed]:
    clients.mock.reset()  # type: ignore[attr-defined]  # every test starts from an empty account
    deployed = deploy(clients)
    deployed.clients = clients  # type: ignore[attr-defined]
    yield deployed


def stubbed(deployed: Deployed) -> dict[str, Any]:
    """SageMaker and Route 53 Resolver answering as AWS would for the deployed domain and DNS firewall."""
    sagemaker, resolver = (deployed.clients(s) for s in ("sagemaker", "route53resolver"))  # type: ignore[attr-defined]
    clients = deployed.clients  # type: ignore[attr-defined]
    # A Stubber registers under a fixed id: the previous audit's must go first, or it answers.
    for stub in clients.stubs:
        stub.deactivate()
    stub = Stubber(sagemaker)
    clients.stubs = [stub]
    domains = [deployed.domain] if deployed.domain else []
    stub.add_response(
        "list_domains",
        {
            "Domains": [
                {"DomainId": d["DomainId"], "DomainName": d["DomainName"], "Status": "InService"} for d in domains
            ]
        },
        {},
    )
    for d in domains:
        stub.add_response("describe_domain", {**d, "Status": "InService"}, {"DomainId": d["DomainId"]})
    stub.activate()
    stub = Stubber(resolver)
    clients.stubs.append(stub)
    stub.add_response(
        "list_firewall_rule_group_associations",
        {"FirewallRuleGroupAssociations": deployed.dns_associations},
        {"VpcId": deployed.vpc},
    )
    listed: set[str] = set()
    for association in deployed.dns_associations:
        group = association["FirewallRuleGroupId"]
        stub.add_response(
            "get_firewall_rule_group",
            {"FirewallRuleGroup": {"Id": group, "Name": association["Name"]}},
            {"FirewallRuleGroupId": group},
        )
        stub.add_response(
            "list_firewall_rules", {"FirewallRules": deployed.dns_rules.get(group, [])}, {"FirewallRuleGroupId": group}
        )
        for rule in deployed.dns_rules.get(group, []):
            if rule["FirewallDomainListId"] not in listed:
                listed.add(rule["FirewallDomainListId"])
                stub.add_response(
                    "list_firewall_domains",
                    {"Domains": deployed.dns_domains[rule["FirewallDomainListId"]]},
                    {"FirewallDomainListId": rule["FirewallDomainListId"]},
                )
    stub.add_response(
        "get_firewall_config",
        {
            "FirewallConfig": {
                "Id": "rslvr-fc-1",
                "ResourceId": deployed.vpc,
                "OwnerId": ACCOUNT,
                "FirewallFailOpen": deployed.fail_open,
            }
        },
        {"ResourceId": deployed.vpc},
    )
    stub.activate()
    return {"sagemaker": sagemaker, "route53resolver": resolver}


def run(deployed: Deployed, *, emulator: bool = False, out_of_scope: set[str] = frozenset()) -> audit.AuditResult:
    stubs = stubbed(deployed)
    return audit.audit(
        lambda service: stubs.get(service) or deployed.clients(service),  # type: ignore[attr-defined]
        Target(TAGS, EXPECTED, MOTO if emulator else AWS, out_of_scope=frozenset(out_of_scope)),
    )


def test_an_untouched_environment_passes_and_the_report_says_what_was_read(deployed):
    result = run(deployed)

    assert [f.line() for f in result.findings] == [] and result.exit_code == audit.EXIT_CLEAN
    assert result.unchecked == []
    assert result.checked == [
        f"VPC {deployed.vpc} (10.20.0.0/16): 3 route tables, 3 security groups (5 rules), 2 endpoints",
        "domain t-studio (d-abcdef123456, VpcOnly)",
        f"bucket {LAB}",
        "role t-exec (2 inline, 0 managed, a permissions boundary)",
    ]


# --------------------------------------------------------------------------- one breach at a time


def attach_internet_gateway(d: Deployed) -> str:
    igw = d.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    d.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=d.vpc)
    return igw


def egress_only_gateway(d: Deployed) -> str:
    return d.ec2.create_egress_only_internet_gateway(VpcId=d.vpc)["EgressOnlyInternetGateway"][
        "EgressOnlyInternetGatewayId"
    ]


def nat_gateway(d: Deployed) -> str:
    allocation = d.ec2.allocate_address(Domain="vpc")["AllocationId"]
    return d.ec2.create_nat_gateway(SubnetId=d.subnets[0], AllocationId=allocation)["NatGateway"]["NatGatewayId"]


def vpn_gateway(d: Deployed) -> str:
    vgw = d.ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    d.ec2.attach_vpn_gateway(VpnGatewayId=vgw, VpcId=d.vpc)
    return vgw


def public_ip(d: Deployed) -> str:
    eni = d.ec2.create_network_interface(SubnetId=d.subnets[0])["NetworkInterface"]["NetworkInterfaceId"]
    d.ec2.associate_address(AllocationId=d.ec2.allocate_address(Domain="vpc")["AllocationId"], NetworkInterfaceId=eni)
    return eni


def default_route(d: Deployed) -> str:
    igw = d.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    d.ec2.create_route(RouteTableId=d.tables[0], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    return d.tables[0]


def peering(d: Deployed) -> str:
    other = d.ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    return d.ec2.create_vpc_peering_connection(VpcId=d.vpc, PeerVpcId=other)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"
    ]


def route_to_peering(d: Deployed) -> str:
    other = d.ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    pcx = d.ec2.create_vpc_peering_connection(VpcId=other, PeerVpcId=d.vpc)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"
    ]
    d.ec2.create_route(RouteTableId=d.tables[1], DestinationCidrBlock="10.99.0.0/16", VpcPeeringConnectionId=pcx)
    return d.tables[1]


def transit_attachment(d: Deployed) -> str:
    tgw = d.ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    return d.ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw, VpcId=d.vpc, SubnetIds=d.subnets[:1])[
        "TransitGatewayVpcAttachment"
    ]["TransitGatewayAttachmentId"]


def ssh_from_anywhere(d: Deployed) -> str:
    return d.ec2.authorize_security_group_ingress(
        GroupId=d.groups["studio"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]


def egress_outside_the_vpc(d: Deployed) -> str:
    return d.ec2.authorize_security_group_egress(
        GroupId=d.groups["studio"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "52.94.0.0/16"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]


def another_prefix_list(d: Deployed) -> str:
    dynamodb = d.ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{REGION}.dynamodb"]}]
    )["PrefixLists"][0]["PrefixListId"]
    return d.ec2.authorize_security_group_egress(
        GroupId=d.groups["studio"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": dynamodb}]}
        ],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]


def public_subnet(d: Deployed) -> str:
    d.ec2.modify_subnet_attribute(SubnetId=d.subnets[1], MapPublicIpOnLaunch={"Value": True})
    return d.subnets[1]


def new_endpoint(d: Deployed) -> str:
    return d.ec2.create_vpc_endpoint(
        VpcId=d.vpc,
        ServiceName=f"com.amazonaws.{REGION}.kms",
        VpcEndpointType="Interface",
        PrivateDnsEnabled=True,
        SubnetIds=d.subnets[:1],
    )["VpcEndpoint"]["VpcEndpointId"]


def endpoint_policy_edited(d: Deployed) -> str:
    d.ec2.modify_vpc_endpoint(
        VpcEndpointId=d.endpoints["s3"],
        PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    return d.endpoints["s3"]


def tls_statement_removed(d: Deployed) -> str:
    d.put_policy(d.policy["Statement"][1:])
    return LAB


def bucket_policy_deleted(d: Deployed) -> str:
    d.s3.delete_bucket_policy(Bucket=LAB)
    return LAB


def public_access_unblocked(d: Deployed) -> str:
    d.s3.delete_public_access_block(Bucket=LAB)
    return LAB


def another_networks_endpoint(d: Deployed) -> str:
    """The SourceVpce requirement pointed at an endpoint outside this VPC: its data leaves through it."""
    d.put_policy(
        [
            s
            if s.get("Sid") != "OnlyThroughTheStudioEndpoint"
            else {**s, "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}}
            for s in d.policy["Statement"]
        ]
    )
    return LAB


def domain_opened_to_the_internet(d: Deployed) -> str:
    d.domain["AppNetworkAccessType"] = "PublicInternetOnly"
    return d.domain["DomainId"]


def domain_in_other_subnets(d: Deployed) -> str:
    other = d.ec2.create_vpc(CidrBlock="10.98.0.0/16")["Vpc"]["VpcId"]
    subnet = d.ec2.create_subnet(VpcId=other, CidrBlock="10.98.0.0/24")["Subnet"]["SubnetId"]
    d.domain["SubnetIds"] = [d.subnets[0], subnet]
    return d.domain["DomainId"]


def dns_firewall_disassociated(d: Deployed) -> str:
    d.dns_associations.clear()
    return d.vpc


def lab_bucket_open_outside_the_endpoint(d: Deployed) -> str:
    d.put_policy([s for s in d.policy["Statement"] if s.get("Sid") != "OnlyThroughTheStudioEndpoint"])
    return LAB


def dns_block_rule_deleted(d: Deployed) -> str:
    d.dns_rules["rslvr-frg-1"] = [r for r in d.dns_rules["rslvr-frg-1"] if r["Action"] != "BLOCK"]
    return d.vpc


def dns_allow_rule_added(d: Deployed) -> str:
    """An ALLOW for someone's own domain, ahead of the BLOCK: its name server hears every query for it."""
    d.dns_rules["rslvr-frg-1"].insert(
        1,
        {
            "FirewallRuleGroupId": "rslvr-frg-1",
            "FirewallDomainListId": "rslvr-fdl-x",
            "Name": "by-hand",
            "Priority": 150,
            "Action": "ALLOW",
        },
    )
    d.dns_domains["rslvr-fdl-x"] = ["*.attacker.example."]
    return "t-dns"


def dns_allowed_list_widened(d: Deployed) -> str:
    d.dns_domains["rslvr-fdl-allowed"].append("*.attacker.example.")
    return "t-dns"


def dns_firewall_fails_open(d: Deployed) -> str:
    d.fail_open = "ENABLED"
    return d.vpc


def dns_rule_group_ahead_of_ours(d: Deployed) -> str:
    d.dns_associations.insert(
        0,
        {
            "Id": "rslvr-frgassoc-2",
            "FirewallRuleGroupId": "rslvr-frg-2",
            "VpcId": d.vpc,
            "Priority": 100,
            "Status": "COMPLETE",
            "Name": "allow-everything",
        },
    )
    d.dns_rules["rslvr-frg-2"] = [
        {
            "FirewallRuleGroupId": "rslvr-frg-2",
            "FirewallDomainListId": "rslvr-fdl-all",
            "Priority": 100,
            "Action": "ALLOW",
        }
    ]
    d.dns_domains["rslvr-fdl-all"] = ["*"]
    return "rslvr-frgassoc-2"


def role_inline_policy_added(d: Deployed) -> str:
    d.iam.put_role_policy(
        RoleName="t-exec",
        PolicyName="added-by-hand",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    return "t-exec"


def guardrail_removed(d: Deployed) -> str:
    guardrails = d.iam.get_role_policy(RoleName="t-exec", PolicyName="guardrails")["PolicyDocument"]
    guardrails["Statement"] = [s for s in guardrails["Statement"] if s.get("Sid") != "NoOtherAccountsResources"]
    d.iam.put_role_policy(RoleName="t-exec", PolicyName="guardrails", PolicyDocument=json.dumps(guardrails))
    return "t-exec"


def managed_policy_attached(d: Deployed) -> str:
    arn = d.iam.create_policy(
        PolicyName="by-hand",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    d.iam.attach_role_policy(RoleName="t-exec", PolicyArn=arn)
    return "t-exec"


def boundary_removed(d: Deployed) -> str:
    d.iam.delete_role_permissions_boundary(RoleName="t-exec")
    return "t-exec"


def boundary_widened(d: Deployed) -> str:
    d.iam.create_policy_version(
        PolicyArn=d.boundary,
        SetAsDefault=True,
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    return "t-exec"


# breach -> (plant it, the rule that must find it, the start of the command that removes it)
BREACHES: dict[str, tuple[Callable[[Deployed], str], str, str]] = {
    "internet gateway": (attach_internet_gateway, "no-gateways", "aws ec2 detach-internet-gateway"),
    "egress-only internet gateway": (egress_only_gateway, "no-gateways", "aws ec2 delete-egress-only-internet-gateway"),
    "NAT gateway": (nat_gateway, "no-gateways", "aws ec2 delete-nat-gateway"),
    "VPN gateway": (vpn_gateway, "no-gateways", "aws ec2 detach-vpn-gateway"),
    "public IP": (public_ip, "no-gateways", "disassociate it"),
    "default route": (default_route, "no-route-out", "aws ec2 delete-route"),
    "peering connection": (peering, "no-attachments", "aws ec2 delete-vpc-peering-connection"),
    "route to a peering connection": (route_to_peering, "no-route-out", "aws ec2 delete-route"),
    "transit gateway attachment": (
        transit_attachment,
        "no-attachments",
        "aws ec2 delete-transit-gateway-vpc-attachment",
    ),
    "SSH from 0.0.0.0/0": (ssh_from_anywhere, "rules-stay-inside", "aws ec2 revoke-security-group-ingress"),
    "egress outside the VPC": (egress_outside_the_vpc, "rules-stay-inside", "aws ec2 revoke-security-group-egress"),
    "egress to another prefix list": (another_prefix_list, "rules-stay-inside", "aws ec2 revoke-security-group-egress"),
    "subnet with public IPs": (public_subnet, "no-public-subnets", "aws ec2 modify-subnet-attribute"),
    "new endpoint": (new_endpoint, "no-new-endpoints", "aws ec2 delete-vpc-endpoints"),
    "endpoint policy edited": (endpoint_policy_edited, "endpoint-perimeter", "`make deploy STACKS=network`"),
    "bucket policy statement removed": (tls_statement_removed, "bucket-policies", "`make deploy STACKS=workload`"),
    "bucket policy deleted": (bucket_policy_deleted, "bucket-policies", "`make deploy STACKS=workload`"),
    "public access block removed": (
        public_access_unblocked,
        "public-access-block",
        "aws s3api put-public-access-block",
    ),
    "SourceVpce of another network": (another_networks_endpoint, "perimeter-source", "`make deploy STACKS=workload`"),
    "domain not VpcOnly": (domain_opened_to_the_internet, "domain-inside", "SageMaker cannot switch it back"),
    "domain in other subnets": (domain_in_other_subnets, "domain-inside", ""),
    "DNS firewall disassociated": (dns_firewall_disassociated, "dns-firewall", "`make deploy STACKS=network`"),
    "lab bucket open outside our endpoint": (
        lab_bucket_open_outside_the_endpoint,
        "lab-buckets-endpoint",
        "`make deploy STACKS=workload`",
    ),
    "DNS firewall's block rule deleted": (dns_block_rule_deleted, "dns-perimeter", "`make deploy STACKS=network`"),
    "DNS firewall rule allowing another name": (
        dns_allow_rule_added,
        "dns-firewall",
        "aws route53resolver delete-firewall-rule",
    ),
    "DNS firewall's allowed names widened": (dns_allowed_list_widened, "dns-firewall", "`make deploy STACKS=network`"),
    "DNS firewall fails open": (dns_firewall_fails_open, "dns-perimeter", "aws route53resolver update-firewall-config"),
    "DNS rule group associated ahead of ours": (
        dns_rule_group_ahead_of_ours,
        "dns-firewall",
        "aws route53resolver disassociate-firewall-rule-group",
    ),
    "inline policy put on the execution role": (
        role_inline_policy_added,
        "role-policies",
        "aws iam delete-role-policy",
    ),
    "a guardrail removed": (guardrail_removed, "role-policies", "`make deploy STACKS=workload`"),
    "managed policy attached to the execution role": (
        managed_policy_attached,
        "role-policies",
        "aws iam detach-role-policy",
    ),
    "permissions boundary removed": (boundary_removed, "role-policies", "`make deploy STACKS=workload`"),
    "permissions boundary widened": (boundary_widened, "role-policies", "`make deploy STACKS=workload`"),
}
# What a breach brings along: a NAT gateway has a public IP; a changed SourceVpce is also a changed statement;
# a new endpoint or an edited policy lets other accounts through; a firewall gone or opened both differs from
# the stacks and lets names through.
ALSO = {
    "NAT gateway": {"no-gateways"},
    "SourceVpce of another network": {"bucket-policies"},
    "route to a peering connection": {"no-attachments"},
    "new endpoint": {"endpoint-perimeter"},
    "endpoint policy edited": {"endpoint-policies"},
    "DNS firewall disassociated": {"dns-perimeter"},
    "lab bucket open outside our endpoint": {"bucket-policies"},
    "DNS firewall's block rule deleted": {"dns-firewall"},
    "DNS rule group associated ahead of ours": {"dns-perimeter"},
}


@pytest.mark.parametrize("breach", list(BREACHES))
def test_each_breach_planted_out_of_band_is_found_with_exit_2(deployed, breach):
    plant, rule, fix = BREACHES[breach]
    where = plant(deployed)

    result = run(deployed)

    assert result.exit_code == audit.EXIT_BREACH
    found = [f for f in result.findings if f.rule == rule and where in f.subject]
    assert found, [f.line() for f in result.findings]
    assert found[0].fix.startswith(fix)
    assert {f.rule for f in result.findings} <= {rule} | ALSO.get(breach, set()), [f.line() for f in result.findings]


def test_the_ssh_rule_is_named_by_its_rule_id_with_the_command_that_revokes_exactly_it(deployed):
    rule_id = ssh_from_anywhere(deployed)
    (finding,) = run(deployed).findings
    assert (
        finding.line()
        == f"{deployed.groups['studio']} {rule_id}: ingress tcp port 22 from 0.0.0.0/0: open to the internet"
    )
    assert finding.fix == (
        f"aws ec2 revoke-security-group-ingress --group-id {deployed.groups['studio']} "
        f"--security-group-rule-ids {rule_id}"
    )


def test_a_domain_someone_else_made_in_the_vpc_is_audited_too(deployed):
    deployed.domain.update(DomainId="d-000000000000", DomainName="shadow", AppNetworkAccessType="PublicInternetOnly")
    result = run(deployed)
    assert [f.message for f in result.findings if f.rule == "domain-inside"] == [
        "domain shadow is PublicInternetOnly, not VpcOnly: its apps reach the internet through SageMaker's network"
    ]
    assert "domain t-studio: not found (the workload is not deployed)" in result.unchecked


# --------------------------------------------------------------------------- what is not there


def test_the_role_finding_names_what_was_added_and_the_command_that_removes_exactly_it(deployed):
    role_inline_policy_added(deployed)
    (finding,) = run(deployed).findings
    assert finding.line() == "t-exec: inline policy added-by-hand added outside Terraform (Allow s3:* on *)"
    assert finding.fix == (
        "aws iam delete-role-policy --role-name t-exec --policy-name added-by-hand "
        "(or `make deploy STACKS=workload`: the role's inline policies are exclusive)"
    )


def test_the_emulator_says_what_it_cannot_show_and_asks_nothing(deployed):
    """The emulator has no DNS firewall, and its lab buckets have no endpoint deny: each is not
    checked there, said in the report, and an environment without them is no breach."""
    dns_firewall_disassociated(deployed)  # would be a breach if it were read
    lab_bucket_open_outside_the_endpoint(deployed)
    # The emulator's synthesis leaves the endpoint deny out: its expectation does too.
    (bucket,) = EXPECTED.buckets
    expected = replace(
        EXPECTED,
        buckets=(
            replace(
                bucket,
                policy={
                    **bucket.policy,
                    "Statement": [
                        s for s in bucket.policy["Statement"] if s.get("Sid") != "OnlyThroughTheStudioEndpoint"
                    ],
                },
            ),
        ),
    )
    stubs = stubbed(deployed)
    result = audit.audit(
        lambda service: stubs.get(service) or deployed.clients(service),  # type: ignore[attr-defined]
        Target(TAGS, expected, MOTO),
    )
    assert [f.line() for f in result.findings] == []
    assert result.unchecked == [
        "the lab buckets' refusal of the execution role outside our S3 endpoint: moto applies a Deny without its "
        "condition, so the emulator's stacks leave that statement out (docs/perimeter.md)",
        "DNS firewall (its association, rules and fail-closed setting): the emulator has no Route 53 Resolver DNS Firewall",
    ]


def test_what_the_emulator_does_not_create_is_not_expected_and_is_said(deployed):
    deployed.iam.delete_role_policy(RoleName="t-exec", PolicyName="lab-data")
    result = run(
        deployed, emulator=True, out_of_scope={"aws_iam_role_policy.lab-data", "aws_iam_role_policies_exclusive.exec"}
    )
    assert [f.line() for f in result.findings] == []
    assert (
        "role t-exec: exclusive inline policies, inline policy lab-data: not created in the emulator (--emulator-scope)"
    ) in result.unchecked
    # What it does create is still checked there.
    role_inline_policy_added(deployed)
    assert [f.rule for f in run(deployed, emulator=True, out_of_scope={"aws_iam_role_policy.lab-data"}).findings] == [
        "role-policies"
    ]


def test_a_role_that_does_not_exist_is_listed_as_not_checked(deployed):
    for name in ("guardrails", "lab-data"):
        deployed.iam.delete_role_policy(RoleName="t-exec", PolicyName=name)
    deployed.iam.delete_role_permissions_boundary(RoleName="t-exec")
    deployed.iam.delete_role(RoleName="t-exec")
    result = run(deployed)
    assert [f.rule for f in result.findings] == []
    assert "role t-exec: does not exist (not deployed)" in result.unchecked


def test_an_environment_not_deployed_yet_is_not_a_breach(deployed):
    result = audit.audit(deployed.clients, Target({"StudioPrefix": "other", "Environment": "test"}, EXPECTED))
    assert result.exit_code == audit.EXIT_CLEAN
    assert result.unchecked == ["the network: no VPC is tagged StudioPrefix=other, Environment=test (not deployed)"]


def test_a_bucket_that_does_not_exist_is_listed_as_not_checked(deployed):
    deployed.s3.delete_public_access_block(Bucket=LAB)
    deployed.s3.delete_bucket_policy(Bucket=LAB)
    deployed.s3.delete_bucket(Bucket=LAB)
    result = run(deployed)
    assert result.findings == [] and f"bucket {LAB}: does not exist (not deployed)" in result.unchecked


def test_the_partition_follows_the_region():
    assert [audit.partition_of(r) for r in ("us-west-2", "cn-north-1", "us-gov-west-1")] == [
        "aws",
        "aws-cn",
        "aws-us-gov",
    ]


# --------------------------------------------------------------------------- the command


def test_the_workflow_command_writes_the_report_owner_only_and_returns_the_breaches(deployed, tmp_path, monkeypatch):
    from test_workflow import FakeTerraform, World, emulator_config, make_workflow

    from isolated_studio.ops import aws as aws_module

    ssh_from_anywhere(deployed)
    tf = FakeTerraform({})
    config = emulator_config()
    config = config.model_copy(
        update={
            "project": config.project.model_copy(update={"name_prefix": "t", "environment": "test"}),
            "emulator": config.emulator.model_copy(update={"endpoint": None}),
        }
    )
    flow, lines = make_workflow(tmp_path, config, tf, World(bucket_exists=True))
    for name, doc in (("network", NETWORK), ("workload", WORKLOAD)):
        tf.dirs[name].mkdir(parents=True, exist_ok=True)
        (tf.dirs[name] / "cdk.tf.json").write_text(json.dumps(doc))
    stubs = stubbed(deployed)
    monkeypatch.setattr(
        aws_module, "aws_client", lambda config, service: stubs.get(service) or deployed.clients(service)
    )

    result = audit.run_audit(flow)

    assert result.exit_code == audit.EXIT_BREACH
    assert lines[0] == "Audit: reading the deployed boundary ..."
    assert any(line.startswith("  BREACH ") and "ingress tcp port 22 from 0.0.0.0/0" in line for line in lines)
    report = (flow.plan_dir / "audit.md").read_text()
    assert report.startswith("# Live isolation audit: environment `test`")
    assert "## ISOLATION BREACHES (1)" in report and "| rules-stay-inside |" in report
    assert (flow.plan_dir / "audit.md").stat().st_mode & 0o777 == 0o600
