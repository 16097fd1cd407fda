"""The isolation rules, checked on synthesized Terraform JSON.

The product promise is "no path to the internet". These checks state it in code and run
over every synthesized stack; tests also run them on a deliberately bad stack so that the
gate itself is known to fail when it should.
"""

from __future__ import annotations

from typing import Any, Iterator

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
            dest = {body.get("destination_cidr_block"), body.get("destination_ipv6_cidr_block")} & OPEN_CIDRS
            if dest:
                found.append(f"{address}: default route to {sorted(dest)}")
        if rtype in ("aws_route_table", "aws_default_route_table"):
            for route in _as_list(body.get("route")):
                dest = {route.get("cidr_block"), route.get("ipv6_cidr_block")} & OPEN_CIDRS
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
    return found
