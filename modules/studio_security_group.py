"""The security group for Studio apps, spaces and @remote jobs: nothing leaves the VPC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from modules.props import cidr_problem, name_tags, raise_for

# Studio's JupyterServer/KernelGateway traffic between apps of one domain.
APP_PORTS = (8192, 65535)
NFS_PORT = 2049


@dataclass(frozen=True)
class StudioSecurityGroupProps:
    """Inputs of :class:`StudioSecurityGroup`.

    vpc_cidr: NFS to the domain's EFS and HTTPS to the interface endpoints stay inside it.
    s3_prefix_list_id: the S3 gateway endpoint's prefix list, the only HTTPS egress outside
        the VPC CIDR (S3 traffic is routed through the gateway endpoint).
    """

    name: str
    vpc_id: str
    vpc_cidr: str
    s3_prefix_list_id: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = [p for p in [cidr_problem("vpc_cidr", self.vpc_cidr)] if p]
        if not self.name:
            found.append("name: must not be empty")
        return found


class StudioSecurityGroup(Construct):
    """Attribute: ``security_group``. Egress goes only to the VPC CIDR, itself and S3."""

    def __init__(self, scope: Construct, id: str, *, props: StudioSecurityGroupProps) -> None:
        raise_for("StudioSecurityGroup", props.problems())
        super().__init__(scope, id)
        self.security_group = SecurityGroup(
            self,
            "security-group",
            name=f"{props.name}-studio",
            description="SageMaker Studio apps and jobs: traffic stays inside the VPC",
            vpc_id=props.vpc_id,
            tags=name_tags(f"{props.name}-studio", dict(props.tags)),
        )
        sg = self.security_group.id
        low, high = APP_PORTS
        rules = {
            # (construct id): (direction, description, from, to, target kwargs)
            "apps-from-self": ("in", "Studio apps talk to each other", low, high, {"referenced_security_group_id": sg}),
            "nfs-from-vpc": ("in", "NFS to the domain home EFS", NFS_PORT, NFS_PORT, {"cidr_ipv4": props.vpc_cidr}),
            "apps-to-self": ("out", "Studio apps talk to each other", low, high, {"referenced_security_group_id": sg}),
            "nfs-to-vpc": ("out", "NFS to the domain home EFS", NFS_PORT, NFS_PORT, {"cidr_ipv4": props.vpc_cidr}),
            "https-to-endpoints": (
                "out",
                "HTTPS to the VPC interface endpoints",
                443,
                443,
                {"cidr_ipv4": props.vpc_cidr},
            ),
            "https-to-s3": (
                "out",
                "HTTPS to S3 through the gateway endpoint",
                443,
                443,
                {"prefix_list_id": props.s3_prefix_list_id},
            ),
        }
        for rule_id, (direction, description, from_port, to_port, target) in rules.items():
            rule_class = VpcSecurityGroupIngressRule if direction == "in" else VpcSecurityGroupEgressRule
            rule_class(
                self,
                rule_id,
                security_group_id=sg,
                description=description,
                ip_protocol="tcp",
                from_port=from_port,
                to_port=to_port,
                **target,
            )
