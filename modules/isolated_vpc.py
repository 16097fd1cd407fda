"""A VPC with private subnets only: no internet, NAT or egress-only gateway, no default route."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from modules.props import cidr_problem, name_tags, raise_for


@dataclass(frozen=True)
class IsolatedVpcProps:
    """Inputs of :class:`IsolatedVpc`.

    name: prefix for the Name tags.
    cidr: the VPC's IPv4 CIDR.
    availability_zones: one private subnet per AZ, in this order.
    subnet_cidrs: one CIDR per AZ, inside ``cidr``, not overlapping.
    tags: extra tags for every resource (provider default tags apply too).
    """

    name: str
    cidr: str
    availability_zones: Sequence[str]
    subnet_cidrs: Sequence[str]
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = [p for p in [cidr_problem("cidr", self.cidr)] if p]
        if not self.name:
            found.append("name: must not be empty")
        if len(self.availability_zones) < 2:
            found.append("availability_zones: at least two are needed")
        if len(self.subnet_cidrs) != len(self.availability_zones):
            found.append(
                f"subnet_cidrs: {len(self.subnet_cidrs)} given for {len(self.availability_zones)} availability zones"
            )
        subnets = []
        for cidr in self.subnet_cidrs:
            problem = cidr_problem("subnet_cidrs", cidr)
            if problem:
                found.append(problem)
            else:
                subnets.append(ipaddress.ip_network(cidr))
        if not found:
            vpc = ipaddress.ip_network(self.cidr)
            for i, sub in enumerate(subnets):
                if not sub.subnet_of(vpc):
                    found.append(f"subnet_cidrs: {sub} is outside {vpc}")
                found.extend(
                    f"subnet_cidrs: {sub} overlaps {other}" for other in subnets[i + 1:] if sub.overlaps(other)
                )
        return found


class IsolatedVpc(Construct):
    """The VPC, one private subnet and route table per AZ, and a default SG with no rules.

    Attributes: ``vpc``, ``subnets``, ``route_tables`` (lists in AZ order) and
    ``default_security_group``. There is deliberately no way to add a gateway here.
    """

    def __init__(self, scope: Construct, id: str, *, props: IsolatedVpcProps) -> None:
        raise_for("IsolatedVpc", props.problems())
        super().__init__(scope, id)
        tags = dict(props.tags)
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=props.cidr,
            enable_dns_support=True,  # interface endpoints with private DNS need both
            enable_dns_hostnames=True,
            tags=name_tags(props.name, tags),
        )
        # Taking over the default SG with no rules means nothing can fall back to its allow-all.
        self.default_security_group = DefaultSecurityGroup(
            self, "default-security-group", vpc_id=self.vpc.id, ingress=[], egress=[],
            tags=name_tags(f"{props.name}-default-deny", tags),
        )
        self.subnets: list[Subnet] = []
        self.route_tables: list[RouteTable] = []
        # Index-based ids: adding an AZ appends resources instead of renaming existing ones.
        for index, (az, cidr) in enumerate(zip(props.availability_zones, props.subnet_cidrs)):
            subnet = Subnet(
                self,
                f"private-subnet-{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags=name_tags(f"{props.name}-private-{az}", {**tags, "Tier": "private"}),
            )
            # Only the implicit local route: an own table per subnet, never a 0.0.0.0/0 route.
            table = RouteTable(
                self, f"private-route-table-{index}", vpc_id=self.vpc.id,
                tags=name_tags(f"{props.name}-private-{az}", tags),
            )
            RouteTableAssociation(
                self, f"private-route-table-association-{index}", subnet_id=subnet.id, route_table_id=table.id
            )
            self.subnets.append(subnet)
            self.route_tables.append(table)
