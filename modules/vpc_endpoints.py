"""PrivateLink interface endpoints and the S3 gateway endpoint for an isolated VPC, each with its policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_endpoint_policy import VpcEndpointPolicy
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from modules.endpoint_policies import S3_GATEWAY
from modules.policy_document import policy_document
from modules.props import name_tags, raise_for


@dataclass(frozen=True)
class VpcEndpointsProps:
    """Inputs of :class:`VpcEndpoints`.

    interface_services: construct-id suffix -> full service name
        (e.g. ``{"sts": "com.amazonaws.us-west-2.sts"}``); all get private DNS.
    s3_gateway_service: service name of the S3 gateway endpoint, attached to route_table_ids.
    vpc_cidr: the only source the endpoints' security group admits (HTTPS).
    policies: endpoint key -> its endpoint policy (an IAM policy dict), for every interface
        endpoint and ``s3-gateway``: an endpoint without one would have AWS's full-access default
        (modules/endpoint_policies.py writes them).
    """

    name: str
    vpc_id: str
    vpc_cidr: str
    subnet_ids: Sequence[str]
    route_table_ids: Sequence[str]
    interface_services: Mapping[str, str]
    s3_gateway_service: str
    policies: Mapping[str, Mapping] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if not self.subnet_ids:
            found.append("subnet_ids: interface endpoints need at least one subnet")
        if not self.route_table_ids:
            found.append("route_table_ids: the S3 gateway endpoint needs the private route tables")
        for key, service in self.interface_services.items():
            if not service.startswith(("com.amazonaws.", "aws.sagemaker.")):
                found.append(f"interface_services[{key!r}]: {service!r} is not an AWS service name")
        if not self.s3_gateway_service.endswith(".s3"):
            found.append(f"s3_gateway_service: {self.s3_gateway_service!r} is not an S3 service name")
        endpoints = {S3_GATEWAY, *self.interface_services}
        missing = sorted(endpoints - set(self.policies))
        if missing:
            found.append(f"policies: no endpoint policy for {missing} (AWS's default would give them full access)")
        unknown = sorted(set(self.policies) - endpoints)
        if unknown:
            found.append(f"policies: {unknown} are not endpoints of this VPC")
        return found


class VpcEndpoints(Construct):
    """Attributes: ``security_group``, ``interface_endpoints`` (dict by key), ``s3_gateway``,
    ``policies`` (endpoint key -> its ``aws_vpc_endpoint_policy``)."""

    def __init__(self, scope: Construct, id: str, *, props: VpcEndpointsProps) -> None:
        raise_for("VpcEndpoints", props.problems())
        super().__init__(scope, id)
        tags = dict(props.tags)
        self.security_group = SecurityGroup(
            self,
            "security-group",
            name=f"{props.name}-endpoints",
            description="VPC interface endpoints: HTTPS from inside the VPC only",
            vpc_id=props.vpc_id,
            tags=name_tags(f"{props.name}-endpoints", tags),
        )
        VpcSecurityGroupIngressRule(
            self,
            "https-from-vpc",
            security_group_id=self.security_group.id,
            description="HTTPS from the VPC to the endpoints",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=props.vpc_cidr,
        )
        self.s3_gateway = VpcEndpoint(
            self,
            "s3-gateway",
            vpc_id=props.vpc_id,
            service_name=props.s3_gateway_service,
            vpc_endpoint_type="Gateway",
            route_table_ids=list(props.route_table_ids),
            tags=name_tags(f"{props.name}-s3-gateway", tags),
        )
        self.interface_endpoints: dict[str, VpcEndpoint] = {}
        for key, service in props.interface_services.items():
            # Ids come from the service key so that reordering the list replaces nothing.
            self.interface_endpoints[key] = VpcEndpoint(
                self,
                f"endpoint-{key.replace('.', '-')}",
                vpc_id=props.vpc_id,
                service_name=service,
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=list(props.subnet_ids),
                security_group_ids=[self.security_group.id],
                # AWS accepts an S3 interface endpoint with private DNS only once the gateway exists.
                depends_on=[self.s3_gateway] if service.endswith(".s3") else None,
                tags=name_tags(f"{props.name}-{key}", tags),
            )
        # A policy resource of its own per endpoint (not the endpoint's `policy` argument): the plan
        # review lists aws_vpc_endpoint_policy changes among the policy changes, and an endpoint
        # policy can change without touching the endpoint. Ids come from the endpoint key.
        endpoints = {S3_GATEWAY: self.s3_gateway, **self.interface_endpoints}
        self.policies: dict[str, VpcEndpointPolicy] = {}
        for key, endpoint in endpoints.items():
            construct_id = f"policy-{key.replace('.', '-')}"
            self.policies[key] = VpcEndpointPolicy(
                self,
                construct_id,
                vpc_endpoint_id=endpoint.id,
                policy=policy_document(self, f"{construct_id}-document", props.policies[key]),
            )
