"""A VPC with private subnets only: no internet, NAT or egress-only gateway, no default route."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_availability_zones import (
    DataAwsAvailabilityZones,
    DataAwsAvailabilityZonesFilter,
)
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from modules.props import cidr_problem, name_tags, raise_for


def _inside(
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network, vpc: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    # subnet_of() raises TypeError across IP versions: a subnet of the other version is outside.
    if isinstance(subnet, ipaddress.IPv4Network) and isinstance(vpc, ipaddress.IPv4Network):
        return subnet.subnet_of(vpc)
    if isinstance(subnet, ipaddress.IPv6Network) and isinstance(vpc, ipaddress.IPv6Network):
        return subnet.subnet_of(vpc)
    return False


@dataclass(frozen=True)
class IsolatedVpcProps:
    """Inputs of :class:`IsolatedVpc`.

    name: prefix for the Name tags.
    cidr: the VPC's IPv4 CIDR.
    subnet_cidrs: one private subnet per CIDR (inside ``cidr``, not overlapping), each in its own zone.
    availability_zone_ids: the zones by AZ ID, one per subnet, in this order; empty: the first
        ``len(subnet_cidrs)`` zones the account has available in the region, read at plan time
        (``aws_availability_zones``: state available, zone type availability-zone, so neither an
        impaired zone nor a Local Zone). Letters are never assumed: new accounts in
        ap-northeast-1 and ca-central-1 have no zone b.
    tags: extra tags for every resource (provider default tags apply too).
    """

    name: str
    cidr: str
    subnet_cidrs: Sequence[str]
    availability_zone_ids: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = [p for p in [cidr_problem("cidr", self.cidr)] if p]
        if not self.name:
            found.append("name: must not be empty")
        if len(self.subnet_cidrs) < 2:
            found.append("subnet_cidrs: at least two subnets (in two zones) are needed")
        if self.availability_zone_ids and len(self.availability_zone_ids) != len(self.subnet_cidrs):
            found.append(
                f"availability_zone_ids: {len(self.availability_zone_ids)} given for {len(self.subnet_cidrs)} subnets"
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
                if not _inside(sub, vpc):
                    found.append(f"subnet_cidrs: {sub} is outside {vpc}")
                found.extend(
                    f"subnet_cidrs: {sub} overlaps {other}" for other in subnets[i + 1 :] if sub.overlaps(other)
                )
        return found


class IsolatedVpc(Construct):
    """The VPC, one private subnet and route table per AZ, and a default SG with no rules.

    Attributes: ``vpc``, ``subnets``, ``route_tables`` (lists in AZ order),
    ``default_security_group`` and ``zones`` (the available-zones data source, or None when the
    zones are pinned by ID). There is deliberately no way to add a gateway here.
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
            self,
            "default-security-group",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=name_tags(f"{props.name}-default-deny", tags),
        )
        self.subnets: list[Subnet] = []
        self.route_tables: list[RouteTable] = []
        self.zones = None
        if not props.availability_zone_ids:
            self.zones = DataAwsAvailabilityZones(
                self,
                "zones",
                state="available",
                filter=[DataAwsAvailabilityZonesFilter(name="zone-type", values=["availability-zone"])],
            )
        # Index-based ids: adding an AZ appends resources instead of renaming existing ones.
        for index, cidr in enumerate(props.subnet_cidrs):
            if self.zones is not None:
                # The provider sorts the names. Once created, a subnet stays in its zone: a zone that
                # later turns impaired, or a new zone, changes the list, and must not replace subnets
                # (and with them the Studio domain and its home EFS).
                zone = {
                    "availability_zone": Fn.element(self.zones.names, index),
                    "lifecycle": TerraformResourceLifecycle(ignore_changes=["availability_zone"]),
                }
                label = str(index + 1)  # not the zone's name: that may differ from the list's later
            else:
                zone = {"availability_zone_id": props.availability_zone_ids[index]}
                label = props.availability_zone_ids[index]
            subnet = Subnet(
                self,
                f"private-subnet-{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                map_public_ip_on_launch=False,
                tags=name_tags(f"{props.name}-private-{label}", {**tags, "Tier": "private"}),
                **zone,
            )
            az = label
            # Only the implicit local route: an own table per subnet, never a 0.0.0.0/0 route.
            table = RouteTable(
                self,
                f"private-route-table-{index}",
                vpc_id=self.vpc.id,
                tags=name_tags(f"{props.name}-private-{az}", tags),
            )
            RouteTableAssociation(
                self, f"private-route-table-association-{index}", subnet_id=subnet.id, route_table_id=table.id
            )
            self.subnets.append(subnet)
            self.route_tables.append(table)
