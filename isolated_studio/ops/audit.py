"""Live isolation audit: read the deployed boundary with boto3 and judge it by the synthesized one.

``make audit`` / ``python -m isolated_studio.ops.workflow audit`` (and every ``make drift``)
reads what AWS says is deployed, independent of Terraform's state: the VPC (found by the
``StudioPrefix`` and ``Environment`` tags every stack's resources carry), its internet,
egress-only, NAT and VPN gateways and public IPs, route tables, peering connections and
transit gateway attachments, security-group rules, endpoints and their policies, the DNS
firewall (associations, rules, domain lists, fail-open setting), the Studio domain's network
access type, subnets and security groups, the buckets' policies and public access blocks,
and the roles' inline and managed policies and boundary. It describes them as an
:class:`~isolated_studio.checks.boundary.Environment` and runs the rules the synthesized
stacks pass (:func:`isolated_studio.checks.boundary.check`), with the synthesized
environment as the expectation: so an internet gateway attached by hand, a new endpoint, an
edited endpoint or bucket policy, a policy put on a role is found although no plan would
ever show it.

Exit codes: 0 no breach, 2 a breach (see ``<plan-dir>/audit.md``), 1 the audit itself failed.
What cannot be read is listed under "Not checked" with the reason, never skipped silently: the
emulator has no Route 53 Resolver DNS Firewall and its lab buckets no endpoint deny
(:data:`EMULATOR_UNCHECKED`), ``--emulator-scope`` leaves part of the workload out, and a
domain, bucket or role that is not deployed (yet) has nothing to check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from isolated_studio.checks import boundary
from isolated_studio.checks.boundary import (
    Attachment,
    Bucket,
    DnsFirewallAssociation,
    DnsFirewallConfig,
    DnsFirewallRule,
    Domain,
    Endpoint,
    Environment,
    Finding,
    Gateway,
    Role,
    Route,
    SgRule,
    Subnet,
)
from isolated_studio.config import StudioConfig
from isolated_studio.config.emulator import AWS, EmulatorProfile
from isolated_studio.ops import aws, emulator_scope
from isolated_studio.ops.results import write_private
from isolated_studio.ops.runner import Terraform


class AuditedRun(Protocol):
    """What an audit needs of the workflow (ops.workflow.Workflow is one)."""

    config: StudioConfig
    outdir: Path
    plan_dir: Path
    tf: Terraform

    @property
    def say(self) -> Callable[[str], None]: ...

    @property
    def emulator(self) -> EmulatorProfile: ...


EXIT_CLEAN, EXIT_ERROR, EXIT_BREACH = 0, 1, 2

Client = Callable[[str], Any]  # service name -> boto3 client

_GONE = frozenset({"deleted", "deleting", "failed", "rejected", "expired"})


@dataclass
class AuditResult:
    checked: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    report: Path | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_BREACH if self.findings else EXIT_CLEAN


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# --------------------------------------------------------------------------- reading AWS


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """The items under ``key`` of every page (structures or strings, as the operation lists)."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**kwargs).get(key, [])


def _in_vpc(vpc: str) -> list[dict[str, Any]]:
    return [{"Name": "vpc-id", "Values": [vpc]}]


def find_vpcs(ec2: Any, tags: Mapping[str, str]) -> list[str]:
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in tags.items()]
    return sorted(v["VpcId"] for v in _pages(ec2, "describe_vpcs", "Vpcs", Filters=filters))


def _route(table: str, route: Mapping[str, Any]) -> Route | None:
    destination = (
        route.get("DestinationCidrBlock")
        or route.get("DestinationIpv6CidrBlock")
        or route.get("DestinationPrefixListId")
        or "?"
    )
    gateway = route.get("GatewayId") or ""
    if gateway == "local":
        return None
    if gateway.startswith("vpce-"):
        return Route(table, destination, "endpoint", gateway)
    for key, kind in (
        ("NatGatewayId", "NAT gateway"),
        ("EgressOnlyInternetGatewayId", "egress-only gateway"),
        ("TransitGatewayId", "transit gateway"),
        ("VpcPeeringConnectionId", "peering connection"),
        ("NetworkInterfaceId", "network interface"),
        ("InstanceId", "instance"),
        ("LocalGatewayId", "local gateway"),
        ("CarrierGatewayId", "carrier gateway"),
        ("CoreNetworkArn", "core network"),
    ):
        if route.get(key):
            return Route(table, destination, kind, route[key])
    if gateway:
        return Route(table, destination, "VPN gateway" if gateway.startswith("vgw-") else "internet gateway", gateway)
    return Route(table, destination, "unknown target", "?")


def _rule(rule: Mapping[str, Any]) -> SgRule:
    protocol = str(rule.get("IpProtocol"))
    all_ports = protocol == "-1"
    return SgRule(
        rule["GroupId"],
        "egress" if rule.get("IsEgress") else "ingress",
        protocol,
        None if all_ports else rule.get("FromPort"),
        None if all_ports else rule.get("ToPort"),
        cidr=rule.get("CidrIpv4") or rule.get("CidrIpv6"),
        prefix_list=rule.get("PrefixListId"),
        referenced_group=(rule.get("ReferencedGroupInfo") or {}).get("GroupId"),
        id=rule.get("SecurityGroupRuleId", ""),
    )


def _document(text: Any) -> Mapping[str, Any] | None:
    if isinstance(text, Mapping):
        return text
    if not isinstance(text, str) or not text:
        return None
    document = json.loads(text)
    return document if isinstance(document, Mapping) else None


def read_network(ec2: Any, vpc: str) -> Environment:
    """The VPC's gateways, routes, attachments, security groups and endpoints, as AWS answers."""
    described = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]
    cidrs = tuple(
        a["CidrBlock"]
        for a in described.get("CidrBlockAssociationSet", [])
        if a.get("CidrBlockState", {}).get("State") in ("associated", "associating", None)
    ) or (described["CidrBlock"],)
    cidrs += tuple(
        a["Ipv6CidrBlock"]
        for a in described.get("Ipv6CidrBlockAssociationSet", [])
        if a.get("Ipv6CidrBlockState", {}).get("State") in ("associated", "associating", None)
    )
    subnets = tuple(
        Subnet(s["SubnetId"], s.get("CidrBlock"), bool(s.get("MapPublicIpOnLaunch")))
        for s in _pages(ec2, "describe_subnets", "Subnets", Filters=_in_vpc(vpc))
    )
    gateways: list[Gateway] = []
    gateways += [
        Gateway("internet gateway", g["InternetGatewayId"])
        for g in _pages(
            ec2,
            "describe_internet_gateways",
            "InternetGateways",
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}],
        )
    ]
    gateways += [
        Gateway("egress-only internet gateway", g["EgressOnlyInternetGatewayId"])
        for g in _pages(ec2, "describe_egress_only_internet_gateways", "EgressOnlyInternetGateways")
        if any(a.get("VpcId") == vpc and a.get("State") != "detached" for a in g.get("Attachments", []))
    ]
    gateways += [
        Gateway("NAT gateway", g["NatGatewayId"])
        for g in _pages(ec2, "describe_nat_gateways", "NatGateways", Filters=_in_vpc(vpc))
        if g.get("State") not in _GONE
    ]
    gateways += [
        Gateway("VPN gateway", g["VpnGatewayId"])
        for g in ec2.describe_vpn_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}]).get(
            "VpnGateways", []
        )
        if any(
            a.get("VpcId") == vpc and a.get("State") in ("attaching", "attached") for a in g.get("VpcAttachments", [])
        )
    ]
    gateways += [
        Gateway("public IP", f"{eni['NetworkInterfaceId']} ({eni['Association']['PublicIp']})")
        for eni in _pages(ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=_in_vpc(vpc))
        if (eni.get("Association") or {}).get("PublicIp")
    ]
    tables, routes = [], []
    for table in _pages(ec2, "describe_route_tables", "RouteTables", Filters=_in_vpc(vpc)):
        tables.append(table["RouteTableId"])
        routes += [r for r in (_route(table["RouteTableId"], route) for route in table.get("Routes", [])) if r]
    attachments: list[Attachment] = []
    seen: set[str] = set()
    for side, other in (("requester", "AccepterVpcInfo"), ("accepter", "RequesterVpcInfo")):
        for pcx in _pages(
            ec2,
            "describe_vpc_peering_connections",
            "VpcPeeringConnections",
            Filters=[{"Name": f"{side}-vpc-info.vpc-id", "Values": [vpc]}],
        ):
            if pcx["VpcPeeringConnectionId"] in seen or (pcx.get("Status") or {}).get("Code") in _GONE:
                continue
            seen.add(pcx["VpcPeeringConnectionId"])
            peer = pcx.get(other) or {}
            attachments.append(
                Attachment(
                    "peering connection",
                    pcx["VpcPeeringConnectionId"],
                    f"VPC {peer.get('VpcId')} of account {peer.get('OwnerId')}",
                )
            )
    attachments += [
        Attachment("transit gateway attachment", a["TransitGatewayAttachmentId"], a.get("TransitGatewayId", "?"))
        for a in _pages(
            ec2, "describe_transit_gateway_vpc_attachments", "TransitGatewayVpcAttachments", Filters=_in_vpc(vpc)
        )
        if a.get("State") not in _GONE
    ]
    groups = {
        g["GroupId"]: g["GroupName"]
        for g in _pages(ec2, "describe_security_groups", "SecurityGroups", Filters=_in_vpc(vpc))
    }
    rules = (
        tuple(
            _rule(r)
            for r in _pages(
                ec2,
                "describe_security_group_rules",
                "SecurityGroupRules",
                Filters=[{"Name": "group-id", "Values": sorted(groups)}],
            )
        )
        if groups
        else ()
    )
    described_endpoints = [
        e
        for e in _pages(ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=_in_vpc(vpc))
        if str(e.get("State", "")).lower() not in _GONE
    ]
    gateway_services = sorted({e["ServiceName"] for e in described_endpoints if e.get("VpcEndpointType") == "Gateway"})
    prefix_lists = (
        {
            p["PrefixListName"]: p["PrefixListId"]
            for p in _pages(
                ec2,
                "describe_prefix_lists",
                "PrefixLists",
                Filters=[{"Name": "prefix-list-name", "Values": gateway_services}],
            )
        }
        if gateway_services
        else {}
    )
    endpoints = tuple(
        Endpoint(
            e["VpcEndpointId"],
            e["ServiceName"],
            e.get("VpcEndpointType", "Gateway"),
            e.get("PrivateDnsEnabled"),
            _document(e.get("PolicyDocument")),
            prefix_lists.get(e["ServiceName"]) if e.get("VpcEndpointType") == "Gateway" else None,
        )
        for e in described_endpoints
    )
    return Environment(
        "deployed",
        vpc,
        cidrs,
        subnets,
        tuple(gateways),
        tuple(tables),
        tuple(routes),
        tuple(attachments),
        groups,
        rules,
        endpoints,
    )


def read_dns_firewall(
    resolver: Any, vpc: str
) -> tuple[tuple[DnsFirewallAssociation, ...], tuple[DnsFirewallConfig, ...]]:
    """The rule groups associated with the VPC, each with its rules and their domain lists' names,
    and the VPC's firewall setting (fail open or closed)."""
    found = []
    domains: dict[str, tuple[str, ...]] = {}
    for association in _pages(
        resolver, "list_firewall_rule_group_associations", "FirewallRuleGroupAssociations", VpcId=vpc
    ):
        group = association["FirewallRuleGroupId"]
        try:
            name = resolver.get_firewall_rule_group(FirewallRuleGroupId=group)["FirewallRuleGroup"].get("Name")
        except ClientError:
            name = None
        rules = []
        for rule in _pages(resolver, "list_firewall_rules", "FirewallRules", FirewallRuleGroupId=group):
            domain_list = rule.get("FirewallDomainListId") or ""
            if domain_list and domain_list not in domains:
                domains[domain_list] = tuple(
                    _pages(resolver, "list_firewall_domains", "Domains", FirewallDomainListId=domain_list)
                )
            rules.append(
                DnsFirewallRule(
                    int(rule.get("Priority") or 0),
                    str(rule.get("Action")),
                    domains.get(domain_list, ()),
                    domain_list,
                    rule.get("Qtype") or None,
                )
            )
        found.append(
            DnsFirewallAssociation(
                association.get("Id", group),
                group,
                name,
                association.get("Status", "COMPLETE"),
                vpc=vpc,
                priority=association.get("Priority"),
                rules=tuple(rules),
            )
        )
    config = resolver.get_firewall_config(ResourceId=vpc)["FirewallConfig"]
    return tuple(found), (DnsFirewallConfig(vpc, vpc, str(config.get("FirewallFailOpen") or "DISABLED")),)


def read_domains(sagemaker: Any, names: Sequence[str], vpc: str) -> tuple[Domain, ...]:
    """The domains named in the stacks, and any other domain in the VPC."""
    found = []
    for summary in _pages(sagemaker, "list_domains", "Domains"):
        if summary.get("Status") in ("Deleting", "Delete_Failed"):
            continue
        described = sagemaker.describe_domain(DomainId=summary["DomainId"])
        if described.get("DomainName") not in names and described.get("VpcId") != vpc:
            continue
        settings = described.get("DefaultUserSettings") or {}
        groups = list(settings.get("SecurityGroups") or [])
        groups += [
            g for g in (described.get("DefaultSpaceSettings") or {}).get("SecurityGroups") or [] if g not in groups
        ]
        groups += [g for g in (described.get("DomainSettings") or {}).get("SecurityGroupIds") or [] if g not in groups]
        found.append(
            Domain(
                described["DomainId"],
                described.get("DomainName", summary.get("DomainName", "?")),
                described.get("AppNetworkAccessType"),
                described.get("VpcId"),
                tuple(described.get("SubnetIds") or ()),
                tuple(groups),
            )
        )
    return tuple(found)


def read_buckets(s3: Any, names: Sequence[str]) -> tuple[tuple[Bucket, ...], list[str]]:
    """The buckets' policies and public access blocks; the names of those that do not exist."""
    found, missing = [], []
    for name in names:
        try:
            policy = _document(s3.get_bucket_policy(Bucket=name)["Policy"])
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in ("NoSuchBucket", "404"):
                missing.append(name)
                continue
            if code != "NoSuchBucketPolicy":
                raise
            policy = None
        try:
            block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchPublicAccessBlockConfiguration":
                raise
            block = {}
        found.append(Bucket(name, name, policy, {k: bool(v) for k, v in block.items()}))
    return tuple(found), missing


def _policy_version(iam: Any, arn: str) -> Mapping[str, Any] | None:
    try:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        return _document(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        return None


def read_roles(iam: Any, names: Sequence[str]) -> tuple[tuple[Role, ...], list[str]]:
    """The roles' inline policies, managed policies and permissions boundary (with its default
    version's document); the names of those that do not exist."""
    found, missing = [], []
    for name in names:
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchEntity":
                raise
            missing.append(name)
            continue
        inline = {
            policy: _document(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
            for policy in _pages(iam, "list_role_policies", "PolicyNames", RoleName=name)
        }
        attached = tuple(
            a["PolicyArn"] for a in _pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)
        )
        boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        found.append(
            Role(
                name,
                name,
                role["Arn"],
                inline,
                attached,
                boundary,
                _policy_version(iam, boundary) if boundary else None,
            )
        )
    return tuple(found), missing


# --------------------------------------------------------------------------- the audit


@dataclass(frozen=True)
class Target:
    """What to audit: the environment's tags, the synthesized expectation, what the target can
    show (AWS or the emulator), and the resources the emulator does not create
    (``--emulator-scope`` leaves them out)."""

    tags: Mapping[str, str]
    expected: Environment
    profile: EmulatorProfile = AWS
    out_of_scope: frozenset[str] = frozenset()


# What a target whose buckets cannot hold conditional Denies (the emulator's) cannot show, by
# rule: not checked there, and said so.
EMULATOR_UNCHECKED: dict[Any, str] = {
    boundary.lab_buckets_only_through_our_endpoint: "the lab buckets' refusal of the execution role outside our S3 endpoint: moto applies a Deny without its "
    "condition, so the emulator's stacks leave that statement out (docs/perimeter.md)",
}


def audit(client: Client, target: Target) -> AuditResult:
    """Read every VPC carrying the environment's tags and judge it (and the workload) by the rules."""
    result = AuditResult()
    expected = target.expected
    rules = boundary.RULES
    if not target.profile.applies_deny_conditions:
        rules = tuple(r for r in rules if r not in EMULATOR_UNCHECKED)
        result.unchecked += [f"{reason}" for reason in EMULATOR_UNCHECKED.values()]
    if target.out_of_scope:
        expected, left_out = boundary.without(expected, target.out_of_scope)
        result.unchecked += [f"{line}: not created in the emulator (--emulator-scope)" for line in left_out]
    ec2 = client("ec2")
    vpcs = find_vpcs(ec2, target.tags)
    tags = ", ".join(f"{k}={v}" for k, v in target.tags.items())
    if not vpcs:
        result.unchecked.append(f"the network: no VPC is tagged {tags} (not deployed)")
    if len(vpcs) > 1:
        result.unchecked.append(f"{len(vpcs)} VPCs are tagged {tags}: each is audited against the same stacks")
    bucket_names = [b.name for b in expected.buckets if "${" not in b.name]
    buckets, missing = read_buckets(client("s3"), bucket_names) if bucket_names else ((), [])
    result.unchecked += [f"bucket {name}: does not exist (not deployed)" for name in missing]
    result.unchecked += [
        f"bucket {b.name}: its name is not known before apply" for b in expected.buckets if "${" in b.name
    ]
    role_names = [r.name for r in expected.roles or () if "${" not in r.name]
    roles, missing_roles = read_roles(client("iam"), role_names) if role_names else ((), [])
    result.unchecked += [f"role {name}: does not exist (not deployed)" for name in missing_roles]
    seen_domains: set[str] = set()
    # No VPC deployed: the rest is audited once, without one.
    audited_vpcs: list[str | None] = [*vpcs] or [None]
    for vpc in audited_vpcs:
        env = read_network(ec2, vpc) if vpc else Environment("deployed")
        dns, configs = None, None
        if vpc and not target.profile.has_dns_firewall:
            result.unchecked.append(
                "DNS firewall (its association, rules and fail-closed setting): the emulator has "
                "no Route 53 Resolver DNS Firewall"
            )
        elif vpc:
            dns, configs = read_dns_firewall(client("route53resolver"), vpc)
        domains = read_domains(client("sagemaker"), [d.name for d in expected.domains], vpc) if vpc else ()
        seen_domains |= {d.name for d in domains}
        env = replace(
            env,
            dns_firewall=dns,
            dns_configs=configs,
            domains=domains,
            buckets=buckets,
            roles=roles,
            accounts=expected.accounts,
            partition=expected.partition,
        )
        result.findings += boundary.check(env, expected, boundary.bind(expected, env), rules)
        if vpc:
            result.checked.append(
                f"VPC {vpc} ({', '.join(env.vpc_cidrs)}): {len(env.route_tables)} route tables, "
                f"{len(env.security_groups)} security groups ({len(env.sg_rules)} rules), "
                f"{len(env.endpoints)} endpoints"
            )
        result.checked += [f"domain {d.name} ({d.id}, {d.network_access_type})" for d in domains]
    if vpcs:
        result.unchecked += [
            f"domain {d.name}: not found (the workload is not deployed)"
            for d in expected.domains
            if d.name not in seen_domains
        ]
    result.checked += [f"bucket {b.name}" for b in buckets]
    result.checked += [
        f"role {r.name} ({len(r.inline)} inline, {len(r.attached)} managed"
        + (", a permissions boundary)" if r.boundary else ")")
        for r in roles
    ]
    return result


def _stacks(workflow: AuditedRun) -> dict[str, Any]:
    return {name: json.loads((path / "cdk.tf.json").read_text()) for name, path in workflow.tf.dirs.items()}


def target_of(workflow: AuditedRun) -> Target:
    config = workflow.config
    account = config.account_id
    if not account:
        account = aws.aws_client(config, "sts").get_caller_identity()["Account"]
    tags = {"StudioPrefix": config.name_prefix, "Environment": config.environment}
    stacks = _stacks(workflow)
    expected = boundary.from_stacks(
        stacks, account=account, partition=partition_of(config.region), region=config.region
    )
    # The emulator holds the workload only in part (--emulator-scope; the state and network stacks whole):
    # what it never creates is not expected there.
    profile = EmulatorProfile.of(config)
    out_of_scope = (
        frozenset(emulator_scope.excluded(stacks["workload"]))
        if profile.plan_only("workload") and "workload" in stacks
        else frozenset()
    )
    return Target(tags, expected, profile, out_of_scope=out_of_scope)


def run_audit(workflow: AuditedRun, *, write: bool = True) -> AuditResult:
    """The audit of the workflow's environment; with ``write`` its report is ``<plan-dir>/audit.md``."""
    workflow.say("Audit: reading the deployed boundary ...")
    result = audit(lambda service: aws.aws_client(workflow.config, service), target_of(workflow))
    for finding in result.findings:
        workflow.say(f"  BREACH {finding.line()}")
    workflow.say(
        f"Audit: {len(result.findings)} breach(es)"
        + (f", {len(result.unchecked)} not checked" if result.unchecked else "")
    )
    if write:
        result.report = workflow.plan_dir / "audit.md"
        where = workflow.emulator.where(workflow.config.region)
        header = [
            f"# Live isolation audit: environment `{workflow.config.environment}` ({where})",
            "",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, against the stacks synthesized in `{workflow.outdir}`.",
            "",
        ]
        write_private(result.report, "\n".join(header + render_audit(result, level=2)).rstrip() + "\n")
        workflow.say(f"Audit report: {result.report}")
    return result


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_audit(result: AuditResult, *, level: int) -> list[str]:
    heading = "#" * level
    if result.findings:
        lines = [
            f"{heading} ISOLATION BREACHES ({len(result.findings)}): found live, whatever Terraform's state says",
            "",
            "| Rule | Where | What | How to remove it |",
            "|---|---|---|---|",
        ]
        lines += [f"| {f.rule} | `{_cell(f.subject)}` | {_cell(f.message)} | {_cell(f.fix)} |" for f in result.findings]
        lines.append("")
    else:
        lines = [
            f"{heading} Live isolation audit: no breach",
            "",
            "The deployed boundary keeps every isolation and perimeter rule the synthesized stacks pass.",
            "",
        ]
    if result.checked:
        lines += ["Read from AWS:", ""] + [f"- {item}" for item in result.checked] + [""]
    if result.unchecked:
        lines += [f"{heading}# Not checked", ""] + [f"- {item}" for item in result.unchecked] + [""]
    return lines
