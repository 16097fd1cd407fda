"""The boundary rules: one set for the synthesized stacks and the deployed environment.

The synthesized stacks pass every rule (the static gate); every bad resource the
synthesized-JSON isolation gate refuses, these rules refuse too; each rule refuses what it
names and nothing else. The live side (boto3 against moto, stubbed SageMaker and Route 53
Resolver) is tests/test_audit.py.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from isolated_studio.checks import boundary
from isolated_studio.checks.boundary import (
    Attachment, Bucket, DnsFirewallAssociation, Domain, Endpoint, Environment, Gateway, Route, SgRule, Subnet,
)
from bad_stacks import BAD_STACKS, ISOLATION_FAILURES, stack_document

# --------------------------------------------------------------------------- the static gate


def test_the_synthesized_stacks_pass_every_boundary_rule(synth):
    assert_boundary_kept(synth)


def test_the_variant_synthesis_passes_every_boundary_rule(synth_variant):
    assert_boundary_kept(synth_variant)


def assert_boundary_kept(synth) -> None:
    env = boundary.from_stacks(synth.stacks, account="123456789012", region=synth.config.region)
    assert boundary.check(env) == []
    # ...and describe what the live audit reads: nothing is missing from the expectation.
    assert env.vpc_cidrs == (synth.config.network.vpc_cidr,) and len(env.subnets) == synth.config.network.az_count
    assert len(env.endpoints) == len(synth.config.network.interface_endpoints) + 1
    assert {b.name for b in env.buckets} >= {synth.config.state.bucket}
    assert all(b.policy and b.public_access_block for b in env.buckets)
    (domain,) = env.domains
    assert (domain.network_access_type, domain.vpc) == ("VpcOnly", env.vpc)
    assert set(domain.subnets) == {s.id for s in env.subnets} and set(domain.security_groups) <= set(env.security_groups)


@pytest.mark.parametrize("stack, address, message", ISOLATION_FAILURES, ids=[a for _, a, _ in ISOLATION_FAILURES])
def test_what_the_synthesized_json_gate_refuses_the_boundary_rules_refuse_too(stack, address, message):
    findings = boundary.check(boundary.from_stacks({stack: stack_document(BAD_STACKS[stack])}))
    assert any(address in f.subject for f in findings), [f.line() for f in findings]


# --------------------------------------------------------------------------- each rule

VPC = "vpc-1"
S3 = Endpoint("vpce-s3", "com.amazonaws.us-west-2.s3", "Gateway", prefix_list="pl-s3")
STS = Endpoint("vpce-sts", "com.amazonaws.us-west-2.sts", "Interface", True)
TLS = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
       "Resource": ["arn:aws:s3:::lab", "arn:aws:s3:::lab/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
VIA_ENDPOINT = {"Sid": "OnlyThroughOurEndpoint", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::lab", "arn:aws:s3:::lab/*"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-s3"}}}
BLOCKED = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
CLEAN = Environment(
    "deployed", VPC, ("10.20.0.0/16",), (Subnet("subnet-a", "10.20.0.0/24"), Subnet("subnet-b", "10.20.1.0/24")),
    route_tables=("rtb-1",), routes=(Route("rtb-1", "pl-s3", "endpoint", "vpce-s3"),),
    security_groups={"sg-studio": "studio", "sg-endpoints": "endpoints"},
    sg_rules=(SgRule("sg-studio", "ingress", "tcp", 2049, 2049, cidr="10.20.0.0/16", id="sgr-1"),
              SgRule("sg-studio", "egress", "tcp", 443, 443, prefix_list="pl-s3", id="sgr-2"),
              SgRule("sg-studio", "egress", "tcp", 8192, 65535, referenced_group="sg-studio", id="sgr-3")),
    endpoints=(S3, STS), dns_firewall=(DnsFirewallAssociation("rslvr-1", "rslvr-frg-1", "studio-dns"),),
    domains=(Domain("d-1", "studio", "VpcOnly", VPC, ("subnet-a", "subnet-b"), ("sg-studio",)),),
    buckets=(Bucket("lab", "lab", {"Statement": [TLS, VIA_ENDPOINT]}, BLOCKED),),
)
# What the stacks synthesize, in its own ids; bind() maps them.
EXPECTED = replace(CLEAN, source="synthesized", endpoints=(
    replace(S3, id="aws_vpc_endpoint.s3", prefix_list="aws_vpc_endpoint.s3.prefix_list_id"),
    replace(STS, id="aws_vpc_endpoint.sts")), buckets=(Bucket("aws_s3_bucket.lab", "lab", {"Statement": [
        TLS, {**VIA_ENDPOINT, "Condition": {"StringNotEquals": {"aws:SourceVpce": "aws_vpc_endpoint.s3"}}}]},
        BLOCKED),))


def findings(env: Environment, expected: Environment = EXPECTED) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in boundary.check(env, expected, boundary.bind(expected, env))]


def test_an_untouched_environment_keeps_every_rule():
    assert findings(CLEAN) == []


BREACHES = {
    "internet gateway": (replace(CLEAN, gateways=(Gateway("internet gateway", "igw-1"),)),
                         ("no-gateways", "internet gateway in the isolated VPC")),
    "default route": (replace(CLEAN, routes=(Route("rtb-1", "0.0.0.0/0", "internet gateway", "igw-1"),)),
                      ("no-route-out", "default route to 0.0.0.0/0; route to 0.0.0.0/0 through internet gateway igw-1")),
    "route into a peering": (replace(CLEAN, routes=(Route("rtb-1", "10.30.0.0/16", "peering connection", "pcx-1"),)),
                             ("no-route-out", "route to 10.30.0.0/16 through peering connection pcx-1")),
    "peering": (replace(CLEAN, attachments=(Attachment("peering connection", "pcx-1", "VPC vpc-2"),)),
                ("no-attachments", "peering connection to VPC vpc-2")),
    "transit gateway": (replace(CLEAN, attachments=(Attachment("transit gateway attachment", "tgw-attach-1", "tgw-1"),)),
                        ("no-attachments", "transit gateway attachment to tgw-1")),
    "open ssh": (replace(CLEAN, sg_rules=CLEAN.sg_rules + (SgRule("sg-studio", "ingress", "tcp", 22, 22, cidr="0.0.0.0/0"),)),
                 ("rules-stay-inside", "ingress tcp port 22 from 0.0.0.0/0: open to the internet")),
    "egress outside the VPC": (
        replace(CLEAN, sg_rules=CLEAN.sg_rules + (SgRule("sg-studio", "egress", "-1", None, None, cidr="8.8.8.8/32"),)),
        ("rules-stay-inside", "egress all traffic to 8.8.8.8/32: outside the VPC's CIDR 10.20.0.0/16")),
    "another prefix list": (
        replace(CLEAN, sg_rules=CLEAN.sg_rules + (SgRule("sg-studio", "egress", "tcp", 443, 443, prefix_list="pl-ddb"),)),
        ("rules-stay-inside", "egress tcp port 443 to pl-ddb: a prefix list that is not one of the VPC's gateway endpoints")),
    "another VPC's group": (
        replace(CLEAN, sg_rules=CLEAN.sg_rules + (SgRule("sg-studio", "ingress", "tcp", 443, 443, referenced_group="sg-x"),)),
        ("rules-stay-inside", "ingress tcp port 443 from sg-x: a security group outside the VPC")),
    "public subnet": (replace(CLEAN, subnets=(Subnet("subnet-a", "10.20.0.0/24", True), CLEAN.subnets[1])),
                      ("no-public-subnets", "subnet assigns public IPs")),
    "no private DNS": (replace(CLEAN, endpoints=(S3, replace(STS, private_dns=False))),
                       ("private-dns", "interface endpoint of com.amazonaws.us-west-2.sts without private DNS")),
    "domain not VpcOnly": (replace(CLEAN, domains=(replace(CLEAN.domains[0], network_access_type="PublicInternetOnly"),)),
                           ("domain-inside", "domain studio is PublicInternetOnly, not VpcOnly: its apps reach the "
                                             "internet through SageMaker's network")),
    "domain elsewhere": (replace(CLEAN, domains=(replace(CLEAN.domains[0], subnets=("subnet-a", "subnet-z")),)),
                         ("domain-inside", "domain studio uses subnets outside the VPC: subnet-z")),
    "new endpoint": (replace(CLEAN, endpoints=CLEAN.endpoints + (Endpoint("vpce-kms", "com.amazonaws.us-west-2.kms", "Interface", True),)),
                     ("no-new-endpoints", "interface endpoint of com.amazonaws.us-west-2.kms that the stacks do not create")),
    "endpoint policy edited": (
        replace(CLEAN, endpoints=(S3, replace(STS, policy={"Statement": [{"Effect": "Allow", "Principal": "*",
                                                                         "Action": "sts:*", "Resource": "*"}]}))),
        ("endpoint-policies", "policy of the com.amazonaws.us-west-2.sts endpoint was changed outside Terraform "
                              "(Allow sts:* on * for *)")),
    "DNS firewall gone": (replace(CLEAN, dns_firewall=()),
                          ("dns-firewall", "DNS firewall rule group studio-dns is not associated with the VPC")),
    "bucket statement gone": (replace(CLEAN, buckets=(replace(CLEAN.buckets[0], policy={"Statement": [VIA_ENDPOINT]}),)),
                              ("bucket-policies", "statement DenyInsecureTransport of the bucket policy is missing or changed")),
    "bucket policy gone": (replace(CLEAN, buckets=(replace(CLEAN.buckets[0], policy=None),)),
                           ("bucket-policies", "the bucket has no policy; the stacks give it one")),
    "public access unblocked": (
        replace(CLEAN, buckets=(replace(CLEAN.buckets[0], public_access_block={**BLOCKED, "BlockPublicPolicy": False}),)),
        ("public-access-block", "public access block off: BlockPublicPolicy")),
}


@pytest.mark.parametrize("breach", list(BREACHES))
def test_each_breach_is_found_by_its_rule_and_by_nothing_else(breach):
    env, expected_finding = BREACHES[breach]
    assert findings(env) == [expected_finding]


def test_a_bucket_reachable_through_another_networks_endpoint_breaks_its_statement_and_the_perimeter():
    foreign = {**VIA_ENDPOINT, "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-elsewhere"}}}
    env = replace(CLEAN, buckets=(replace(CLEAN.buckets[0], policy={"Statement": [TLS, foreign]}),))
    assert findings(env) == [
        ("bucket-policies", "statement OnlyThroughOurEndpoint of the bucket policy is missing or changed"),
        ("perimeter-source", "statement OnlyThroughOurEndpoint names aws:SourceVpce vpce-elsewhere, not this VPC's")]


def test_a_synthesized_endpoint_policy_must_be_deployed_as_synthesized():
    policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*",
                             "Condition": {"StringEquals": {"aws:PrincipalAccount": "${data.aws_caller_identity.a.account_id}"}}}]}
    expected = replace(EXPECTED, endpoints=(EXPECTED.endpoints[0], replace(EXPECTED.endpoints[1], policy=policy)))
    deployed = {"Statement": [{**policy["Statement"][0], "Condition": {"StringEquals": {"aws:PrincipalAccount": "1"}}}]}
    assert findings(replace(CLEAN, endpoints=(S3, replace(STS, policy=deployed))), expected) == []
    assert findings(CLEAN, expected) == [
        ("endpoint-policies", "the com.amazonaws.us-west-2.sts endpoint has no policy (full access for anybody); "
                              "the stacks give it one")]
    widened = {"Statement": [{**policy["Statement"][0], "Action": "sts:*", "Condition": None}]}
    assert findings(replace(CLEAN, endpoints=(S3, replace(STS, policy=widened))), expected) == [
        ("endpoint-policies", "policy of the com.amazonaws.us-west-2.sts endpoint differs from the synthesized one: "
                              "added Allow sts:* on * for *; missing Allow sts:AssumeRole on * for * when "
                              '{"StringEquals": {"aws:PrincipalAccount": "${data.aws_caller_identity.a.account_id}"}}')]


def test_what_was_not_read_is_not_judged():
    """The emulator has no DNS firewall: None means not read, and the audit lists it as not checked."""
    assert findings(replace(CLEAN, dns_firewall=None)) == []


def test_a_deployed_finding_says_how_to_remove_it_and_a_synthesized_one_does_not():
    env = replace(CLEAN, gateways=(Gateway("internet gateway", "igw-1"),))
    (live,) = boundary.check(env, EXPECTED, boundary.bind(EXPECTED, env))
    assert live.fix == ("aws ec2 detach-internet-gateway --internet-gateway-id igw-1 --vpc-id vpc-1 && "
                        "aws ec2 delete-internet-gateway --internet-gateway-id igw-1")
    (static,) = boundary.check(replace(env, source="synthesized"))
    assert static.fix == ""


# --------------------------------------------------------------------------- from the stacks


def test_references_across_stacks_resolve_to_the_resources_they_name_and_bind_to_deployed_ids():
    network = {"resource": {
        "aws_vpc": {"v": {"cidr_block": "10.20.0.0/16"}},
        "aws_subnet": {"a": {"cidr_block": "10.20.0.0/24", "vpc_id": "${aws_vpc.v.id}"}},
        "aws_vpc_endpoint": {"s3": {"service_name": "com.amazonaws.us-west-2.s3", "vpc_endpoint_type": "Gateway"}},
        "aws_vpc_endpoint_policy": {"s3": {"vpc_endpoint_id": "${aws_vpc_endpoint.s3.id}",
                                           "policy": json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*",
                                                                                "Action": "s3:GetObject",
                                                                                "Resource": "*"}]})}},
        "aws_route53_resolver_firewall_rule_group": {"g": {"name": "studio-dns"}},
        "aws_route53_resolver_firewall_rule_group_association": {"a": {
            "firewall_rule_group_id": "${aws_route53_resolver_firewall_rule_group.g.id}", "vpc_id": "${aws_vpc.v.id}"}},
    }, "output": {"endpoint": {"value": "${aws_vpc_endpoint.s3.id}"}, "subnets": {"value": ["${aws_subnet.a.id}"]}}}
    workload = {
        "data": {"terraform_remote_state": {"net": {}}, "aws_caller_identity": {"me": {}}, "aws_iam_policy_document": {
            "lab": {"statement": [{"sid": "Via", "effect": "Deny", "actions": ["s3:*"],
                                   "principals": [{"type": "*", "identifiers": ["*"]}],
                                   "resources": ["${aws_s3_bucket.lab.arn}/*"],
                                   "condition": [{"test": "StringNotEquals", "variable": "aws:SourceVpce",
                                                  "values": ["${data.terraform_remote_state.net.outputs.endpoint}"]}]},
                                  {"sid": "Role", "effect": "Allow", "actions": ["s3:GetObject"],
                                   "principals": [{"type": "AWS", "identifiers": ["${aws_iam_role.r.arn}"]}],
                                   "resources": ["${aws_s3_bucket.lab.arn}/*"]}]}}},
        "resource": {
            "aws_s3_bucket": {"lab": {"bucket": "lab-${data.aws_caller_identity.me.account_id}"}},
            "aws_s3_bucket_policy": {"lab": {"bucket": "${aws_s3_bucket.lab.id}",
                                             "policy": "${data.aws_iam_policy_document.lab.json}"}},
            "aws_iam_role": {"r": {"name": "exec", "path": "/studio/"}},
            "aws_sagemaker_domain": {"d": {"domain_name": "studio", "app_network_access_type": "VpcOnly",
                                           "subnet_ids": "${data.terraform_remote_state.net.outputs.subnets}"}},
        }}

    env = boundary.from_stacks({"network": network, "workload": workload}, account="111122223333")

    (bucket,) = env.buckets
    assert bucket.name == "lab-111122223333"
    via, role = bucket.policy["Statement"]
    assert via["Condition"] == {"StringNotEquals": {"aws:SourceVpce": "aws_vpc_endpoint.s3"}}
    assert via["Resource"] == "arn:aws:s3:::lab-111122223333/*"
    assert role["Principal"] == {"AWS": "arn:aws:iam::111122223333:role/studio/exec"}
    assert env.domains[0].subnets == ("aws_subnet.a",)
    assert env.endpoints[0].policy["Statement"][0]["Action"] == "s3:GetObject"
    assert env.dns_firewall == (DnsFirewallAssociation("aws_route53_resolver_firewall_rule_group_association.a",
                                                       "aws_route53_resolver_firewall_rule_group.g", "studio-dns"),)
    assert boundary.check(env) == []

    deployed = Environment("deployed", "vpc-9", ("10.20.0.0/16",), (Subnet("subnet-9", "10.20.0.0/24"),),
                           endpoints=(Endpoint("vpce-9", "com.amazonaws.us-west-2.s3", "Gateway", prefix_list="pl-9"),))
    assert boundary.bind(env, deployed) == {"aws_vpc.v": "vpc-9", "aws_subnet.a": "subnet-9",
                                            "aws_vpc_endpoint.s3": "vpce-9",
                                            "aws_vpc_endpoint.s3.prefix_list_id": "pl-9"}
