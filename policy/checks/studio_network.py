"""Network isolation: no path to or from the internet (CKV_STUDIO_1 to CKV_STUDIO_4)."""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from studio_common import MISSING, attr, blocks, is_ref, is_true, is_world_cidr, leaves


class NoInternetGateway(BaseResourceCheck):
    """Any internet gateway, NAT gateway or Elastic IP is an internet path: the VPC has none.

    A NAT gateway fails too, even a private one: nothing in this design routes through NAT.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Isolated VPC: no internet gateway, egress-only gateway, NAT gateway, Elastic IP or VPN gateway",
            id="CKV_STUDIO_1",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                "aws_internet_gateway",
                "aws_internet_gateway_attachment",
                "aws_egress_only_internet_gateway",
                "aws_nat_gateway",
                "aws_eip",
                "aws_eip_association",
                # Site-to-site VPN: a path out of the VPC the isolation gate forbids as well.
                "aws_vpn_gateway",
                "aws_customer_gateway",
            ],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["resource_type"]
        self.details.append(f"{self.entity_type} gives the isolated VPC a path to the internet")
        return CheckResult.FAILED


class NoDefaultRoute(BaseResourceCheck):
    """A route to 0.0.0.0/0 or ::/0 (whatever its target) leaves the VPC: private route tables
    only hold the local route and the S3 gateway endpoint's prefix-list route."""

    def __init__(self) -> None:
        super().__init__(
            name="Isolated VPC: no route to 0.0.0.0/0 or ::/0",
            id="CKV_STUDIO_2",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_route", "aws_route_table", "aws_default_route_table"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        if self.entity_type == "aws_route":
            keys = ("destination_cidr_block", "destination_ipv6_cidr_block")
            routes = [conf]
        else:
            keys = ("cidr_block", "ipv6_cidr_block")
            routes = blocks(conf, "route")
        self.evaluated_keys = list(keys) if self.entity_type == "aws_route" else [f"route/[*]/{k}" for k in keys]
        for route in routes:
            for key in keys:
                for value in leaves(attr(route, key)):
                    if is_world_cidr(value):
                        self.details.append(f"route to {value}")
                        return CheckResult.FAILED
        return CheckResult.PASSED


class NoWorldOpenSecurityGroupRule(BaseResourceCheck):
    """No security group rule, in either direction and on any port, names 0.0.0.0/0 or ::/0.

    Studio reaches AWS through the interface endpoints (HTTPS to the VPC CIDR) and S3 through the
    gateway endpoint's prefix list; the seed's open egress is exactly what this design removes.
    """

    INLINE_KEYS = ("cidr_blocks", "ipv6_cidr_blocks")
    KEYS = {
        "aws_security_group_rule": ("cidr_blocks", "ipv6_cidr_blocks"),
        "aws_vpc_security_group_ingress_rule": ("cidr_ipv4", "cidr_ipv6"),
        "aws_vpc_security_group_egress_rule": ("cidr_ipv4", "cidr_ipv6"),
    }

    def __init__(self) -> None:
        super().__init__(
            name="Security groups: no rule to or from 0.0.0.0/0 or ::/0 (any port, any direction)",
            id="CKV_STUDIO_3",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                "aws_security_group",
                "aws_default_security_group",
                "aws_security_group_rule",
                "aws_vpc_security_group_ingress_rule",
                "aws_vpc_security_group_egress_rule",
            ],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        if self.entity_type in self.KEYS:
            direction = attr(conf, "type", "rule")  # aws_security_group_rule
            if self.entity_type.startswith("aws_vpc_security_group_"):
                direction = self.entity_type.split("_")[-2]  # ingress / egress
            rules = [(direction, conf)]
            keys = self.KEYS[self.entity_type]
            self.evaluated_keys = list(keys)
        else:
            rules = [(d, rule) for d in ("ingress", "egress") for rule in blocks(conf, d)]
            keys = self.INLINE_KEYS
            self.evaluated_keys = [f"{d}/[*]/{k}" for d in ("ingress", "egress") for k in keys]
        for direction, rule in rules:
            for key in keys:
                for value in leaves(attr(rule, key)):
                    if is_world_cidr(value):
                        self.details.append(f"{direction} {key} = {value}")
                        return CheckResult.FAILED
        return CheckResult.PASSED


class InterfaceEndpointPrivateDns(BaseResourceCheck):
    """Interface endpoints need private DNS: without it the SDKs resolve the public service names,
    which have no route from the isolated subnets."""

    def __init__(self) -> None:
        super().__init__(
            name="VPC interface endpoints have private DNS enabled",
            id="CKV_STUDIO_4",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_vpc_endpoint"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["vpc_endpoint_type", "private_dns_enabled"]
        endpoint_type = attr(conf, "vpc_endpoint_type", "Gateway")  # Terraform's default
        if is_ref(endpoint_type) or str(endpoint_type).lower() != "interface":
            return CheckResult.PASSED
        value = attr(conf, "private_dns_enabled")
        if value is MISSING or not is_true(value):
            self.details.append("private_dns_enabled is not true (Terraform's default is false)")
            return CheckResult.FAILED
        return CheckResult.PASSED


check_no_internet_gateway = NoInternetGateway()
check_no_default_route = NoDefaultRoute()
check_no_world_open_rule = NoWorldOpenSecurityGroupRule()
check_interface_endpoint_private_dns = InterfaceEndpointPrivateDns()
