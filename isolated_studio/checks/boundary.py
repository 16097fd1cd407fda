"""The isolation boundary as data, and the one set of rules it must keep.

An :class:`Environment` is a normalized description of everything that decides whether
anything can leave the VPC: its gateways, route tables and routes, peering and transit
gateway attachments, security-group rules, endpoints and their policies, the DNS firewall
association, the Studio domain's network settings and the buckets' policies and public
access blocks. It is built either from the synthesized stacks (:func:`from_stacks`: what
the configuration promises) or from what AWS answers (``isolated_studio.ops.audit``: what is
deployed), and :func:`check` runs the same plain rule functions over either. The synthesized
stacks must pass them (tests/unit/checks/test_boundary.py), and the live audit runs them against the
deployed environment with the synthesized one as the expectation, so the static gate and
the audit cannot disagree.

Ids: in a deployed environment they are AWS's (``vpc-...``, ``sg-...``, ``vpce-...``); in a
synthesized one, the Terraform address of the resource (``aws_vpc.vpc_6776A399``), with
references across stacks followed through the network's outputs. :func:`bind` maps one
onto the other by what identifies each object (an endpoint by its service, a security group
by its name, a subnet by its CIDR), so the expected policies can name the deployed ids.

Rules are functions ``(environment, expected, bindings) -> findings``. ``expected`` is the
synthesized environment (for the static gate: the environment itself), ``bindings`` maps its
ids to the environment's. Three groups run: :data:`ISOLATION_RULES` (no path out, judged on
the environment alone), :data:`EXPECTATION_RULES` (the deployed boundary still is the
synthesized one: no new endpoint, policies and statements as synthesized) and
:data:`PERIMETER_RULES` (the data perimeter's layers; see there).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from isolated_studio.checks.isolation import (
    bucket_endpoint_problems,
    dns_firewall_problems,
    endpoint_policy_problems,
    fail_open_problems,
)
from isolated_studio.checks.policy_documents import POLICY_DOCUMENT_REF, render_policy_document

OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})

# --------------------------------------------------------------------------- the description


@dataclass(frozen=True)
class Gateway:
    """Anything that gives the VPC a way out: internet, egress-only, NAT, VPN gateways, public IPs."""

    kind: str  # a phrase: "internet gateway", "NAT gateway", ...
    id: str


@dataclass(frozen=True)
class Route:
    table: str
    destination: str  # a CIDR or a prefix list id
    target_kind: str  # "local", "endpoint" (a gateway endpoint's route) or what it leaves through
    target: str
    source: str = ""  # the aws_route resource that makes it (synthesized)


@dataclass(frozen=True)
class Attachment:
    """A peering connection or a transit gateway attachment of the VPC."""

    kind: str  # "peering connection" / "transit gateway attachment"
    id: str
    peer: str  # the other VPC, or the transit gateway


@dataclass(frozen=True)
class SgRule:
    group: str
    direction: str  # ingress / egress
    protocol: str  # "tcp", "udp", "icmp", "-1" (all)
    from_port: int | None
    to_port: int | None
    cidr: str | None = None
    prefix_list: str | None = None
    referenced_group: str | None = None
    id: str = ""  # sgr-... when deployed

    @property
    def peer(self) -> str:
        return self.cidr or self.prefix_list or self.referenced_group or "?"

    def describe(self) -> str:
        ports = (
            "all ports"
            if self.from_port is None
            else (
                f"port {self.from_port}" if self.from_port == self.to_port else f"ports {self.from_port}-{self.to_port}"
            )
        )
        protocol = "all traffic" if self.protocol == "-1" else f"{self.protocol} {ports}"
        way = "from" if self.direction == "ingress" else "to"
        return f"{self.direction} {protocol} {way} {self.peer}"


@dataclass(frozen=True)
class Endpoint:
    id: str
    service: str
    type: str  # Interface / Gateway
    private_dns: bool | None = None
    policy: Mapping[str, Any] | None = None  # None: none set (AWS's default: full access)
    prefix_list: str | None = None  # a gateway endpoint's prefix list
    policy_source: str = ""  # synthesized: the resource that sets the policy (aws_vpc_endpoint_policy...)

    @property
    def key(self) -> tuple[str, str]:
        return self.service, self.type


@dataclass(frozen=True)
class DnsFirewallRule:
    priority: int
    action: str  # ALLOW / BLOCK / ALERT
    domains: tuple[str, ...]  # its domain list's names
    domain_list: str = ""  # the domain list's id (synthesized: its address)
    qtype: str | None = None  # a rule limited to one DNS query type
    id: str = ""  # synthesized: the rule's address

    def describe(self) -> str:
        shown = ", ".join(self.domains[:3]) + (f" and {len(self.domains) - 3} more" if len(self.domains) > 3 else "")
        return (
            f"{self.action} {shown or '(no domains)'}"
            + (f" ({self.qtype} queries)" if self.qtype else "")
            + f" at priority {self.priority}"
        )


@dataclass(frozen=True)
class DnsFirewallAssociation:
    id: str
    rule_group: str
    rule_group_name: str | None
    status: str = "COMPLETE"
    vpc: str | None = None
    priority: int | None = None
    rules: tuple[DnsFirewallRule, ...] | None = None  # None: not read


@dataclass(frozen=True)
class DnsFirewallConfig:
    """A VPC's DNS firewall setting: what happens to queries when the firewall cannot answer."""

    id: str  # synthesized: the aws_route53_resolver_firewall_config; deployed: the VPC
    vpc: str
    fail_open: str  # ENABLED / DISABLED / USE_LOCAL_RESOURCE_SETTING


@dataclass(frozen=True)
class Domain:
    id: str
    name: str
    network_access_type: str | None
    vpc: str | None
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    execution_role: str | None = None  # the users' default execution role (its ARN)


@dataclass(frozen=True)
class Bucket:
    id: str  # the Terraform address (synthesized) or the name (deployed)
    name: str
    policy: Mapping[str, Any] | None = None
    public_access_block: Mapping[str, bool] | None = None  # None: none configured
    policy_source: str = ""  # synthesized: the aws_s3_bucket_policy


@dataclass(frozen=True)
class Role:
    """An IAM role and every policy that grants or bounds it."""

    id: str  # the Terraform address (synthesized) or the name (deployed)
    name: str
    arn: str
    inline: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)  # policy name -> document
    attached: tuple[str, ...] = ()  # managed policy ARNs
    boundary: str | None = None  # the permissions boundary's ARN
    boundary_policy: Mapping[str, Any] | None = None  # its (default version's) document
    # Synthesized: what makes each part ("inline:<name>", "attached:<arn>", "boundary",
    # "exclusive-inline", "exclusive-attachments" -> resource address), and the stack.
    sources: Mapping[str, str] = field(default_factory=dict)
    stack: str = ""

    @property
    def exclusive_inline(self) -> bool:
        return "exclusive-inline" in self.sources

    @property
    def exclusive_attachments(self) -> bool:
        return "exclusive-attachments" in self.sources


@dataclass(frozen=True)
class Subnet:
    id: str
    cidr: str | None
    public_ips: bool = False


@dataclass(frozen=True)
class Environment:
    """What decides the boundary of one VPC and the workload in it."""

    source: str  # "synthesized" or "deployed"
    vpc: str | None = None
    vpc_cidrs: tuple[str, ...] = ()
    subnets: tuple[Subnet, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    route_tables: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    security_groups: Mapping[str, str] = field(default_factory=dict)  # id -> name
    sg_rules: tuple[SgRule, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    # None: not read (the emulator has no DNS firewall); () read, and nothing associated.
    dns_firewall: tuple[DnsFirewallAssociation, ...] | None = ()
    domains: tuple[Domain, ...] = ()
    buckets: tuple[Bucket, ...] = ()
    # What could not be read or checked, and why (shown in the report, never silently skipped).
    unchecked: tuple[str, ...] = ()
    vpc_ids: tuple[str, ...] = ()  # every VPC described (synthesized stacks may hold several)
    dns_configs: tuple[DnsFirewallConfig, ...] | None = ()  # None: not read
    roles: tuple[Role, ...] | None = ()  # None: not read
    # Our account: what the perimeter keeps principals and resources to (synthesized without
    # an account: the aws_caller_identity references that stand for it).
    accounts: tuple[str, ...] = ()
    partition: str = "aws"

    @property
    def deployed(self) -> bool:
        return self.source == "deployed"


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    message: str
    fix: str = ""  # how to remove it, for a deployed environment

    def line(self) -> str:
        return f"{self.subject}: {self.message}"


Bindings = Mapping[str, str]
Rule = Callable[[Environment, Environment, Bindings], Iterable[Finding]]


# --------------------------------------------------------------------------- the rules: isolation


def no_gateways(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """No internet, egress-only, NAT or VPN gateway, no elastic or public IP: the VPC has no way out."""
    for gateway in env.gateways:
        fix = _GATEWAY_FIXES.get(gateway.kind, "").format(id=gateway.id.split(" ")[0], vpc=env.vpc)
        yield Finding("no-gateways", gateway.id, f"{gateway.kind} in the isolated VPC", fix)


_GATEWAY_FIXES = {
    "internet gateway": "aws ec2 detach-internet-gateway --internet-gateway-id {id} --vpc-id {vpc} && "
    "aws ec2 delete-internet-gateway --internet-gateway-id {id}",
    "egress-only internet gateway": "aws ec2 delete-egress-only-internet-gateway --egress-only-internet-gateway-id {id}",
    "NAT gateway": "aws ec2 delete-nat-gateway --nat-gateway-id {id} (then release its elastic IP)",
    "VPN gateway": "aws ec2 detach-vpn-gateway --vpn-gateway-id {id} --vpc-id {vpc}",
    "public IP": "disassociate it: aws ec2 disassociate-address --association-id <its association id> "
    "(for network interface {id})",
}


def no_route_out(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """Only the local route and the gateway endpoints' prefix-list routes; no default route at all."""
    for route in env.routes:
        problems = []
        if route.destination in OPEN_CIDRS:
            problems.append(f"default route to {route.destination}")
        if route.target_kind not in ("local", "endpoint"):
            problems.append(f"route to {route.destination} through {route.target_kind} {route.target}")
        if problems:
            option = (
                "--destination-ipv6-cidr-block"
                if ":" in route.destination
                else (
                    "--destination-prefix-list-id"
                    if route.destination.startswith("pl-")
                    else "--destination-cidr-block"
                )
            )
            yield Finding(
                "no-route-out",
                route.source or route.table,
                "; ".join(problems),
                f"aws ec2 delete-route --route-table-id {route.table} {option} {route.destination}",
            )


def no_attachments(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """No peering connection and no transit gateway attachment: no other network reaches in or out."""
    for attachment in env.attachments:
        fix = (
            f"aws ec2 delete-vpc-peering-connection --vpc-peering-connection-id {attachment.id}"
            if attachment.kind == "peering connection"
            else f"aws ec2 delete-transit-gateway-vpc-attachment --transit-gateway-attachment-id {attachment.id}"
        )
        yield Finding("no-attachments", attachment.id, f"{attachment.kind} to {attachment.peer}", fix)


def rules_stay_inside(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """Every security-group rule, in and out, names the VPC's CIDR, one of its groups or a gateway endpoint's prefix list."""
    networks = [ipaddress.ip_network(c, strict=False) for c in env.vpc_cidrs if _is_cidr(c)]
    prefix_lists = {e.prefix_list for e in env.endpoints if e.prefix_list}
    for rule in env.sg_rules:
        problem = None
        if rule.cidr is not None:
            if rule.cidr in OPEN_CIDRS:
                problem = "open to the internet"
            elif not _is_cidr(rule.cidr):
                problem = f"CIDR {rule.cidr} is not one the gate can read"
            elif not any(_within(rule.cidr, network) for network in networks):
                problem = "outside the VPC's CIDR " + ", ".join(env.vpc_cidrs)
        elif rule.prefix_list is not None and rule.prefix_list not in prefix_lists:
            problem = "a prefix list that is not one of the VPC's gateway endpoints"
        elif rule.referenced_group is not None and rule.referenced_group not in env.security_groups:
            problem = "a security group outside the VPC"
        if problem and (rule.cidr is None or networks or rule.cidr in OPEN_CIDRS):
            subject = f"{rule.group} {rule.id}".strip() if env.deployed else rule.id or rule.group
            yield Finding(
                "rules-stay-inside",
                subject,
                f"{rule.describe()}: {problem}",
                f"aws ec2 revoke-security-group-{rule.direction} --group-id {rule.group} "
                f"--security-group-rule-ids {rule.id}"
                if rule.id
                else "",
            )


def no_public_subnets(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    for subnet in env.subnets:
        if subnet.public_ips:
            yield Finding(
                "no-public-subnets",
                subnet.id,
                "subnet assigns public IPs",
                f"aws ec2 modify-subnet-attribute --subnet-id {subnet.id} --no-map-public-ip-on-launch",
            )


def private_dns(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """Interface endpoints answer for the service's own name, or clients go to the public endpoint."""
    for endpoint in env.endpoints:
        if endpoint.type == "Interface" and endpoint.private_dns is not True:
            yield Finding(
                "private-dns",
                endpoint.id,
                f"interface endpoint of {endpoint.service} without private DNS",
                f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {endpoint.id} --private-dns-enabled",
            )


def domain_inside(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """The Studio domain is VpcOnly, in this VPC's subnets, with this VPC's security groups."""
    subnets = {s.id for s in env.subnets}
    for domain in env.domains:
        where = f"domain {domain.name}"
        if domain.network_access_type != "VpcOnly":
            yield Finding(
                "domain-inside",
                domain.id,
                f"{where} is {domain.network_access_type}, not VpcOnly: "
                "its apps reach the internet through SageMaker's network",
                "SageMaker cannot switch it back in place while apps run: `make deploy STACKS=workload` "
                "applies VpcOnly once every app of the domain is deleted",
            )
        if env.vpc is not None and domain.vpc is not None and domain.vpc != env.vpc:
            yield Finding("domain-inside", domain.id, f"{where} is in VPC {domain.vpc}, not {env.vpc}")
        outside = [s for s in domain.subnets if subnets and s not in subnets]
        if outside:
            yield Finding("domain-inside", domain.id, f"{where} uses subnets outside the VPC: {', '.join(outside)}")
        foreign = [g for g in domain.security_groups if env.security_groups and g not in env.security_groups]
        if foreign:
            yield Finding(
                "domain-inside", domain.id, f"{where} uses security groups outside the VPC: {', '.join(foreign)}"
            )


ISOLATION_RULES: tuple[Rule, ...] = (
    no_gateways,
    no_route_out,
    no_attachments,
    rules_stay_inside,
    no_public_subnets,
    private_dns,
    domain_inside,
)


# --------------------------------------------------------------------------- the rules: as synthesized


# What AWS attaches to an endpoint created without a policy: full access, for anybody.
DEFAULT_ENDPOINT_POLICY = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}


def no_new_endpoints(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """An endpoint the stacks do not create is a way to a service nobody reviewed."""
    wanted = {e.key for e in expected.endpoints}
    for endpoint in env.endpoints:
        if endpoint.key not in wanted:
            yield Finding(
                "no-new-endpoints",
                endpoint.id,
                f"{endpoint.type.lower()} endpoint of {endpoint.service} that the stacks do not create",
                f"aws ec2 delete-vpc-endpoints --vpc-endpoint-ids {endpoint.id}",
            )


def endpoint_policies_as_synthesized(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """Each endpoint's policy is the synthesized one (none synthesized: AWS's default, untouched)."""
    wanted = {e.key: e for e in expected.endpoints}
    for endpoint in env.endpoints:
        synthesized = wanted.get(endpoint.key)
        if synthesized is None:
            continue
        if synthesized.policy is None:
            if endpoint.policy is not None and not same_document(endpoint.policy, DEFAULT_ENDPOINT_POLICY, bindings):
                yield Finding(
                    "endpoint-policies",
                    endpoint.id,
                    f"policy of the {endpoint.service} endpoint was changed outside Terraform "
                    f"({summarize(endpoint.policy)})",
                    f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {endpoint.id} --reset-policy",
                )
        elif endpoint.policy is None or same_document(endpoint.policy, DEFAULT_ENDPOINT_POLICY, {}):
            yield Finding(
                "endpoint-policies",
                endpoint.id,
                f"the {endpoint.service} endpoint has no policy (full access for anybody); the stacks give it one",
                "`make deploy STACKS=network` puts the synthesized policy back",
            )
        elif not same_document(endpoint.policy, synthesized.policy, bindings):
            yield Finding(
                "endpoint-policies",
                endpoint.id,
                f"policy of the {endpoint.service} endpoint differs from the synthesized one: "
                + statement_difference(endpoint.policy, synthesized.policy, bindings),
                "`make deploy STACKS=network` puts the synthesized policy back",
            )


_GONE_ASSOCIATIONS = ("DELETING", "FAILED")


def _live_associations(env: Environment) -> list[DnsFirewallAssociation]:
    return [a for a in env.dns_firewall or () if a.status not in _GONE_ASSOCIATIONS]


def dns_firewall_associated(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """Every DNS firewall rule group the stacks associate with the VPC is associated, and no other:
    a rule group associated by hand, ahead of ours, can let any name through."""
    if env.dns_firewall is None:
        return
    live = _live_associations(env)
    names = {a.rule_group_name for a in live} | {a.rule_group for a in live}
    wanted: set[str | None] = set()
    for association in expected.dns_firewall or ():
        name = association.rule_group_name or association.rule_group
        wanted |= {name, association.rule_group, bindings.get(association.rule_group)}
        if name not in names and bindings.get(association.rule_group) not in names:
            yield Finding(
                "dns-firewall",
                env.vpc or "?",
                f"DNS firewall rule group {name} is not associated with the VPC",
                "`make deploy STACKS=network` associates it again",
            )
    wanted.discard(None)
    for association in live:
        if association.rule_group_name not in wanted and association.rule_group not in wanted:
            yield Finding(
                "dns-firewall",
                association.id,
                f"DNS firewall rule group {association.rule_group_name or association.rule_group} is associated "
                f"with the VPC outside Terraform (priority {association.priority})",
                "aws route53resolver disassociate-firewall-rule-group "
                f"--firewall-rule-group-association-id {association.id}",
            )


def _domain(name: str) -> str:
    # Route 53 Resolver keeps a domain list's names fully qualified ("example.com."); names compare
    # case-insensitively.
    return name.lower().rstrip(".")


def dns_firewall_rules_as_synthesized(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """The rules of each rule group the stacks associate are the synthesized ones: a rule added by
    hand, or a name added to the allowed list, is a name the VPC's queries may reach."""
    if env.dns_firewall is None:
        return
    by_name = {a.rule_group_name: a for a in _live_associations(env) if a.rules is not None and a.rule_group_name}
    by_id = {a.rule_group: a for a in _live_associations(env) if a.rules is not None}
    deploy = "`make deploy STACKS=network` puts the synthesized rules back"
    for association in expected.dns_firewall or ():
        deployed = by_name.get(association.rule_group_name or "") or by_id.get(bindings.get(association.rule_group, ""))
        if deployed is None or deployed is association or association.rules is None:
            continue
        group = association.rule_group_name or deployed.rule_group

        def key(rule: DnsFirewallRule) -> tuple[int, str, str]:
            return rule.priority, rule.action, rule.qtype or ""

        have = {key(r): r for r in deployed.rules or ()}
        for rule in association.rules:
            found = have.pop(key(rule), None)
            if found is None:
                yield Finding(
                    "dns-firewall", group, f"rule {rule.describe()} of the stacks is missing or changed", deploy
                )
                continue
            extra = sorted({_domain(d) for d in found.domains} - {_domain(d) for d in rule.domains})
            missing = sorted({_domain(d) for d in rule.domains} - {_domain(d) for d in found.domains})
            if extra or missing:
                what = "; ".join(
                    part
                    for part in (
                        f"names added: {', '.join(extra)}" if extra else "",
                        f"names removed: {', '.join(missing)}" if missing else "",
                    )
                    if part
                )
                yield Finding(
                    "dns-firewall",
                    group,
                    f"rule {rule.action} at priority {rule.priority}: the domain "
                    f"list was changed outside Terraform ({what})",
                    deploy,
                )
        for rule in have.values():
            yield Finding(
                "dns-firewall",
                group,
                f"rule {rule.describe()} added outside Terraform",
                f"aws route53resolver delete-firewall-rule --firewall-rule-group-id {deployed.rule_group} "
                f"--firewall-domain-list-id {rule.domain_list}" + (f" --qtype {rule.qtype}" if rule.qtype else ""),
            )


def _widens(deployed: Mapping[str, Any], synthesized: Mapping[str, Any], bindings: Bindings) -> bool:
    """An Allow the stacks do not grant, or a Deny of theirs gone or changed."""
    have, want = _statements(deployed), _statements(synthesized)
    added = [h for h in have if not any(_same_statement(h, w, bindings) for w in want)]
    missing = [w for w in want if not any(_same_statement(h, w, bindings) for h in have)]
    return any(s.get("Effect", "Allow") == "Allow" for s in added) or any(s.get("Effect") == "Deny" for s in missing)


def role_policies_as_synthesized(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """Each role's inline policies, managed policies and permissions boundary are the synthesized
    ones: an inline policy put on or a managed policy attached by hand grants what nobody
    reviewed, and a guardrail or boundary edited or removed lets the role out of the perimeter."""
    if env.roles is None:
        return
    live = {r.name: r for r in env.roles}
    for role in expected.roles or ():
        deployed = live.get(role.name)
        if deployed is None or deployed is role:
            continue
        deploy = f"`make deploy STACKS={role.stack}`" if role.stack else "`make deploy`"
        for name, document in deployed.inline.items():
            if name not in role.inline:
                fix = f"aws iam delete-role-policy --role-name {role.name} --policy-name {name}"
                yield Finding(
                    "role-policies",
                    role.name,
                    f"inline policy {name} added outside Terraform ({summarize(document or {})})",
                    fix
                    + (f" (or {deploy}: the role's inline policies are exclusive)" if role.exclusive_inline else ""),
                )
        for name, document in role.inline.items():
            if name not in deployed.inline:
                yield Finding(
                    "role-policies",
                    role.name,
                    f"inline policy {name} of the stacks is missing",
                    f"{deploy} puts it back",
                )
            elif not same_document(deployed.inline[name] or {}, document or {}, bindings):
                widens = "widens access: " if _widens(deployed.inline[name] or {}, document or {}, bindings) else ""
                yield Finding(
                    "role-policies",
                    role.name,
                    f"inline policy {name} differs from the synthesized one: {widens}"
                    + statement_difference(deployed.inline[name] or {}, document or {}, bindings),
                    f"{deploy} puts the synthesized policy back",
                )
        for arn in deployed.attached:
            if not any(_values_match(arn, want, bindings) for want in role.attached):
                fix = f"aws iam detach-role-policy --role-name {role.name} --policy-arn {arn}"
                yield Finding(
                    "role-policies",
                    role.name,
                    f"managed policy {arn} attached outside Terraform",
                    fix
                    + (f" (or {deploy}: the role's attachments are exclusive)" if role.exclusive_attachments else ""),
                )
        for arn in role.attached:
            if not any(_values_match(have, arn, bindings) for have in deployed.attached):
                yield Finding(
                    "role-policies",
                    role.name,
                    f"managed policy {arn} of the stacks is not attached",
                    f"{deploy} attaches it again",
                )
        if role.boundary and not deployed.boundary:
            yield Finding(
                "role-policies",
                role.name,
                f"permissions boundary {role.boundary} removed: nothing caps "
                "what a new version of its managed policies may grant",
                f"{deploy} sets it again",
            )
        elif role.boundary and not _values_match(deployed.boundary, role.boundary, bindings):
            yield Finding(
                "role-policies",
                role.name,
                f"permissions boundary is {deployed.boundary}, not {role.boundary}",
                f"{deploy} sets the synthesized one again",
            )
        elif (
            role.boundary
            and role.boundary_policy is not None
            and deployed.boundary_policy is not None
            and not same_document(deployed.boundary_policy, role.boundary_policy, bindings)
        ):
            widens = "widens access: " if _widens(deployed.boundary_policy, role.boundary_policy, bindings) else ""
            yield Finding(
                "role-policies",
                role.name,
                f"permissions boundary {deployed.boundary} differs from the "
                f"synthesized one: {widens}"
                + statement_difference(deployed.boundary_policy, role.boundary_policy, bindings),
                f"{deploy} puts the synthesized document back",
            )
        elif not role.boundary and deployed.boundary:
            yield Finding(
                "role-policies",
                role.name,
                f"permissions boundary {deployed.boundary} set outside Terraform",
                f"aws iam delete-role-permissions-boundary --role-name {role.name}",
            )


def bucket_policies_keep_their_statements(
    env: Environment, expected: Environment, bindings: Bindings
) -> Iterator[Finding]:
    """Every synthesized statement of a bucket policy is still in the deployed policy, as synthesized."""
    live = {b.name: b for b in env.buckets}
    for bucket in expected.buckets:
        deployed = live.get(bucket.name)
        if deployed is None or bucket.policy is None:
            continue
        if deployed.policy is None:
            yield Finding(
                "bucket-policies",
                bucket.name,
                "the bucket has no policy; the stacks give it one",
                "`make deploy STACKS=workload` puts it back",
            )
            continue
        missing = [
            s
            for s in _statements(bucket.policy)
            if not any(_same_statement(d, s, bindings) for d in _statements(deployed.policy))
        ]
        for statement in missing:
            yield Finding(
                "bucket-policies",
                bucket.name,
                f"statement {statement.get('Sid') or summarize({'Statement': [statement]})} of the bucket "
                "policy is missing or changed",
                "`make deploy STACKS=workload` puts it back",
            )


def buckets_block_public_access(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    live = {b.name: b for b in env.buckets}
    for bucket in expected.buckets:
        deployed = live.get(bucket.name)
        wanted = bucket.public_access_block
        if deployed is None or not wanted:
            continue
        have = deployed.public_access_block or {}
        off = [key for key, value in wanted.items() if value and not have.get(key)]
        if off:
            yield Finding(
                "public-access-block",
                bucket.name,
                f"public access block off: {', '.join(off)}",
                f"aws s3api put-public-access-block --bucket {bucket.name} --public-access-block-configuration "
                "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
            )


EXPECTATION_RULES: tuple[Rule, ...] = (
    no_new_endpoints,
    endpoint_policies_as_synthesized,
    dns_firewall_associated,
    dns_firewall_rules_as_synthesized,
    role_policies_as_synthesized,
    bucket_policies_keep_their_statements,
    buckets_block_public_access,
)


# --------------------------------------------------------------------------- the rules: the data perimeter


_ENDPOINT_KEYS = ("aws:sourcevpce",)
_VPC_KEYS = ("aws:sourcevpc",)


def bucket_policies_name_our_network(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """A bucket policy that admits requests by ``aws:SourceVpce`` / ``aws:SourceVpc`` names this VPC's endpoints.

    A condition on another account's endpoint lets data out through that endpoint; written
    now for the lab buckets' SourceVpce requirement (issue 22), which then is checked here,
    on the synthesized stacks and on the deployed policies alike.
    """
    if env.vpc is None:  # the network was not read: nothing to tell its endpoints from others'
        return
    endpoints = {e.id for e in env.endpoints}
    for bucket in env.buckets:
        for statement in _statements(bucket.policy):
            for keys in (statement.get("Condition") or {}).values():
                for key, values in keys.items():
                    lowered = key.lower()
                    if lowered not in _ENDPOINT_KEYS + _VPC_KEYS:
                        continue
                    ours = endpoints if lowered in _ENDPOINT_KEYS else {env.vpc}
                    # Allow with StringEquals or Deny with StringNotEquals: either way a foreign
                    # endpoint named is one that the bucket's data can be reached through.
                    foreign = [v for v in _as_list(values) if v not in ours and not _unresolved(v)]
                    if foreign:
                        yield Finding(
                            "perimeter-source",
                            bucket.name,
                            f"statement {statement.get('Sid', '?')} names {key} {', '.join(foreign)}, not this VPC's",
                            "`make deploy STACKS=workload` puts the synthesized policy back",
                        )


def endpoints_keep_the_perimeter(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """Every endpoint, gateway and interface, as synthesized or as found, has a policy that keeps
    principals and resources to our account (the AWS-owned resources read only): none at all is
    AWS's default, full access for anybody's credentials to anybody's resources."""
    accounts = expected.accounts or env.accounts
    synthesized = {e.key for e in expected.endpoints}
    for endpoint in env.endpoints:
        fix = (
            "`make deploy STACKS=network` puts the synthesized policy back"
            if endpoint.key in synthesized
            else f"aws ec2 delete-vpc-endpoints --vpc-endpoint-ids {endpoint.id}"
        )
        for problem in endpoint_policy_problems(endpoint.policy, accounts):
            yield Finding(
                "endpoint-perimeter",
                endpoint.policy_source or endpoint.id,
                f"{endpoint.type.lower()} endpoint of {endpoint.service}: {problem}",
                fix,
            )


def _granted(document: Mapping[str, Any] | None) -> set[str]:
    return {
        str(p)
        for s in _statements(document)
        if s.get("Effect") == "Allow" and isinstance(s.get("Principal"), Mapping)
        for p in _as_list(s["Principal"].get("AWS"))
    }


def lab_buckets_only_through_our_endpoint(
    env: Environment, expected: Environment, bindings: Bindings
) -> Iterator[Finding]:
    """The lab buckets, those whose policy grants the Studio execution role, refuse that role
    outside a VPC endpoint: its credentials, copied out of a notebook, read nothing from the
    internet (which endpoint the deny names is bucket_policies_name_our_network's to judge)."""
    roles = sorted({d.execution_role for d in expected.domains if d.execution_role})
    for bucket in env.buckets:
        granted = _granted(bucket.policy)
        arn = f"${{{bucket.id}.arn}}" if _unresolved(bucket.name) else f"arn:{env.partition}:s3:::{bucket.name}"
        for role in (r for r in roles if r in granted):
            for problem in bucket_endpoint_problems(bucket.policy, arn, [role]):
                yield Finding(
                    "lab-buckets-endpoint",
                    bucket.policy_source or bucket.name,
                    problem,
                    "`make deploy STACKS=workload` puts the synthesized policy back",
                )


def dns_firewall_closes_every_vpc(env: Environment, expected: Environment, bindings: Bindings) -> Iterator[Finding]:
    """Every VPC has a DNS firewall rule group associated that blocks every name it does not
    allow, and the firewall fails closed: else a query for <data>.attacker.example carries data
    out through the VPC's resolver even where no packet can leave."""
    if env.dns_firewall is None:  # not read (the emulator has none): the audit says so
        return
    vpcs = env.vpc_ids or ((env.vpc,) if env.vpc else ())
    live = _live_associations(env)
    associations = [{"vpc_id": a.vpc or env.vpc, "rule_group": a.rule_group, "priority": a.priority} for a in live]
    rules = {
        a.rule_group: [
            {"priority": r.priority, "action": r.action, "domains": list(r.domains), "qtype": r.qtype}
            for r in a.rules or ()
        ]
        for a in live
    }
    again = (
        "`make deploy STACKS=network` associates the stacks' rule group again"
        if expected.dns_firewall
        else "the configuration turns it off (network.dns_firewall = false): turn it on and `make deploy STACKS=network`"
    )
    for problem in dns_firewall_problems(vpcs, associations, rules):
        vpc, _, message = problem.partition(": ")
        yield Finding(
            "dns-perimeter",
            vpc,
            message,
            again if "associated" in message else "`make deploy STACKS=network` puts the synthesized rules back",
        )
    for config in env.dns_configs or ():
        for problem in fail_open_problems(config.fail_open):
            yield Finding(
                "dns-perimeter",
                config.id,
                problem,
                f"aws route53resolver update-firewall-config --resource-id {config.vpc} --firewall-fail-open DISABLED",
            )


# The data perimeter's rules over the same description (issue 22): endpoint policies on every
# endpoint, the lab buckets' aws:SourceVpce requirement, the DNS firewall on every VPC. Each
# rule's judgment is isolated_studio/checks/isolation.py's function (endpoint_policy_problems,
# bucket_endpoint_problems, dns_firewall_problems, fail_open_problems), which the
# synthesized-JSON gate runs too: here it is fed this description, so the synthesized stacks
# and the deployed environment are judged by the same code.
PERIMETER_RULES: tuple[Rule, ...] = (
    bucket_policies_name_our_network,
    endpoints_keep_the_perimeter,
    lab_buckets_only_through_our_endpoint,
    dns_firewall_closes_every_vpc,
)

RULES: tuple[Rule, ...] = ISOLATION_RULES + EXPECTATION_RULES + PERIMETER_RULES


def check(
    env: Environment,
    expected: Environment | None = None,
    bindings: Bindings | None = None,
    rules: Sequence[Rule] = RULES,
) -> list[Finding]:
    """Every finding of every rule; ``expected`` defaults to the environment itself (the static gate)."""
    expected = env if expected is None else expected
    bindings = {} if bindings is None else bindings
    found = [finding for rule in rules for finding in rule(env, expected, bindings)]
    # The commands name deployed ids: for the synthesized stacks the fix is the stack's code.
    return found if env.deployed else [replace(f, fix="") for f in found]


# --------------------------------------------------------------------------- policies


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not document:
        return []
    raw = document.get("Statement", [])
    return [raw] if isinstance(raw, Mapping) else list(raw)


_REFERENCE = re.compile(r"\$\{[^}]*\}")


def _unresolved(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _pattern(value: str, bindings: Bindings) -> re.Pattern[str]:
    """A synthesized value as a pattern: a bound reference is its deployed value, any other matches anything."""
    parts, last = [], 0
    for match in _REFERENCE.finditer(value):
        parts.append(re.escape(value[last : match.start()]))
        bound = bindings.get(match.group(0)[2:-1])
        parts.append(re.escape(bound) if bound else ".+")
        last = match.end()
    parts.append(re.escape(value[last:]))
    return re.compile("".join(parts) + r"\Z")


def _canonical(value: Any) -> Any:
    """Policy values as AWS compares them: a single value and a one-element list alike, order aside."""
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def _values_match(deployed: Any, synthesized: Any, bindings: Bindings) -> bool:
    deployed, synthesized = _canonical(deployed), _canonical(synthesized)
    if isinstance(synthesized, Mapping):
        return (
            isinstance(deployed, Mapping)
            and deployed.keys() == synthesized.keys()
            and all(_values_match(deployed[k], synthesized[k], bindings) for k in synthesized)
        )
    if isinstance(synthesized, list) or isinstance(deployed, list):
        deployed_list, synthesized_list = _as_list(deployed), _as_list(synthesized)
        if len(deployed_list) != len(synthesized_list):
            return False
        remaining = list(deployed_list)
        for item in synthesized_list:
            match = next((d for d in remaining if _values_match(d, item, bindings)), None)
            if match is None:
                return False
            remaining.remove(match)
        return True
    if isinstance(synthesized, str) and "${" in synthesized:
        return isinstance(deployed, str) and bool(_pattern(synthesized, bindings).match(deployed))
    if isinstance(synthesized, str) and _SYMBOLIC.fullmatch(synthesized):
        # A synthesized id: the deployed one; unbound (its network not read) it is as unknown as a reference.
        if synthesized not in bindings:
            return True
        synthesized = bindings[synthesized]
    return str(deployed) == str(synthesized) if isinstance(synthesized, (str, bool)) else deployed == synthesized


_STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)


def _same_statement(deployed: Mapping[str, Any], synthesized: Mapping[str, Any], bindings: Bindings) -> bool:
    for key in _STATEMENT_KEYS:
        have, want = deployed.get(key), synthesized.get(key)
        if key == "Principal":
            have, want = _principal(have), _principal(want)
        if (have is None) != (want is None):
            return False
        if want is not None and not _values_match(have, want, bindings):
            return False
    return True


def _principal(value: Any) -> Any:
    # "*" and {"AWS": "*"} are the same principal to IAM.
    return {"AWS": "*"} if value == "*" else value


def same_document(deployed: Mapping[str, Any], synthesized: Mapping[str, Any], bindings: Bindings) -> bool:
    have, want = _statements(deployed), _statements(synthesized)
    return len(have) == len(want) and all(any(_same_statement(h, w, bindings) for h in have) for w in want)


def statement_difference(deployed: Mapping[str, Any], synthesized: Mapping[str, Any], bindings: Bindings) -> str:
    have, want = _statements(deployed), _statements(synthesized)
    extra = [h for h in have if not any(_same_statement(h, w, bindings) for w in want)]
    missing = [w for w in want if not any(_same_statement(h, w, bindings) for h in have)]
    parts = []
    if extra:
        parts.append("added " + summarize({"Statement": extra}))
    if missing:
        parts.append("missing " + summarize({"Statement": missing}))
    return "; ".join(parts) or "same statements"


def summarize(document: Mapping[str, Any]) -> str:
    """Statements in one line: ``Allow sts:* on * for *``."""
    parts = []
    for s in _statements(document):
        actions = ", ".join(map(str, _as_list(s.get("Action") or s.get("NotAction"))))
        resources = ", ".join(map(str, _as_list(s.get("Resource") or s.get("NotResource"))))
        principal = s.get("Principal")
        who = "*" if principal in ("*", {"AWS": "*"}) else json.dumps(principal, sort_keys=True) if principal else ""
        text = f"{s.get('Effect', 'Allow')} {actions} on {resources}" + (f" for {who}" if who else "")
        if s.get("Condition"):
            text += " when " + json.dumps(s["Condition"], sort_keys=True)
        parts.append(text)
    return "; ".join(parts)


# --------------------------------------------------------------------------- from the synthesized stacks


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _within(cidr: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    inner = ipaddress.ip_network(cidr, strict=False)
    return inner.version == network.version and inner.subnet_of(network)  # type: ignore[arg-type]


class _Stacks:
    """Resolves references in the synthesized stacks to values or to the resources they name."""

    def __init__(
        self, stacks: Mapping[str, Mapping[str, Any]], *, account: str | None, partition: str, region: str | None
    ) -> None:
        self.stacks = stacks
        self.account, self.partition, self.region = account, partition, region

    def resources(self, rtype: str) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        for stack, doc in self.stacks.items():
            for name, body in (doc.get("resource", {}).get(rtype) or {}).items():
                yield stack, f"{rtype}.{name}", body

    def resource(self, stack: str, address: str) -> Mapping[str, Any] | None:
        rtype, _, name = address.partition(".")
        return (self.stacks.get(stack, {}).get("resource", {}).get(rtype) or {}).get(name)

    def value(self, stack: str, value: Any) -> Any:
        """``value`` with every reference resolved as far as the stacks allow."""
        if isinstance(value, list):
            return [self.value(stack, v) for v in value]
        if isinstance(value, Mapping):
            return {k: self.value(stack, v) for k, v in value.items() if k != "//"}
        if not isinstance(value, str) or "${" not in value:
            return value
        whole = re.fullmatch(r"\$\{([^}]*)\}", value)
        if whole:
            resolved = self.reference(stack, whole.group(1))
            return value if resolved is None else resolved
        return _REFERENCE.sub(lambda m: self._embedded(stack, m.group(0)), value)

    def _embedded(self, stack: str, reference: str) -> str:
        """A reference inside a longer string: its value, or, for an id AWS assigns, ``${<address>}``
        (still a reference: :func:`bind` gives it its deployed value)."""
        resolved = self.reference(stack, reference[2:-1])
        if isinstance(resolved, str) and _SYMBOLIC.fullmatch(resolved):
            return "${" + resolved + "}"
        return resolved if isinstance(resolved, str) else reference

    def reference(self, stack: str, expression: str) -> Any:
        parts = expression.split(".")
        if parts[0] == "data":
            kind = parts[1]
            if kind == "terraform_remote_state" and len(parts) >= 5 and parts[3] == "outputs":
                for other, doc in self.stacks.items():
                    output = (doc.get("output") or {}).get(parts[4])
                    if other != stack and output is not None:
                        return self.value(other, output.get("value"))
                return None
            if kind == "aws_caller_identity" and parts[-1] == "account_id":
                return self.account
            if kind == "aws_partition" and parts[-1] == "partition":
                return self.partition
            if kind == "aws_region" and parts[-1] in ("name", "region"):
                return self.region
            if kind == "aws_iam_policy_document" and parts[-1] == "json":
                source = self.stacks.get(stack, {}).get("data", {}).get(kind, {}).get(parts[2])
                return json.dumps(self.policy(stack, render_policy_document(source))) if source else None
            return None
        if len(parts) < 3:
            return None
        address, attribute = ".".join(parts[:2]), parts[2]
        body = self.resource(stack, address)
        if body is None:
            return None
        if attribute == "id" and parts[0] in ("aws_s3_bucket",):
            return self.value(stack, body.get("bucket"))
        if attribute == "id" or (parts[0] == "aws_vpc_endpoint" and attribute == "prefix_list_id"):
            # An id AWS assigns: the resource's address stands for it (bind() maps it to the deployed one).
            return address if attribute == "id" else f"{address}.prefix_list_id"
        if parts[0] == "aws_s3_bucket" and attribute in ("arn", "bucket"):
            name = self.value(stack, body.get("bucket"))
            if not isinstance(name, str) or "${" in name:
                return None
            return f"arn:{self.partition}:s3:::{name}" if attribute == "arn" else name
        if parts[0] in ("aws_iam_role", "aws_iam_policy") and attribute in ("arn", "name"):
            name = self.value(stack, body.get("name"))
            if not isinstance(name, str) or "${" in name or (attribute == "arn" and not self.account):
                return None
            path = body.get("path") or "/"
            kind = "role" if parts[0] == "aws_iam_role" else "policy"
            return f"arn:{self.partition}:iam::{self.account}:{kind}{path}{name}" if attribute == "arn" else name
        if attribute in body and not isinstance(body[attribute], (Mapping, list)):
            return self.value(stack, body[attribute])
        return None

    def policy(self, stack: str, document: Mapping[str, Any]) -> Mapping[str, Any]:
        return self.value(stack, document)

    def policy_of(self, stack: str, value: Any) -> Mapping[str, Any] | None:
        if not isinstance(value, str) or not value:
            return None
        ref = POLICY_DOCUMENT_REF.match(value.strip())
        if ref:
            source = self.stacks[stack].get("data", {}).get("aws_iam_policy_document", {}).get(ref.group(1))
            return self.policy(stack, render_policy_document(source)) if source else None
        try:
            return self.policy(stack, json.loads(value))
        except json.JSONDecodeError:
            return None


# A synthesized id: the address of the resource AWS assigns it to (and a gateway endpoint's prefix list).
_SYMBOLIC = re.compile(r"aws_[a-z0-9_]+\.[^.${}]+(?:\.prefix_list_id)?")


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in _as_list(value) if v is not None)


_ROUTE_TARGETS = (
    ("gateway_id", "gateway"),
    ("nat_gateway_id", "NAT gateway"),
    ("egress_only_gateway_id", "egress-only gateway"),
    ("transit_gateway_id", "transit gateway"),
    ("vpc_peering_connection_id", "peering connection"),
    ("network_interface_id", "network interface"),
    ("instance_id", "instance"),
    ("local_gateway_id", "local gateway"),
    ("carrier_gateway_id", "carrier gateway"),
    ("core_network_arn", "core network"),
    ("vpc_endpoint_id", "endpoint"),
)
_ROUTE_DESTINATIONS = (
    "destination_cidr_block",
    "destination_ipv6_cidr_block",
    "destination_prefix_list_id",
    "cidr_block",
    "ipv6_cidr_block",
)

_FORBIDDEN = {
    "aws_internet_gateway": "internet gateway",
    "aws_internet_gateway_attachment": "internet gateway",
    "aws_egress_only_internet_gateway": "egress-only internet gateway",
    "aws_nat_gateway": "NAT gateway",
    "aws_eip": "elastic IP",
    "aws_eip_association": "elastic IP",
    "aws_vpn_gateway": "VPN gateway",
    "aws_vpn_gateway_attachment": "VPN gateway",
    "aws_customer_gateway": "customer gateway",
}


def _route(table: str, body: Mapping[str, Any], stacks: _Stacks, stack: str, source: str) -> Route:
    destination = next((str(stacks.value(stack, body[k])) for k in _ROUTE_DESTINATIONS if body.get(k)), "?")
    for key, kind in _ROUTE_TARGETS:
        target = body.get(key)
        if target:
            target = str(stacks.value(stack, target))
            if key == "gateway_id" and target.startswith(("aws_vpc_endpoint.", "${aws_vpc_endpoint.", "vpce-")):
                kind = "endpoint"
            elif key == "gateway_id" and target.startswith(("aws_vpn_gateway.", "${aws_vpn_gateway.", "vgw-")):
                kind = "VPN gateway"
            elif key == "gateway_id":
                kind = "internet gateway"
            return Route(table, destination, kind, target, source)
    return Route(table, destination, "unknown target", "?", source)


def _inline_rules(
    group: str, direction: str, blocks: Any, stacks: _Stacks, stack: str, source: str = ""
) -> Iterator[SgRule]:
    for block in _as_list(blocks):
        protocol = str(block.get("protocol", "-1"))
        ports = _ports(protocol, block.get("from_port"), block.get("to_port"))
        for cidr in _strings(stacks.value(stack, block.get("cidr_blocks"))) + _strings(
            stacks.value(stack, block.get("ipv6_cidr_blocks"))
        ):
            yield SgRule(group, direction, protocol, *ports, cidr=cidr, id=source)
        for prefix in _strings(stacks.value(stack, block.get("prefix_list_ids"))):
            yield SgRule(group, direction, protocol, *ports, prefix_list=prefix, id=source)
        for other in _strings(stacks.value(stack, block.get("security_groups"))):
            yield SgRule(group, direction, protocol, *ports, referenced_group=other, id=source)
        if block.get("self"):
            yield SgRule(group, direction, protocol, *ports, referenced_group=group, id=source)


def _ports(protocol: str, low: Any, high: Any) -> tuple[int | None, int | None]:
    if protocol in ("-1", "all") or low is None:
        return None, None
    return int(low), int(high if high is not None else low)


def from_stacks(
    stacks: Mapping[str, Mapping[str, Any]],
    *,
    account: str | None = None,
    partition: str = "aws",
    region: str | None = None,
) -> Environment:
    """The boundary the synthesized stacks (``{stack: cdk.tf.json}``) describe.

    ``account`` resolves ``data.aws_caller_identity`` (bucket names, role ARNs); without it
    those stay references, which match any deployed value.
    """
    s = _Stacks(stacks, account=account, partition=partition, region=region)
    vpcs = [(address, body) for _, address, body in s.resources("aws_vpc")]
    vpc = vpcs[0][0] if len(vpcs) == 1 else None
    cidrs = tuple(str(body.get("cidr_block")) for _, body in vpcs if body.get("cidr_block"))
    subnets = tuple(
        Subnet(address, body.get("cidr_block"), body.get("map_public_ip_on_launch") is True)
        for _, address, body in s.resources("aws_subnet")
    )
    gateways = tuple(
        Gateway(kind, address) for rtype, kind in _FORBIDDEN.items() for _, address, _ in s.resources(rtype)
    )
    tables, routes = [], []
    for rtype in ("aws_route_table", "aws_default_route_table"):
        for stack, address, body in s.resources(rtype):
            tables.append(address)
            routes += [_route(address, r, s, stack, address) for r in _as_list(body.get("route"))]
    for stack, address, body in s.resources("aws_route"):
        routes.append(_route(str(s.value(stack, body.get("route_table_id"))), body, s, stack, address))
    attachments = tuple(
        [
            Attachment("peering connection", address, str(s.value(stack, body.get("peer_vpc_id"))))
            for stack, address, body in s.resources("aws_vpc_peering_connection")
        ]
        + [
            Attachment("peering connection", address, str(s.value(stack, body.get("vpc_peering_connection_id"))))
            for stack, address, body in s.resources("aws_vpc_peering_connection_accepter")
        ]
        + [
            Attachment("transit gateway attachment", address, str(s.value(stack, body.get("transit_gateway_id"))))
            for stack, address, body in s.resources("aws_ec2_transit_gateway_vpc_attachment")
        ]
    )
    groups: dict[str, str] = {}
    rules: list[SgRule] = []
    for rtype in ("aws_security_group", "aws_default_security_group"):
        for stack, address, body in s.resources(rtype):
            groups[address] = str(s.value(stack, body.get("name") or "default"))
            for direction in ("ingress", "egress"):
                rules += _inline_rules(address, direction, body.get(direction), s, stack)
    rule_types: tuple[tuple[str, str | None], ...] = (
        ("aws_vpc_security_group_ingress_rule", "ingress"),
        ("aws_vpc_security_group_egress_rule", "egress"),
        ("aws_security_group_rule", None),
    )
    for rtype, rule_direction in rule_types:
        for stack, address, body in s.resources(rtype):
            group = str(s.value(stack, body.get("security_group_id")))
            if rule_direction is None:  # aws_security_group_rule: the inline block's shape plus a type
                rules += _inline_rules(
                    group,
                    str(body.get("type")),
                    [
                        {
                            **body,
                            "security_groups": [body["source_security_group_id"]]
                            if body.get("source_security_group_id")
                            else [],
                        }
                    ],
                    s,
                    stack,
                    address,
                )
                continue
            protocol = str(body.get("ip_protocol", "-1"))
            ports = _ports(protocol, body.get("from_port"), body.get("to_port"))
            rules.append(
                SgRule(
                    group,
                    rule_direction,
                    protocol,
                    *ports,
                    cidr=s.value(stack, body.get("cidr_ipv4") or body.get("cidr_ipv6")) or None,
                    prefix_list=s.value(stack, body.get("prefix_list_id")) or None,
                    referenced_group=s.value(stack, body.get("referenced_security_group_id")) or None,
                    id=address,
                )
            )
    policies = {
        str(s.value(stack, body.get("vpc_endpoint_id"))): (address, s.policy_of(stack, body.get("policy")))
        for stack, address, body in s.resources("aws_vpc_endpoint_policy")
    }
    endpoints = tuple(
        Endpoint(
            address,
            str(s.value(stack, body.get("service_name"))),
            str(body.get("vpc_endpoint_type") or "Gateway"),
            body.get("private_dns_enabled"),
            policy,
            f"{address}.prefix_list_id" if (body.get("vpc_endpoint_type") or "Gateway") == "Gateway" else None,
            source if policy is not None else "",
        )
        for stack, address, body in s.resources("aws_vpc_endpoint")
        for source, policy in [policies.get(address) or (address, s.policy_of(stack, body.get("policy")))]
    )
    domains = tuple(
        Domain(
            address,
            str(s.value(stack, body.get("domain_name"))),
            body.get("app_network_access_type"),
            s.value(stack, body.get("vpc_id")),
            _strings(s.value(stack, body.get("subnet_ids"))),
            _domain_groups(s.value(stack, body)),
            _execution_role(s.value(stack, body.get("default_user_settings"))),
        )
        for stack, address, body in s.resources("aws_sagemaker_domain")
    )
    blocks = {
        str(s.value(stack, body.get("bucket"))): {
            key: body.get(snake) is True for key, snake in _PUBLIC_ACCESS_KEYS.items()
        }
        for stack, _, body in s.resources("aws_s3_bucket_public_access_block")
    }
    bucket_policies = {
        str(s.value(stack, body.get("bucket"))): (
            address,
            s.policy_of(stack, body.get("policy")),
            _ref_address(body.get("bucket"), "aws_s3_bucket"),
        )
        for stack, address, body in s.resources("aws_s3_bucket_policy")
    }
    buckets = [
        Bucket(
            address,
            name,
            bucket_policies.get(name, ("", None, ""))[1],
            blocks.get(name),
            bucket_policies.get(name, ("", None, ""))[0],
        )
        for stack, address, body in s.resources("aws_s3_bucket")
        for name in [str(s.value(stack, body.get("bucket")))]
    ]
    # A policy on a bucket the stacks do not create (or name only by reference) is judged too.
    known = {b.name for b in buckets}
    buckets += [
        Bucket(bucket or source, name, policy, blocks.get(name), source)
        for name, (source, policy, bucket) in bucket_policies.items()
        if name not in known
    ]
    return Environment(
        "synthesized",
        vpc,
        cidrs,
        subnets,
        gateways,
        tuple(tables),
        tuple(routes),
        attachments,
        groups,
        tuple(rules),
        endpoints,
        _dns_associations(s),
        domains,
        tuple(buckets),
        vpc_ids=tuple(address for address, _ in vpcs),
        dns_configs=tuple(
            DnsFirewallConfig(
                address, str(s.value(stack, body.get("resource_id"))), str(body.get("firewall_fail_open") or "DISABLED")
            )
            for stack, address, body in s.resources("aws_route53_resolver_firewall_config")
        ),
        roles=_roles(s),
        partition=partition,
        accounts=(account,)
        if account
        else tuple(
            sorted(
                f"${{data.aws_caller_identity.{name}.account_id}}"
                for doc in stacks.values()
                for name in (doc.get("data") or {}).get("aws_caller_identity") or {}
            )
        ),
    )


def _ref_address(value: Any, rtype: str) -> str:
    """``rtype.name`` when ``value`` is a reference to an attribute of one resource of that type."""
    match = re.fullmatch(rf"\$\{{({rtype}\.[^.}}]+)\.[a-z_]+\}}", str(value or ""))
    return match.group(1) if match else ""


def _execution_role(settings: Any) -> str | None:
    settings = settings[0] if isinstance(settings, list) and settings else settings
    role = settings.get("execution_role") if isinstance(settings, Mapping) else None
    return str(role) if role else None


def _dns_associations(s: _Stacks) -> tuple[DnsFirewallAssociation, ...]:
    lists = {
        address: tuple(_strings(s.value(stack, body.get("domains"))))
        for stack, address, body in s.resources("aws_route53_resolver_firewall_domain_list")
    }
    rules: dict[str, list[DnsFirewallRule]] = {}
    for _stack, address, body in s.resources("aws_route53_resolver_firewall_rule"):
        domain_list = _ref_address(body.get("firewall_domain_list_id"), "aws_route53_resolver_firewall_domain_list")
        rules.setdefault(
            _ref_address(body.get("firewall_rule_group_id"), "aws_route53_resolver_firewall_rule_group"), []
        ).append(
            DnsFirewallRule(
                int(body.get("priority") or 0),
                str(body.get("action")),
                lists.get(domain_list, ()),
                domain_list,
                body.get("q_type") or None,
                address,
            )
        )
    return tuple(
        DnsFirewallAssociation(
            address,
            str(s.value(stack, body.get("firewall_rule_group_id"))),
            _rule_group_name(s, stack, body.get("firewall_rule_group_id")),
            vpc=s.value(stack, body.get("vpc_id")),
            priority=body.get("priority"),
            rules=tuple(
                rules.get(
                    _ref_address(body.get("firewall_rule_group_id"), "aws_route53_resolver_firewall_rule_group"), ()
                )
            ),
        )
        for stack, address, body in s.resources("aws_route53_resolver_firewall_rule_group_association")
    )


def _roles(s: _Stacks) -> tuple[Role, ...]:
    """Every role the stacks create, with its inline and attached policies and its boundary."""
    parts: dict[str, dict[str, Any]] = {}  # a role's address or name -> what the stacks give it

    def of(stack: str, value: Any) -> dict[str, Any]:
        key = str(s.value(stack, value))  # "${aws_iam_role.x.id}" -> its address, "${....name}" -> its name
        return parts.setdefault(key, {"inline": {}, "attached": [], "sources": {}})

    for stack, address, body in s.resources("aws_iam_role_policy"):
        found, name = of(stack, body.get("role")), str(s.value(stack, body.get("name")))
        found["inline"][name] = s.policy_of(stack, body.get("policy"))
        found["sources"][f"inline:{name}"] = address
    for stack, address, body in s.resources("aws_iam_role_policy_attachment"):
        found, arn = of(stack, body.get("role")), str(s.value(stack, body.get("policy_arn")))
        found["attached"].append(arn)
        found["sources"][f"attached:{arn}"] = address
    for rtype, key in (
        ("aws_iam_role_policies_exclusive", "exclusive-inline"),
        ("aws_iam_role_policy_attachments_exclusive", "exclusive-attachments"),
    ):
        for stack, address, body in s.resources(rtype):
            of(stack, body.get("role_name"))["sources"][key] = address
    roles = []
    for stack, address, body in s.resources("aws_iam_role"):
        name = str(s.value(stack, body.get("name")))
        given: dict[str, Any] = {"inline": {}, "attached": [], "sources": {}}
        for key in (address, name):
            for part in ("inline", "sources"):
                given[part].update(parts.get(key, {}).get(part, {}))
            given["attached"] += parts.get(key, {}).get("attached", [])
        boundary, boundary_policy = body.get("permissions_boundary"), None
        policy = _ref_address(boundary, "aws_iam_policy")
        if policy:
            given["sources"]["boundary"] = policy
            boundary_policy = s.policy_of(stack, (s.resource(stack, policy) or {}).get("policy"))
        roles.append(
            Role(
                address,
                name,
                str(s.value(stack, f"${{{address}.arn}}")),
                given["inline"],
                tuple(given["attached"]),
                str(s.value(stack, boundary)) if boundary else None,
                boundary_policy,
                given["sources"],
                stack,
            )
        )
    return tuple(roles)


_PUBLIC_ACCESS_KEYS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}


def _domain_groups(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The security groups of the domain's apps, spaces and its own (the domain settings')."""
    found: list[str] = []
    for settings, key in (
        ("default_user_settings", "security_groups"),
        ("default_space_settings", "security_groups"),
        ("domain_settings", "security_group_ids"),
    ):
        block = body.get(settings) or {}
        block = block[0] if isinstance(block, list) and block else block
        found += [g for g in _strings(block.get(key) if isinstance(block, Mapping) else None) if g not in found]
    return tuple(found)


def _rule_group_name(s: _Stacks, stack: str, reference: Any) -> str | None:
    if not isinstance(reference, str):
        return None
    match = re.fullmatch(r"\$\{(aws_route53_resolver_firewall_rule_group\.[^.}]+)\.id\}", reference)
    body = s.resource(stack, match.group(1)) if match else None
    name = s.value(stack, body.get("name")) if body else None
    return name if isinstance(name, str) and "${" not in name else None


# --------------------------------------------------------------------------- expected ids -> deployed ids


def bind(expected: Environment, deployed: Environment) -> dict[str, str]:
    """The deployed id of each synthesized object, matched by what identifies it."""
    bindings: dict[str, str] = {}
    if expected.vpc and deployed.vpc:
        bindings[expected.vpc] = deployed.vpc
    by_cidr = {s.cidr: s.id for s in deployed.subnets}
    bindings.update({s.id: by_cidr[s.cidr] for s in expected.subnets if s.cidr in by_cidr})
    by_name = {name: group for group, name in deployed.security_groups.items()}
    bindings.update({group: by_name[name] for group, name in expected.security_groups.items() if name in by_name})
    by_key = {e.key: e for e in deployed.endpoints}
    for endpoint in expected.endpoints:
        found = by_key.get(endpoint.key)
        if found is not None:
            bindings[endpoint.id] = found.id
            if endpoint.prefix_list and found.prefix_list:
                bindings[endpoint.prefix_list] = found.prefix_list
    by_bucket = {b.name for b in deployed.buckets}
    bindings.update({b.id: b.name for b in expected.buckets if b.name in by_bucket})
    by_domain = {d.name: d.id for d in deployed.domains}
    bindings.update({d.id: by_domain[d.name] for d in expected.domains if d.name in by_domain})
    by_group = {a.rule_group_name: a.rule_group for a in deployed.dns_firewall or () if a.rule_group_name}
    bindings.update(
        {
            a.rule_group: by_group[a.rule_group_name]
            for a in expected.dns_firewall or ()
            if a.rule_group_name in by_group
        }
    )
    return bindings


def without(env: Environment, addresses: Iterable[str]) -> tuple[Environment, list[str]]:
    """``env`` without what the resources at ``addresses`` make (those the emulator does not
    create), and a line per role saying what was left out."""
    gone = set(addresses)
    roles, left_out = [], []
    for role in env.roles or ():
        dropped = {key for key, address in role.sources.items() if address in gone}
        if not dropped:
            roles.append(role)
            continue
        kept = {key: address for key, address in role.sources.items() if key not in dropped}
        roles.append(
            replace(
                role,
                inline={n: d for n, d in role.inline.items() if f"inline:{n}" not in dropped},
                attached=tuple(a for a in role.attached if f"attached:{a}" not in dropped),
                boundary=None if "boundary" in dropped else role.boundary,
                boundary_policy=None if "boundary" in dropped else role.boundary_policy,
                sources=kept,
            )
        )
        what = sorted(
            key.replace("inline:", "inline policy ")
            .replace("attached:", "managed policy ")
            .replace("exclusive-inline", "exclusive inline policies")
            .replace("exclusive-attachments", "exclusive attachments")
            for key in dropped
        )
        left_out.append(f"role {role.name}: {', '.join(what)}")
    return replace(env, roles=tuple(roles) if env.roles is not None else None), left_out
