"""The isolated network: VPC, private subnets, endpoints, security groups and flow logs."""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from isolated_studio.config import StudioConfig
from modules.flow_log import FlowLog, FlowLogProps
from modules.isolated_vpc import IsolatedVpc, IsolatedVpcProps
from modules.studio_security_group import StudioSecurityGroup, StudioSecurityGroupProps
from modules.vpc_endpoints import VpcEndpoints, VpcEndpointsProps
from stacks.base import StudioStack


class NetworkStack(StudioStack):
    """Attributes used by the workload stack (cdktf turns them into remote-state outputs):
    ``vpc``, ``endpoints``, ``studio_security_group``."""

    def __init__(self, scope: Construct, id: str, *, config: StudioConfig) -> None:
        super().__init__(scope, id, config=config)
        self.use_s3_backend("network")
        name = config.name_prefix
        net = config.network

        self.vpc = IsolatedVpc(
            self,
            "vpc",
            props=IsolatedVpcProps(
                name=name,
                cidr=net.vpc_cidr,
                subnet_cidrs=config.subnet_cidrs,
                availability_zone_ids=net.availability_zone_ids,
            ),
        )
        subnet_ids = [s.id for s in self.vpc.subnets]
        route_table_ids = [t.id for t in self.vpc.route_tables]
        self.endpoints = VpcEndpoints(
            self,
            "endpoints",
            props=VpcEndpointsProps(
                name=name,
                vpc_id=self.vpc.vpc.id,
                vpc_cidr=net.vpc_cidr,
                subnet_ids=subnet_ids,
                route_table_ids=route_table_ids,
                interface_services={key: config.endpoint_service_name(key) for key in net.interface_endpoints},
                s3_gateway_service=f"com.amazonaws.{config.region}.s3",
            ),
        )
        self.studio_security_group = StudioSecurityGroup(
            self,
            "studio-security-group",
            props=StudioSecurityGroupProps(
                name=name,
                vpc_id=self.vpc.vpc.id,
                vpc_cidr=net.vpc_cidr,
                s3_prefix_list_id=self.endpoints.s3_gateway.prefix_list_id,
            ),
        )
        self.flow_log = FlowLog(
            self,
            "flow-log",
            props=FlowLogProps(
                name=name,
                vpc_id=self.vpc.vpc.id,
                region=config.region,
                retention_days=net.flow_log_retention_days,
                traffic_type=net.flow_log_traffic_type,
            ),
        )

        outputs = {
            "vpc_id": (self.vpc.vpc.id, "ID of the isolated VPC"),
            "vpc_cidr": (self.vpc.vpc.cidr_block, "IPv4 CIDR of the VPC"),
            "private_subnet_ids": (subnet_ids, "Private subnet IDs, one per availability zone"),
            "private_route_table_ids": (route_table_ids, "Route tables of the private subnets (local route only)"),
            "studio_security_group_id": (self.studio_security_group.security_group.id,
                                         "Security group for Studio apps, spaces and @remote jobs"),
            "endpoint_security_group_id": (self.endpoints.security_group.id,
                                           "Security group of the interface endpoints (HTTPS from the VPC)"),
            "s3_prefix_list_id": (self.endpoints.s3_gateway.prefix_list_id,
                                  "Prefix list of the S3 gateway endpoint"),
            "availability_zones": ([s.availability_zone for s in self.vpc.subnets],
                                   "Availability zones of the private subnets"),
            "flow_log_group_name": (self.flow_log.log_group.name, "CloudWatch log group receiving VPC flow logs"),
        }
        for output_id, (value, description) in outputs.items():
            TerraformOutput(self, output_id, value=value, description=description)
