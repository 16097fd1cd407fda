"""The environment has no path to the internet: checked on every synthesized stack."""

import json

import pytest

from isolated_studio.checks.isolation import violations


@pytest.mark.parametrize("stack", ["state", "network", "workload"])
def test_stack_has_no_path_to_the_internet(synth, stack):
    assert violations(synth.stacks[stack]) == []


def test_every_interface_endpoint_uses_private_dns(synth):
    endpoints = synth.resources("network", "aws_vpc_endpoint").values()
    interface = [e for e in endpoints if e["vpc_endpoint_type"] == "Interface"]
    assert len(interface) == len(synth.config.network.interface_endpoints)
    assert all(e["private_dns_enabled"] is True for e in interface)


def test_no_route_resources_at_all(synth):
    """Private route tables keep only the implicit local route."""
    network = synth.stacks["network"]["resource"]
    assert "aws_route" not in network
    assert all("route" not in t for t in network["aws_route_table"].values())


def test_no_security_group_rule_anywhere_is_open_to_the_world(synth):
    text = "".join(synth.texts.values())
    assert "0.0.0.0/0" not in text and "::/0" not in text


@pytest.fixture(scope="module")
def bad_stack(synth):
    """A stack built with the real provider bindings that breaks every rule once."""
    from cdktf import App, TerraformStack, Testing
    from cdktf_cdktf_provider_aws.eip import Eip
    from cdktf_cdktf_provider_aws.egress_only_internet_gateway import EgressOnlyInternetGateway
    from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
    from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.route import Route
    from cdktf_cdktf_provider_aws.sagemaker_domain import SagemakerDomain, SagemakerDomainDefaultUserSettings
    from cdktf_cdktf_provider_aws.security_group import SecurityGroup, SecurityGroupEgress
    from cdktf_cdktf_provider_aws.subnet import Subnet
    from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
    from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule

    stack = TerraformStack(App(), "bad")
    AwsProvider(stack, "aws", region="us-west-2")
    InternetGateway(stack, "igw", vpc_id="vpc-1")
    EgressOnlyInternetGateway(stack, "eigw", vpc_id="vpc-1")
    eip = Eip(stack, "eip", domain="vpc")
    NatGateway(stack, "nat", subnet_id="subnet-1", allocation_id=eip.id)
    Route(stack, "default", route_table_id="rtb-1", destination_cidr_block="0.0.0.0/0", gateway_id="igw-1")
    Subnet(stack, "public", vpc_id="vpc-1", cidr_block="10.0.0.0/24", map_public_ip_on_launch=True)
    SecurityGroup(stack, "open", vpc_id="vpc-1", egress=[SecurityGroupEgress(
        from_port=0, to_port=0, protocol="-1", cidr_blocks=["0.0.0.0/0"])])
    VpcSecurityGroupEgressRule(stack, "open6", security_group_id="sg-1", ip_protocol="-1", cidr_ipv6="::/0")
    VpcEndpoint(stack, "nodns", vpc_id="vpc-1", service_name="com.amazonaws.us-west-2.sts",
                vpc_endpoint_type="Interface", private_dns_enabled=False)
    SagemakerDomain(stack, "public-domain", domain_name="d", auth_mode="IAM", vpc_id="vpc-1",
                    subnet_ids=["subnet-1"], app_network_access_type="PublicInternetOnly",
                    default_user_settings=SagemakerDomainDefaultUserSettings(execution_role="arn:aws:iam::1:role/x"))
    return json.loads(Testing.synth(stack))


@pytest.mark.parametrize("expected", [
    "aws_internet_gateway.igw: internet gateway is never allowed",
    "aws_egress_only_internet_gateway.eigw: egress-only internet gateway is never allowed",
    "aws_nat_gateway.nat: NAT gateway is never allowed",
    "aws_eip.eip: elastic IP is never allowed",
    "aws_route.default: default route to ['0.0.0.0/0']",
    "aws_subnet.public: subnet assigns public IPs",
    "aws_security_group.open: egress rule open to ['0.0.0.0/0']",
    "aws_vpc_security_group_egress_rule.open6: rule open to ['::/0']",
    "aws_vpc_endpoint.nodns: interface endpoint without private DNS",
    "aws_sagemaker_domain.public-domain: domain is not VpcOnly",
])
def test_isolation_gate_fails_on_a_bad_stack(bad_stack, expected):
    found = violations(bad_stack)
    assert any(line.startswith(expected) for line in found), found
