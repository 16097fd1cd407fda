"""The isolated network: VPC, private subnets, endpoints and their policies, security groups, the DNS
firewall and flow logs."""

from __future__ import annotations

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from constructs import Construct

from isolated_studio.config import StudioConfig
from modules import aws_owned
from modules.dns_firewall import DnsFirewall, DnsFirewallProps, aws_service_domains
from modules.endpoint_policies import endpoint_policies
from modules.flow_log import FlowLog, FlowLogProps
from modules.isolated_vpc import IsolatedVpc, IsolatedVpcProps
from modules.props import raise_for
from modules.studio_security_group import StudioSecurityGroup, StudioSecurityGroupProps
from modules.vpc_endpoints import VpcEndpoints, VpcEndpointsProps
from stacks.base import StudioStack


class NetworkStack(StudioStack):
    """Attributes used by the workload stack (cdktf turns them into remote-state outputs):
    ``vpc``, ``endpoints``, ``studio_security_group``; ``dns_firewall`` (None when configured off)."""

    def __init__(self, scope: Construct, id: str, *, config: StudioConfig) -> None:
        raise_for("NetworkStack", aws_owned.region_problems(config.region))
        super().__init__(scope, id, config=config)
        self.use_s3_backend("network")
        name = config.name_prefix
        net = config.network
        account = DataAwsCallerIdentity(self, "account").account_id
        partition = DataAwsPartition(self, "partition").partition

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
                policies=endpoint_policies(
                    net.interface_endpoints,
                    account=account,
                    partition=partition,
                    region=config.region,
                    aws_owned=aws_owned.for_region(config.region),
                    trusted_image_accounts=config.workload.docker_trusted_accounts,
                ),
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

        self.dns_firewall = (
            DnsFirewall(
                self,
                "dns-firewall",
                props=DnsFirewallProps(
                    name=name,
                    vpc_id=self.vpc.vpc.id,
                    region=config.region,
                    account_id=account,
                    partition=partition,
                    allowed_domains=[
                        *aws_service_domains(config.region),
                        *(d.rstrip(".") for d in net.dns_firewall_allowed_domains),
                    ],
                    log_retention_days=net.dns_query_log_retention_days,
                ),
            )
            if net.dns_firewall
            else None
        )

        endpoint_ids = {
            "s3-gateway": self.endpoints.s3_gateway.id,
            **{key: e.id for key, e in self.endpoints.interface_endpoints.items()},
        }
        outputs = {
            "vpc_id": (self.vpc.vpc.id, "ID of the isolated VPC"),
            "vpc_cidr": (self.vpc.vpc.cidr_block, "IPv4 CIDR of the VPC"),
            "private_subnet_ids": (subnet_ids, "Private subnet IDs, one per availability zone"),
            "private_route_table_ids": (route_table_ids, "Route tables of the private subnets (local route only)"),
            "studio_security_group_id": (
                self.studio_security_group.security_group.id,
                "Security group for Studio apps, spaces and @remote jobs",
            ),
            "endpoint_security_group_id": (
                self.endpoints.security_group.id,
                "Security group of the interface endpoints (HTTPS from the VPC)",
            ),
            "s3_prefix_list_id": (self.endpoints.s3_gateway.prefix_list_id, "Prefix list of the S3 gateway endpoint"),
            "availability_zones": (
                [s.availability_zone for s in self.vpc.subnets],
                "Availability zones of the private subnets",
            ),
            "flow_log_group_name": (self.flow_log.log_group.name, "CloudWatch log group receiving VPC flow logs"),
            "vpc_endpoint_ids": (endpoint_ids, "VPC endpoint IDs by endpoint (s3-gateway and the interface endpoints)"),
        }
        if self.dns_firewall is not None:
            outputs["dns_query_log_group_name"] = (
                self.dns_firewall.log_group.name,
                "CloudWatch log group receiving the VPC's DNS queries",
            )
        for output_id, (value, description) in outputs.items():
            TerraformOutput(self, output_id, value=value, description=description)
