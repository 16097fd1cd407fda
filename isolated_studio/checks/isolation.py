"""The isolation rules, checked on synthesized Terraform JSON.

The product promise is "no path to the internet", and a perimeter around the data: every VPC
endpoint has a policy that keeps other accounts' credentials and resources out, the lab buckets
refuse the execution role outside our S3 endpoint, and a DNS firewall is associated with the
VPC. These checks state it in code and run over every synthesized stack; tests also run them on
deliberately bad stacks so that the gate itself is known to fail when it should.

The perimeter rules are plain functions over policy documents and resource settings
(:func:`endpoint_policy_problems`, :func:`bucket_endpoint_problems`, :func:`dns_firewall_problems`):
:func:`violations` feeds them what a synthesis holds (Terraform references standing for IDs), and
a live audit can feed them what boto3 reads (``DescribeVpcEndpoints``, ``GetBucketPolicy``,
``ListFirewallRuleGroupAssociations``...).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from isolated_studio.checks.policy_documents import POLICY_DOCUMENT_REF, render_policy_document

# Resource types that create a path to or from the internet.
FORBIDDEN_TYPES = {
    "aws_internet_gateway": "internet gateway",
    "aws_internet_gateway_attachment": "internet gateway attachment",
    "aws_egress_only_internet_gateway": "egress-only internet gateway",
    "aws_nat_gateway": "NAT gateway",
    "aws_eip": "elastic IP",
    "aws_eip_association": "elastic IP association",
    "aws_vpn_gateway": "VPN gateway",
    "aws_customer_gateway": "customer gateway",
}
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
SG_RULE_TYPES = (
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
)


def _resources(doc: dict) -> Iterator[tuple[str, str, dict]]:
    for rtype, items in doc.get("resource", {}).items():
        for name, body in items.items():
            yield rtype, name, body


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _open_cidrs(rule: dict) -> set[str]:
    found = set()
    for key in ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6"):
        found |= {c for c in _as_list(rule.get(key)) if c in OPEN_CIDRS}
    return found


def violations(doc: dict) -> list[str]:
    """Every way a stack document breaks isolation, as readable lines (empty when isolated)."""
    found: list[str] = []
    for rtype, name, body in _resources(doc):
        address = f"{rtype}.{name}"
        if rtype in FORBIDDEN_TYPES:
            found.append(f"{address}: {FORBIDDEN_TYPES[rtype]} is never allowed")
        if rtype == "aws_route":
            dest = OPEN_CIDRS & {body.get("destination_cidr_block"), body.get("destination_ipv6_cidr_block")}
            if dest:
                found.append(f"{address}: default route to {sorted(dest)}")
        if rtype in ("aws_route_table", "aws_default_route_table"):
            for route in _as_list(body.get("route")):
                dest = OPEN_CIDRS & {route.get("cidr_block"), route.get("ipv6_cidr_block")}
                if dest:
                    found.append(f"{address}: inline default route to {sorted(dest)}")
        if rtype in ("aws_security_group", "aws_default_security_group"):
            for direction in ("ingress", "egress"):
                for rule in _as_list(body.get(direction)):
                    if _open_cidrs(rule):
                        found.append(f"{address}: {direction} rule open to {sorted(_open_cidrs(rule))}")
        if rtype in SG_RULE_TYPES and _open_cidrs(body):
            found.append(f"{address}: rule open to {sorted(_open_cidrs(body))}")
        if rtype == "aws_vpc_endpoint" and body.get("vpc_endpoint_type") == "Interface":
            if body.get("private_dns_enabled") is not True:
                found.append(f"{address}: interface endpoint without private DNS")
        if rtype == "aws_subnet" and body.get("map_public_ip_on_launch") is True:
            found.append(f"{address}: subnet assigns public IPs")
        if rtype == "aws_sagemaker_domain" and body.get("app_network_access_type") != "VpcOnly":
            found.append(f"{address}: domain is not VpcOnly")
    return found + perimeter_violations(doc)


# --------------------------------------------------------------------------- the perimeter

# What an endpoint may let anyone do to named AWS-owned resources (presigned downloads of ECR's
# layer bucket and CodeArtifact's assets, pulls of AWS images): reads, nothing that writes.
AWS_OWNED_READS = frozenset(
    {"s3:GetObject", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"}
)
ACCOUNT_KEYS = ("aws:PrincipalAccount", "aws:ResourceAccount")
# What the lab buckets must refuse outside our endpoint: reading, writing and listing data.
BUCKET_DATA_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket")


def _listify(value: Any) -> list:
    return [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]


def _statements(document: Mapping[str, Any]) -> list[dict]:
    return _listify(document.get("Statement"))


def _any_principal(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    return principal == "*" or (isinstance(principal, Mapping) and "*" in _listify(principal.get("AWS")))


def _condition_values(statement: Mapping[str, Any], operators: Sequence[str], key: str) -> list[str] | None:
    """The values a condition compares ``key`` with under one of ``operators`` (None: no such condition)."""
    for operator, block in (statement.get("Condition") or {}).items():
        if operator in operators:
            for name, values in block.items():
                if name.lower() == key.lower():
                    return [str(v) for v in _listify(values)]
    return None


def endpoint_policy_problems(document: Mapping[str, Any] | None, accounts: Collection[str]) -> list[str]:
    """Why an endpoint policy lets requests leave the perimeter (empty when it does not).

    ``document`` is the endpoint's policy (None: the endpoint has none, so AWS's default gives
    full access); ``accounts`` our account ID(s). Every Allow must hold the principal to our
    account (``aws:PrincipalAccount``) and, on ``*`` resources, the resource too
    (``aws:ResourceAccount``, its IfExists form allowed), or allow only reads of named resources
    (the AWS-owned buckets and registries).
    """
    if not document:
        return ["no endpoint policy: AWS's default policy gives every principal full access through it"]
    problems = []
    for index, statement in enumerate(_statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        label = f"statement {statement.get('Sid') or index}"
        actions = _listify(statement.get("Action")) or ["(NotAction)"]
        resources = _listify(statement.get("Resource")) or ["(NotResource)"]
        principals = _condition_values(statement, ("StringEquals",), "aws:PrincipalAccount")
        if principals is None:
            reads_only = all(a in AWS_OWNED_READS for a in actions)
            named = all(
                r not in ("*", "(NotResource)")
                and not r.endswith((":::*", ":::*/*", ":*:repository/*"))
                and "*:" not in r.split(":::", 1)[-1].split("/", 1)[0]
                for r in resources
            )
            if not (reads_only and named):
                problems.append(
                    f"{label}: allows principals of any account {actions} on {resources}; only reads of "
                    "named AWS-owned resources may be open to them"
                )
            continue
        if set(principals) - set(accounts):
            problems.append(f"{label}: aws:PrincipalAccount {sorted(set(principals) - set(accounts))} is not ours")
        if any(r in ("*", "(NotResource)") for r in resources):
            owners = _condition_values(statement, ("StringEquals", "StringEqualsIfExists"), "aws:ResourceAccount")
            if owners is None:
                problems.append(f"{label}: lets our principals reach any account's resources (no aws:ResourceAccount)")
            elif set(owners) - set(accounts):
                problems.append(f"{label}: aws:ResourceAccount {sorted(set(owners) - set(accounts))} is not ours")
    return problems


def _covers(patterns: Sequence[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def bucket_endpoint_problems(
    document: Mapping[str, Any] | None,
    bucket_arn: str,
    principal_arns: Collection[str] | None = None,
    endpoint_ids: Collection[str] | None = None,
) -> list[str]:
    """Why a bucket policy lets the principals read, write or list the bucket outside our endpoints.

    It must hold a Deny for each principal (``Principal`` naming it, or ``*`` with ``ArnEquals`` /
    ``ArnLike`` on ``aws:PrincipalArn``) of the data actions on the bucket and its objects, under
    ``StringNotEquals`` (or its IfExists form: both true for a missing key) on ``aws:SourceVpce``
    with our endpoint IDs, and no other condition that could keep it from applying.
    ``principal_arns`` None: any principal the policy grants; ``endpoint_ids`` None: any endpoint.
    """
    statements = _statements(document or {})
    if principal_arns is None:
        principal_arns = sorted(
            {
                p
                for s in statements
                if s.get("Effect") == "Allow" and isinstance(s.get("Principal"), Mapping)
                for p in _listify(s["Principal"].get("AWS"))
                if p != "*"
            }
        )
        if not principal_arns:
            return []
        need_all = False
    else:
        need_all = True
    covered = set()
    for statement in statements:
        if statement.get("Effect") != "Deny":
            continue
        conditions = statement.get("Condition") or {}
        vpce = _condition_values(statement, ("StringNotEquals", "StringNotEqualsIfExists"), "aws:SourceVpce")
        if not vpce or (endpoint_ids is not None and set(vpce) - set(endpoint_ids)):
            continue
        keys = {name.lower() for block in conditions.values() for name in block}
        if keys - {"aws:sourcevpce", "aws:principalarn"}:
            continue
        actions = _listify(statement.get("Action"))
        resources = _listify(statement.get("Resource"))
        if not all(_covers(actions, a) or "s3:*" in actions or "*" in actions for a in BUCKET_DATA_ACTIONS):
            continue
        if not (_covers(resources, bucket_arn) and _covers(resources, f"{bucket_arn}/object")):
            continue
        named = _condition_values(statement, ("ArnEquals", "ArnLike"), "aws:PrincipalArn")
        if _any_principal(statement):
            covered |= set(principal_arns) if named is None else {p for p in principal_arns if _covers(named, p)}
        elif isinstance(statement.get("Principal"), Mapping) and named is None:
            covered |= set(principal_arns) & set(_listify(statement["Principal"].get("AWS")))
    missing = [p for p in principal_arns if p not in covered]
    if need_all and missing or not need_all and not covered:
        who = missing if need_all else principal_arns
        return [
            f"does not refuse {who} outside {'our VPC endpoint(s) ' + str(sorted(endpoint_ids)) if endpoint_ids else 'a VPC endpoint'} "
            "(a Deny of the data actions under StringNotEquals aws:SourceVpce): copied credentials read it from anywhere"
        ]
    return []


def dns_firewall_problems(
    vpc_ids: Collection[str],
    associations: Sequence[Mapping[str, Any]],
    rules: Mapping[str, Sequence[Mapping[str, Any]]],
    fail_open: Mapping[str, str] | None = None,
) -> list[str]:
    """Why a VPC's DNS queries can reach any name server (empty when none can).

    ``associations``: ``{"vpc_id", "rule_group"}`` (and ``"priority"`` where known) per
    rule-group association; ``rules``: rule group -> its rules as ``{"priority", "action",
    "domains"}`` (and ``"qtype"``, a rule limited to one query type); ``fail_open``: VPC ->
    ``firewall_fail_open`` where known. Each VPC needs an associated rule group whose rules, in
    priority order (rule groups in their association's priority order, as Route 53 Resolver
    evaluates them), BLOCK ``*`` for every query type before any rule lets every name through,
    and must not fail open.
    """
    problems = []
    for vpc in vpc_ids:
        groups = [
            a["rule_group"]
            for a in sorted((a for a in associations if a.get("vpc_id") == vpc), key=lambda a: a.get("priority") or 0)
        ]
        if not groups:
            problems.append(f"{vpc}: no DNS firewall rule group is associated (queries reach any name server)")
            continue
        if not _blocks_every_name(groups, rules):
            problems.append(f"{vpc}: the DNS firewall does not block every other name (no BLOCK rule for '*')")
        problems += [f"{vpc}: {p}" for p in fail_open_problems((fail_open or {}).get(vpc))]
    return problems


def _blocks_every_name(groups: Sequence[str], rules: Mapping[str, Sequence[Mapping[str, Any]]]) -> bool:
    for group in groups:
        for rule in sorted(rules.get(group, ()), key=lambda r: r.get("priority", 0)):
            if "*" not in _listify(rule.get("domains")):
                continue
            if rule.get("action") == "BLOCK" and not rule.get("qtype"):
                return True
            if rule.get("action") == "ALLOW" or rule.get("action") != "BLOCK" and not rule.get("qtype"):
                return False  # every name (of a query type) goes through before anything blocks it
    return False


def fail_open_problems(fail_open: str | None) -> list[str]:
    """Why the DNS firewall setting ``firewall_fail_open`` lets queries through (None: not known)."""
    if fail_open == "ENABLED":
        return ["the DNS firewall fails open (firewall_fail_open = ENABLED): when it cannot answer, every query passes"]
    return []


def _document(doc: Mapping[str, Any], value: Any) -> dict | None:
    """A synthesized policy attribute as a policy dict (a data-document reference or JSON text)."""
    if not isinstance(value, str):
        return None
    ref = POLICY_DOCUMENT_REF.match(value.strip())
    if ref:
        data = doc.get("data", {}).get("aws_iam_policy_document", {}).get(ref.group(1))
        return render_policy_document(data) if data is not None else None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _ref_name(value: Any, rtype: str) -> str | None:
    match = re.fullmatch(rf"\$\{{{rtype}\.([^.}}]+)\.(?:id|arn)\}}", str(value or ""))
    return match.group(1) if match else None


def _rule_group_key(value: Any) -> str:
    """How dns_firewall_problems names a rule group: one of this stack's by its name, any other by
    the id as written, so rules put into one outside group never count for another one's association."""
    return _ref_name(value, "aws_route53_resolver_firewall_rule_group") or f"outside the stack: {value}"


def perimeter_violations(doc: Mapping[str, Any]) -> list[str]:
    """The perimeter rules over one synthesized stack."""
    found: list[str] = []
    res = doc.get("resource", {})
    accounts = {
        f"${{data.aws_caller_identity.{name}.account_id}}"
        for name in doc.get("data", {}).get("aws_caller_identity", {})
    }
    policies = {
        _ref_name(body.get("vpc_endpoint_id"), "aws_vpc_endpoint"): (f"aws_vpc_endpoint_policy.{name}", body)
        for name, body in res.get("aws_vpc_endpoint_policy", {}).items()
    }
    for name, body in res.get("aws_vpc_endpoint", {}).items():
        address, holder = policies.get(name, (f"aws_vpc_endpoint.{name}", body))
        problems = endpoint_policy_problems(_document(doc, holder.get("policy")), accounts)
        found += [f"{address}: {p}" for p in problems]
    # The lab buckets: those granting the Studio domain's execution role.
    roles = {
        body.get("default_user_settings", {}).get("execution_role")
        for body in res.get("aws_sagemaker_domain", {}).values()
    } - {None}
    for name, body in res.get("aws_s3_bucket_policy", {}).items():
        document = _document(doc, body.get("policy")) or {}
        granted = {
            p
            for s in _statements(document)
            if s.get("Effect") == "Allow" and isinstance(s.get("Principal"), Mapping)
            for p in _listify(s["Principal"].get("AWS"))
        }
        for role in sorted(roles & granted):
            bucket = _ref_name(body.get("bucket"), "aws_s3_bucket")
            arn = f"${{aws_s3_bucket.{bucket}.arn}}"
            found += [f"aws_s3_bucket_policy.{name}: {p}" for p in bucket_endpoint_problems(document, arn, [role])]
    if "aws_vpc" in res:
        lists = {
            n: _listify(b.get("domains")) for n, b in res.get("aws_route53_resolver_firewall_domain_list", {}).items()
        }
        rules: dict[str, list[dict]] = {}
        for body in res.get("aws_route53_resolver_firewall_rule", {}).values():
            group = _rule_group_key(body.get("firewall_rule_group_id"))
            domains = lists.get(
                _ref_name(body.get("firewall_domain_list_id"), "aws_route53_resolver_firewall_domain_list"), []
            )
            rules.setdefault(group, []).append(
                {"priority": body.get("priority", 0), "action": body.get("action"), "domains": domains}
            )
        associations = [
            {
                "vpc_id": _ref_name(b.get("vpc_id"), "aws_vpc"),
                "rule_group": _rule_group_key(b.get("firewall_rule_group_id")),
            }
            for b in res.get("aws_route53_resolver_firewall_rule_group_association", {}).values()
        ]
        found += [f"aws_vpc.{p}" for p in dns_firewall_problems(sorted(res["aws_vpc"]), associations, rules)]
    for name, body in res.get("aws_route53_resolver_firewall_config", {}).items():
        found += [
            f"aws_route53_resolver_firewall_config.{name}: {p}"
            for p in fail_open_problems(body.get("firewall_fail_open"))
        ]
    return found
