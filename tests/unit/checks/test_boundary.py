"""The boundary rules: one set for the synthesized stacks and the deployed environment.

The synthesized stacks pass every rule (the static gate); every bad resource the
synthesized-JSON isolation gate refuses, these rules refuse too; each rule refuses what it
names and nothing else. The live side (boto3 against moto, stubbed SageMaker and Route 53
Resolver) is tests/unit/ops/test_audit.py.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from bad_stacks import BAD_STACKS, ISOLATION_FAILURES, stack_document

from isolated_studio.checks import boundary
from isolated_studio.checks.boundary import (
    Attachment,
    Bucket,
    DnsFirewallAssociation,
    DnsFirewallConfig,
    DnsFirewallRule,
    Domain,
    Endpoint,
    Environment,
    Gateway,
    Role,
    Route,
    SgRule,
    Subnet,
)

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
    assert set(domain.subnets) == {s.id for s in env.subnets} and set(domain.security_groups) <= set(
        env.security_groups
    )
    # The perimeter's layers are described too, so that the rules judge them and the audit compares them.
    assert all(e.policy for e in env.endpoints) and env.accounts == ("123456789012",)
    (firewall,) = env.dns_firewall
    assert [r.action for r in firewall.rules] == ["ALLOW", "BLOCK"] and [c.fail_open for c in env.dns_configs] == [
        "DISABLED"
    ]
    roles = {r.name: r for r in env.roles}
    execution = roles[f"{synth.config.name_prefix}-studio-execution"]
    assert domain.execution_role == execution.arn
    assert {"guardrails", "studio-domain"} <= set(execution.inline) and execution.exclusive_inline
    assert execution.exclusive_attachments and (execution.boundary is not None) == (
        synth.config.workload.iam_mode == "managed"
    )
    assert all(r.exclusive_inline and r.exclusive_attachments for r in roles.values())
    lab = [
        b.name
        for b in env.buckets
        for s in b.policy["Statement"]
        if s["Effect"] == "Allow" and execution.arn in str(s.get("Principal"))
    ]
    assert len(set(lab)) == 2  # the notebooks and MLflow buckets: both judged by lab_buckets_only_through_our_endpoint


@pytest.mark.parametrize("stack, address, message", ISOLATION_FAILURES, ids=[a for _, a, _ in ISOLATION_FAILURES])
def test_what_the_synthesized_json_gate_refuses_the_boundary_rules_refuse_too(stack, address, message):
    findings = boundary.check(boundary.from_stacks({stack: stack_document(BAD_STACKS[stack])}))
    assert any(address in f.subject for f in findings), [f.line() for f in findings]


# --------------------------------------------------------------------------- each rule

VPC = "vpc-1"
ACCOUNT = "111122223333"
# The endpoint statement of modules/endpoint_policies.py: our principals, to our resources.
OURS = {
    "Sid": "OurPrincipalsToOurResources",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": "*",
    "Resource": "*",
    "Condition": {
        "StringEquals": {"aws:PrincipalAccount": ACCOUNT},
        "StringEqualsIfExists": {"aws:ResourceAccount": ACCOUNT},
    },
}
S3 = Endpoint("vpce-s3", "com.amazonaws.us-west-2.s3", "Gateway", prefix_list="pl-s3", policy={"Statement": [OURS]})
STS = Endpoint("vpce-sts", "com.amazonaws.us-west-2.sts", "Interface", True, policy={"Statement": [OURS]})
ROLE = f"arn:aws:iam::{ACCOUNT}:role/studio-exec"
TLS = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::lab", "arn:aws:s3:::lab/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
VIA_ENDPOINT = {
    "Sid": "OnlyThroughOurEndpoint",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::lab", "arn:aws:s3:::lab/*"],
    "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-s3"}},
}
GRANT = {
    "Sid": "LabRoleReadWrite",
    "Effect": "Allow",
    "Principal": {"AWS": ROLE},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::lab/*",
}
BLOCKED = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
ALLOW_AWS = DnsFirewallRule(100, "ALLOW", ("*.us-west-2.amazonaws.com",), "rslvr-fdl-allowed")
BLOCK_ALL = DnsFirewallRule(200, "BLOCK", ("*",), "rslvr-fdl-everything")
GUARDRAILS = {
    "Statement": [
        {
            "Sid": "NoOtherAccountsResources",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:ResourceAccount": [ACCOUNT]},
                "Null": {"aws:ResourceAccount": "false"},
            },
        },
        {"Sid": "NoNewNetworkPaths", "Effect": "Deny", "Action": ["ec2:CreateVpcEndpoint"], "Resource": "*"},
    ]
}
LAB_DATA = {
    "Statement": [
        {
            "Sid": "LabObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::lab/*",
        }
    ]
}
MANAGED = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/studio-exec-boundary"
BOUNDARY_DOC = {
    "Statement": [
        {"Sid": "ServicesOfTheReviewedPolicies", "Effect": "Allow", "Action": ["s3:*", "sagemaker:*"], "Resource": "*"}
    ]
}
EXECUTION = Role(
    "studio-exec",
    "studio-exec",
    ROLE,
    {"guardrails": GUARDRAILS, "lab-data": LAB_DATA},
    (MANAGED,),
    BOUNDARY,
    BOUNDARY_DOC,
)
CLEAN = Environment(
    "deployed",
    VPC,
    ("10.20.0.0/16",),
    (Subnet("subnet-a", "10.20.0.0/24"), Subnet("subnet-b", "10.20.1.0/24")),
    route_tables=("rtb-1",),
    routes=(Route("rtb-1", "pl-s3", "endpoint", "vpce-s3"),),
    security_groups={"sg-studio": "studio", "sg-endpoints": "endpoints"},
    sg_rules=(
        SgRule("sg-studio", "ingress", "tcp", 2049, 2049, cidr="10.20.0.0/16", id="sgr-1"),
        SgRule("sg-studio", "egress", "tcp", 443, 443, prefix_list="pl-s3", id="sgr-2"),
        SgRule("sg-studio", "egress", "tcp", 8192, 65535, referenced_group="sg-studio", id="sgr-3"),
    ),
    endpoints=(S3, STS),
    dns_firewall=(
        DnsFirewallAssociation(
            "rslvr-frgassoc-1", "rslvr-frg-1", "studio-dns", vpc=VPC, priority=200, rules=(ALLOW_AWS, BLOCK_ALL)
        ),
    ),
    domains=(Domain("d-1", "studio", "VpcOnly", VPC, ("subnet-a", "subnet-b"), ("sg-studio",), ROLE),),
    buckets=(Bucket("lab", "lab", {"Statement": [TLS, VIA_ENDPOINT, GRANT]}, BLOCKED),),
    dns_configs=(DnsFirewallConfig(VPC, VPC, "DISABLED"),),
    roles=(EXECUTION,),
    accounts=(ACCOUNT,),
)
# What the stacks synthesize, in its own ids; bind() maps them.
EXPECTED = replace(
    CLEAN,
    source="synthesized",
    endpoints=(
        replace(S3, id="aws_vpc_endpoint.s3", prefix_list="aws_vpc_endpoint.s3.prefix_list_id"),
        replace(STS, id="aws_vpc_endpoint.sts"),
    ),
    buckets=(
        Bucket(
            "aws_s3_bucket.lab",
            "lab",
            {
                "Statement": [
                    TLS,
                    {**VIA_ENDPOINT, "Condition": {"StringNotEquals": {"aws:SourceVpce": "aws_vpc_endpoint.s3"}}},
                    GRANT,
                ]
            },
            BLOCKED,
        ),
    ),
    dns_firewall=(
        DnsFirewallAssociation(
            "aws_route53_resolver_firewall_rule_group_association.a",
            "aws_route53_resolver_firewall_rule_group.g",
            "studio-dns",
            vpc="aws_vpc.v",
            priority=200,
            rules=(
                replace(ALLOW_AWS, domain_list="aws_r53_fdl.allowed"),
                replace(BLOCK_ALL, domain_list="aws_r53_fdl.all"),
            ),
        ),
    ),
    roles=(
        replace(
            EXECUTION,
            id="aws_iam_role.exec",
            stack="workload",
            sources={
                "exclusive-inline": "aws_iam_role_policies_exclusive.exec",
                "exclusive-attachments": "aws_iam_role_policy_attachments_exclusive.exec",
            },
        ),
    ),
)


def findings(env: Environment, expected: Environment = EXPECTED) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in boundary.check(env, expected, boundary.bind(expected, env))]


def test_an_untouched_environment_keeps_every_rule():
    assert findings(CLEAN) == []


def with_role(**changes) -> Environment:
    return replace(CLEAN, roles=(replace(EXECUTION, **changes),))


NO_POLICY = "no endpoint policy: AWS's default policy gives every principal full access through it"
BREACHES = {
    "internet gateway": (
        replace(CLEAN, gateways=(Gateway("internet gateway", "igw-1"),)),
        [("no-gateways", "internet gateway in the isolated VPC")],
    ),
    "default route": (
        replace(CLEAN, routes=(Route("rtb-1", "0.0.0.0/0", "internet gateway", "igw-1"),)),
        [("no-route-out", "default route to 0.0.0.0/0; route to 0.0.0.0/0 through internet gateway igw-1")],
    ),
    "route into a peering": (
        replace(CLEAN, routes=(Route("rtb-1", "10.30.0.0/16", "peering connection", "pcx-1"),)),
        [("no-route-out", "route to 10.30.0.0/16 through peering connection pcx-1")],
    ),
    "peering": (
        replace(CLEAN, attachments=(Attachment("peering connection", "pcx-1", "VPC vpc-2"),)),
        [("no-attachments", "peering connection to VPC vpc-2")],
    ),
    "transit gateway": (
        replace(CLEAN, attachments=(Attachment("transit gateway attachment", "tgw-attach-1", "tgw-1"),)),
        [("no-attachments", "transit gateway attachment to tgw-1")],
    ),
    "open ssh": (
        replace(CLEAN, sg_rules=CLEAN.sg_rules + (SgRule("sg-studio", "ingress", "tcp", 22, 22, cidr="0.0.0.0/0"),)),
        [("rules-stay-inside", "ingress tcp port 22 from 0.0.0.0/0: open to the internet")],
    ),
    "egress outside the VPC": (
        replace(CLEAN, sg_rules=CLEAN.sg_rules + (SgRule("sg-studio", "egress", "-1", None, None, cidr="8.8.8.8/32"),)),
        [("rules-stay-inside", "egress all traffic to 8.8.8.8/32: outside the VPC's CIDR 10.20.0.0/16")],
    ),
    "another prefix list": (
        replace(
            CLEAN, sg_rules=CLEAN.sg_rules + (SgRule("sg-studio", "egress", "tcp", 443, 443, prefix_list="pl-ddb"),)
        ),
        [
            (
                "rules-stay-inside",
                "egress tcp port 443 to pl-ddb: a prefix list that is not one of the VPC's gateway endpoints",
            )
        ],
    ),
    "another VPC's group": (
        replace(
            CLEAN, sg_rules=CLEAN.sg_rules + (SgRule("sg-studio", "ingress", "tcp", 443, 443, referenced_group="sg-x"),)
        ),
        [("rules-stay-inside", "ingress tcp port 443 from sg-x: a security group outside the VPC")],
    ),
    "public subnet": (
        replace(CLEAN, subnets=(Subnet("subnet-a", "10.20.0.0/24", True), CLEAN.subnets[1])),
        [("no-public-subnets", "subnet assigns public IPs")],
    ),
    "no private DNS": (
        replace(CLEAN, endpoints=(S3, replace(STS, private_dns=False))),
        [("private-dns", "interface endpoint of com.amazonaws.us-west-2.sts without private DNS")],
    ),
    "domain not VpcOnly": (
        replace(CLEAN, domains=(replace(CLEAN.domains[0], network_access_type="PublicInternetOnly"),)),
        [
            (
                "domain-inside",
                "domain studio is PublicInternetOnly, not VpcOnly: its apps reach the "
                "internet through SageMaker's network",
            )
        ],
    ),
    "domain elsewhere": (
        replace(CLEAN, domains=(replace(CLEAN.domains[0], subnets=("subnet-a", "subnet-z")),)),
        [("domain-inside", "domain studio uses subnets outside the VPC: subnet-z")],
    ),
    # A new endpoint is unreviewed twice: a service nobody chose, with AWS's full-access policy.
    "new endpoint": (
        replace(
            CLEAN, endpoints=CLEAN.endpoints + (Endpoint("vpce-kms", "com.amazonaws.us-west-2.kms", "Interface", True),)
        ),
        [
            ("no-new-endpoints", "interface endpoint of com.amazonaws.us-west-2.kms that the stacks do not create"),
            ("endpoint-perimeter", f"interface endpoint of com.amazonaws.us-west-2.kms: {NO_POLICY}"),
        ],
    ),
    "endpoint policy edited": (
        replace(
            CLEAN,
            endpoints=(
                S3,
                replace(
                    STS,
                    policy={"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:*", "Resource": "*"}]},
                ),
            ),
        ),
        [
            (
                "endpoint-policies",
                "policy of the com.amazonaws.us-west-2.sts endpoint differs from the synthesized one: "
                "added Allow sts:* on * for *; missing Allow * on * for * when "
                '{"StringEquals": {"aws:PrincipalAccount": "111122223333"}, '
                '"StringEqualsIfExists": {"aws:ResourceAccount": "111122223333"}}',
            ),
            (
                "endpoint-perimeter",
                "interface endpoint of com.amazonaws.us-west-2.sts: statement 0: allows principals of "
                "any account ['sts:*'] on ['*']; only reads of named AWS-owned resources may be open to them",
            ),
        ],
    ),
    "endpoint policy reset to AWS's default": (
        replace(CLEAN, endpoints=(replace(S3, policy=None), STS)),
        [
            (
                "endpoint-policies",
                "the com.amazonaws.us-west-2.s3 endpoint has no policy (full access for anybody); "
                "the stacks give it one",
            ),
            ("endpoint-perimeter", f"gateway endpoint of com.amazonaws.us-west-2.s3: {NO_POLICY}"),
        ],
    ),
    "DNS firewall gone": (
        replace(CLEAN, dns_firewall=()),
        [
            ("dns-firewall", "DNS firewall rule group studio-dns is not associated with the VPC"),
            ("dns-perimeter", "no DNS firewall rule group is associated (queries reach any name server)"),
        ],
    ),
    "DNS firewall's block rule gone": (
        replace(CLEAN, dns_firewall=(replace(CLEAN.dns_firewall[0], rules=(ALLOW_AWS,)),)),
        [
            ("dns-firewall", "rule BLOCK * at priority 200 of the stacks is missing or changed"),
            ("dns-perimeter", "the DNS firewall does not block every other name (no BLOCK rule for '*')"),
        ],
    ),
    "DNS firewall allows another name": (
        replace(
            CLEAN,
            dns_firewall=(
                replace(
                    CLEAN.dns_firewall[0],
                    rules=(
                        ALLOW_AWS,
                        DnsFirewallRule(150, "ALLOW", ("*.attacker.example.",), "rslvr-fdl-x"),
                        BLOCK_ALL,
                    ),
                ),
            ),
        ),
        [("dns-firewall", "rule ALLOW *.attacker.example. at priority 150 added outside Terraform")],
    ),
    "DNS firewall's allowed list widened": (
        replace(
            CLEAN,
            dns_firewall=(
                replace(
                    CLEAN.dns_firewall[0],
                    rules=(replace(ALLOW_AWS, domains=ALLOW_AWS.domains + ("*.attacker.example",)), BLOCK_ALL),
                ),
            ),
        ),
        [
            (
                "dns-firewall",
                "rule ALLOW at priority 100: the domain list was changed outside Terraform "
                "(names added: *.attacker.example)",
            )
        ],
    ),
    "a rule group associated ahead of ours": (
        replace(
            CLEAN,
            dns_firewall=CLEAN.dns_firewall
            + (
                DnsFirewallAssociation(
                    "rslvr-frgassoc-2",
                    "rslvr-frg-2",
                    "allow-all",
                    vpc=VPC,
                    priority=101,
                    rules=(DnsFirewallRule(100, "ALLOW", ("*",), "rslvr-fdl-all"),),
                ),
            ),
        ),
        [
            (
                "dns-firewall",
                "DNS firewall rule group allow-all is associated with the VPC outside Terraform (priority 101)",
            ),
            ("dns-perimeter", "the DNS firewall does not block every other name (no BLOCK rule for '*')"),
        ],
    ),
    "DNS firewall fails open": (
        replace(CLEAN, dns_configs=(DnsFirewallConfig(VPC, VPC, "ENABLED"),)),
        [
            (
                "dns-perimeter",
                "the DNS firewall fails open (firewall_fail_open = ENABLED): when it cannot answer, every query passes",
            )
        ],
    ),
    "bucket statement gone": (
        replace(CLEAN, buckets=(replace(CLEAN.buckets[0], policy={"Statement": [VIA_ENDPOINT, GRANT]}),)),
        [("bucket-policies", "statement DenyInsecureTransport of the bucket policy is missing or changed")],
    ),
    "lab bucket open outside the endpoint": (
        replace(CLEAN, buckets=(replace(CLEAN.buckets[0], policy={"Statement": [TLS, GRANT]}),)),
        [
            ("bucket-policies", "statement OnlyThroughOurEndpoint of the bucket policy is missing or changed"),
            (
                "lab-buckets-endpoint",
                f"does not refuse ['{ROLE}'] outside a VPC endpoint (a Deny of the data actions under "
                "StringNotEquals aws:SourceVpce): copied credentials read it from anywhere",
            ),
        ],
    ),
    "bucket policy gone": (
        replace(CLEAN, buckets=(replace(CLEAN.buckets[0], policy=None),)),
        [("bucket-policies", "the bucket has no policy; the stacks give it one")],
    ),
    "public access unblocked": (
        replace(
            CLEAN, buckets=(replace(CLEAN.buckets[0], public_access_block={**BLOCKED, "BlockPublicPolicy": False}),)
        ),
        [("public-access-block", "public access block off: BlockPublicPolicy")],
    ),
    "inline policy added": (
        with_role(
            inline={
                **EXECUTION.inline,
                "by-hand": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
            }
        ),
        [("role-policies", "inline policy by-hand added outside Terraform (Allow s3:* on *)")],
    ),
    "a guardrail removed": (
        with_role(inline={**EXECUTION.inline, "guardrails": {"Statement": GUARDRAILS["Statement"][1:]}}),
        [
            (
                "role-policies",
                "inline policy guardrails differs from the synthesized one: widens access: missing Deny * on * "
                'when {"Null": {"aws:ResourceAccount": "false"}, "StringNotEquals": '
                '{"aws:ResourceAccount": ["111122223333"]}}',
            )
        ],
    ),
    "a guardrail narrowed": (
        with_role(
            inline={
                **EXECUTION.inline,
                "guardrails": {
                    "Statement": [
                        GUARDRAILS["Statement"][0],
                        {**GUARDRAILS["Statement"][1], "Action": "ec2:CreateNatGateway"},
                    ]
                },
            }
        ),
        [
            (
                "role-policies",
                "inline policy guardrails differs from the synthesized one: widens access: added Deny "
                "ec2:CreateNatGateway on *; missing Deny ec2:CreateVpcEndpoint on *",
            )
        ],
    ),
    "a grant widened": (
        with_role(
            inline={**EXECUTION.inline, "lab-data": {"Statement": [{**LAB_DATA["Statement"][0], "Resource": "*"}]}}
        ),
        [
            (
                "role-policies",
                "inline policy lab-data differs from the synthesized one: widens access: added Allow "
                "s3:GetObject, s3:PutObject on *; missing Allow s3:GetObject, s3:PutObject on "
                "arn:aws:s3:::lab/*",
            )
        ],
    ),
    "an inline policy deleted": (
        with_role(inline={"guardrails": GUARDRAILS}),
        [("role-policies", "inline policy lab-data of the stacks is missing")],
    ),
    "managed policy attached": (
        with_role(attached=(MANAGED, "arn:aws:iam::aws:policy/AdministratorAccess")),
        [("role-policies", "managed policy arn:aws:iam::aws:policy/AdministratorAccess attached outside Terraform")],
    ),
    "managed policy detached": (
        with_role(attached=()),
        [("role-policies", f"managed policy {MANAGED} of the stacks is not attached")],
    ),
    "permissions boundary removed": (
        with_role(boundary=None, boundary_policy=None),
        [
            (
                "role-policies",
                f"permissions boundary {BOUNDARY} removed: nothing caps what a new version of its managed "
                "policies may grant",
            )
        ],
    ),
    "permissions boundary widened": (
        with_role(boundary_policy={"Statement": [{**BOUNDARY_DOC["Statement"][0], "Action": "*"}]}),
        [
            (
                "role-policies",
                f"permissions boundary {BOUNDARY} differs from the synthesized one: widens access: added "
                "Allow * on *; missing Allow s3:*, sagemaker:* on *",
            )
        ],
    ),
}


@pytest.mark.parametrize("breach", list(BREACHES))
def test_each_breach_is_found_by_its_rules_and_by_nothing_else(breach):
    env, expected_findings = BREACHES[breach]
    assert findings(env) == expected_findings


def test_what_a_role_finding_says_to_run_names_the_role_and_the_deploy_that_removes_it_too():
    added = with_role(inline={**EXECUTION.inline, "by-hand": {}}, attached=(MANAGED, "arn:aws:iam::aws:policy/X"))
    fixes = [f.fix for f in boundary.check(added, EXPECTED, boundary.bind(EXPECTED, added))]
    assert fixes == [
        "aws iam delete-role-policy --role-name studio-exec --policy-name by-hand (or `make deploy STACKS=workload`: "
        "the role's inline policies are exclusive)",
        "aws iam detach-role-policy --role-name studio-exec --policy-arn arn:aws:iam::aws:policy/X "
        "(or `make deploy STACKS=workload`: the role's attachments are exclusive)",
    ]


def test_a_dns_rule_added_by_hand_is_removed_by_its_own_command():
    env = BREACHES["DNS firewall allows another name"][0]
    (finding,) = boundary.check(env, EXPECTED, boundary.bind(EXPECTED, env))
    assert finding.subject == "studio-dns"
    assert finding.fix == (
        "aws route53resolver delete-firewall-rule --firewall-rule-group-id rslvr-frg-1 "
        "--firewall-domain-list-id rslvr-fdl-x"
    )


def test_a_bucket_reachable_through_another_networks_endpoint_breaks_its_statement_and_the_perimeter():
    foreign = {**VIA_ENDPOINT, "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-elsewhere"}}}
    env = replace(CLEAN, buckets=(replace(CLEAN.buckets[0], policy={"Statement": [TLS, foreign, GRANT]}),))
    assert findings(env) == [
        ("bucket-policies", "statement OnlyThroughOurEndpoint of the bucket policy is missing or changed"),
        ("perimeter-source", "statement OnlyThroughOurEndpoint names aws:SourceVpce vpce-elsewhere, not this VPC's"),
    ]


def test_a_synthesized_endpoint_policy_must_be_deployed_as_synthesized():
    me = "${data.aws_caller_identity.a.account_id}"
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sts:AssumeRole",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:PrincipalAccount": me},
                    "StringEqualsIfExists": {"aws:ResourceAccount": me},
                },
            }
        ]
    }
    expected = replace(EXPECTED, endpoints=(EXPECTED.endpoints[0], replace(EXPECTED.endpoints[1], policy=policy)))
    deployed = {
        "Statement": [
            {
                **policy["Statement"][0],
                "Condition": {
                    "StringEquals": {"aws:PrincipalAccount": ACCOUNT},
                    "StringEqualsIfExists": {"aws:ResourceAccount": ACCOUNT},
                },
            }
        ]
    }
    assert findings(replace(CLEAN, endpoints=(S3, replace(STS, policy=deployed))), expected) == []
    assert findings(replace(CLEAN, endpoints=(S3, replace(STS, policy=None))), expected) == [
        (
            "endpoint-policies",
            "the com.amazonaws.us-west-2.sts endpoint has no policy (full access for anybody); the stacks give it one",
        ),
        ("endpoint-perimeter", f"interface endpoint of com.amazonaws.us-west-2.sts: {NO_POLICY}"),
    ]
    widened = {"Statement": [{**policy["Statement"][0], "Action": "sts:*", "Condition": None}]}
    assert findings(replace(CLEAN, endpoints=(S3, replace(STS, policy=widened))), expected) == [
        (
            "endpoint-policies",
            "policy of the com.amazonaws.us-west-2.sts endpoint differs from the synthesized one: "
            "added Allow sts:* on * for *; missing Allow sts:AssumeRole on * for * when "
            '{"StringEquals": {"aws:PrincipalAccount": "${data.aws_caller_identity.a.account_id}"}, '
            '"StringEqualsIfExists": {"aws:ResourceAccount": "${data.aws_caller_identity.a.account_id}"}}',
        ),
        (
            "endpoint-perimeter",
            "interface endpoint of com.amazonaws.us-west-2.sts: statement 0: allows principals of any "
            "account ['sts:*'] on ['*']; only reads of named AWS-owned resources may be open to them",
        ),
    ]


def test_what_was_not_read_is_not_judged():
    """The emulator has no DNS firewall: None means not read, and the audit lists it as not checked."""
    assert findings(replace(CLEAN, dns_firewall=None)) == []


def test_a_deployed_finding_says_how_to_remove_it_and_a_synthesized_one_does_not():
    env = replace(CLEAN, gateways=(Gateway("internet gateway", "igw-1"),))
    (live,) = boundary.check(env, EXPECTED, boundary.bind(EXPECTED, env))
    assert live.fix == (
        "aws ec2 detach-internet-gateway --internet-gateway-id igw-1 --vpc-id vpc-1 && "
        "aws ec2 delete-internet-gateway --internet-gateway-id igw-1"
    )
    (static,) = boundary.check(replace(env, source="synthesized"))
    assert static.fix == ""


# --------------------------------------------------------------------------- from the stacks


AWS_OWNED_LAYERS = "arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*"


def test_references_across_stacks_resolve_to_the_resources_they_name_and_bind_to_deployed_ids():
    network = {
        "resource": {
            "aws_vpc": {"v": {"cidr_block": "10.20.0.0/16"}},
            "aws_subnet": {"a": {"cidr_block": "10.20.0.0/24", "vpc_id": "${aws_vpc.v.id}"}},
            "aws_vpc_endpoint": {"s3": {"service_name": "com.amazonaws.us-west-2.s3", "vpc_endpoint_type": "Gateway"}},
            "aws_vpc_endpoint_policy": {
                "s3": {
                    "vpc_endpoint_id": "${aws_vpc_endpoint.s3.id}",
                    "policy": json.dumps(
                        {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": "*",
                                    "Action": "s3:GetObject",
                                    "Resource": AWS_OWNED_LAYERS,
                                }
                            ]
                        }
                    ),
                }
            },
            "aws_route53_resolver_firewall_rule_group": {"g": {"name": "studio-dns"}},
            "aws_route53_resolver_firewall_domain_list": {"all": {"name": "all", "domains": ["*"]}},
            "aws_route53_resolver_firewall_rule": {
                "block": {
                    "action": "BLOCK",
                    "priority": 200,
                    "firewall_rule_group_id": "${aws_route53_resolver_firewall_rule_group.g.id}",
                    "firewall_domain_list_id": "${aws_route53_resolver_firewall_domain_list.all.id}",
                }
            },
            "aws_route53_resolver_firewall_rule_group_association": {
                "a": {
                    "firewall_rule_group_id": "${aws_route53_resolver_firewall_rule_group.g.id}",
                    "vpc_id": "${aws_vpc.v.id}",
                    "priority": 200,
                }
            },
            "aws_route53_resolver_firewall_config": {
                "c": {"resource_id": "${aws_vpc.v.id}", "firewall_fail_open": "DISABLED"}
            },
        },
        "output": {"endpoint": {"value": "${aws_vpc_endpoint.s3.id}"}, "subnets": {"value": ["${aws_subnet.a.id}"]}},
    }
    workload = {
        "data": {
            "terraform_remote_state": {"net": {}},
            "aws_caller_identity": {"me": {}},
            "aws_partition": {"p": {}},
            "aws_iam_policy_document": {
                "lab": {
                    "statement": [
                        {
                            "sid": "Via",
                            "effect": "Deny",
                            "actions": ["s3:*"],
                            "principals": [{"type": "*", "identifiers": ["*"]}],
                            "resources": ["${aws_s3_bucket.lab.arn}", "${aws_s3_bucket.lab.arn}/*"],
                            "condition": [
                                {
                                    "test": "StringNotEquals",
                                    "variable": "aws:SourceVpce",
                                    "values": ["${data.terraform_remote_state.net.outputs.endpoint}"],
                                }
                            ],
                        },
                        {
                            "sid": "Role",
                            "effect": "Allow",
                            "actions": ["s3:GetObject"],
                            "principals": [{"type": "AWS", "identifiers": ["${aws_iam_role.r.arn}"]}],
                            "resources": ["${aws_s3_bucket.lab.arn}/*"],
                        },
                    ]
                }
            },
        },
        "resource": {
            "aws_s3_bucket": {"lab": {"bucket": "lab-${data.aws_caller_identity.me.account_id}"}},
            "aws_s3_bucket_policy": {
                "lab": {"bucket": "${aws_s3_bucket.lab.id}", "policy": "${data.aws_iam_policy_document.lab.json}"}
            },
            "aws_iam_role": {
                "r": {"name": "exec", "path": "/studio/", "permissions_boundary": "${aws_iam_policy.b.arn}"}
            },
            "aws_iam_policy": {"b": {"name": "exec-boundary", "policy": json.dumps(BOUNDARY_DOC)}},
            "aws_iam_role_policy": {
                "g": {"name": "guardrails", "role": "${aws_iam_role.r.id}", "policy": json.dumps(GUARDRAILS)}
            },
            "aws_iam_role_policy_attachment": {
                "m": {
                    "role": "${aws_iam_role.r.name}",
                    "policy_arn": "arn:${data.aws_partition.p.partition}:iam::aws:policy/AmazonSageMakerFullAccess",
                }
            },
            "aws_iam_role_policies_exclusive": {
                "x": {"role_name": "${aws_iam_role.r.name}", "policy_names": ["${aws_iam_role_policy.g.name}"]}
            },
            "aws_sagemaker_domain": {
                "d": {
                    "domain_name": "studio",
                    "app_network_access_type": "VpcOnly",
                    "subnet_ids": "${data.terraform_remote_state.net.outputs.subnets}",
                    "default_user_settings": {"execution_role": "${aws_iam_role.r.arn}"},
                }
            },
        },
    }

    env = boundary.from_stacks({"network": network, "workload": workload}, account="111122223333")

    (bucket,) = env.buckets
    assert bucket.name == "lab-111122223333"
    via, role = bucket.policy["Statement"]
    assert via["Condition"] == {"StringNotEquals": {"aws:SourceVpce": "aws_vpc_endpoint.s3"}}
    assert via["Resource"] == ["arn:aws:s3:::lab-111122223333", "arn:aws:s3:::lab-111122223333/*"]
    assert role["Principal"] == {"AWS": "arn:aws:iam::111122223333:role/studio/exec"}
    assert env.domains[0].subnets == ("aws_subnet.a",)
    assert env.endpoints[0].policy["Statement"][0]["Action"] == "s3:GetObject"
    assert env.endpoints[0].policy_source == "aws_vpc_endpoint_policy.s3"
    block = DnsFirewallRule(
        200,
        "BLOCK",
        ("*",),
        "aws_route53_resolver_firewall_domain_list.all",
        id="aws_route53_resolver_firewall_rule.block",
    )
    assert env.dns_firewall == (
        DnsFirewallAssociation(
            "aws_route53_resolver_firewall_rule_group_association.a",
            "aws_route53_resolver_firewall_rule_group.g",
            "studio-dns",
            vpc="aws_vpc.v",
            priority=200,
            rules=(block,),
        ),
    )
    assert env.dns_configs == (DnsFirewallConfig("aws_route53_resolver_firewall_config.c", "aws_vpc.v", "DISABLED"),)
    (exec_role,) = env.roles
    assert exec_role == Role(
        "aws_iam_role.r",
        "exec",
        "arn:aws:iam::111122223333:role/studio/exec",
        {"guardrails": GUARDRAILS},
        ("arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",),
        "arn:aws:iam::111122223333:policy/exec-boundary",
        BOUNDARY_DOC,
        {
            "inline:guardrails": "aws_iam_role_policy.g",
            "boundary": "aws_iam_policy.b",
            "attached:arn:aws:iam::aws:policy/AmazonSageMakerFullAccess": "aws_iam_role_policy_attachment.m",
            "exclusive-inline": "aws_iam_role_policies_exclusive.x",
        },
        "workload",
    )
    assert exec_role.exclusive_inline and not exec_role.exclusive_attachments
    assert env.domains[0].execution_role == exec_role.arn
    assert env.accounts == ("111122223333",)
    # The bucket grants the execution role and refuses it outside the endpoint: every rule holds.
    assert boundary.check(env) == []
    # What the emulator does not create is left out of the expectation, and said.
    partial, left_out = boundary.without(env, ["aws_iam_role_policy_attachment.m", "aws_iam_role_policies_exclusive.x"])
    assert partial.roles[0].attached == () and not partial.roles[0].exclusive_inline
    assert left_out == [
        "role exec: exclusive inline policies, managed policy arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    ]

    deployed = Environment(
        "deployed",
        "vpc-9",
        ("10.20.0.0/16",),
        (Subnet("subnet-9", "10.20.0.0/24"),),
        endpoints=(Endpoint("vpce-9", "com.amazonaws.us-west-2.s3", "Gateway", prefix_list="pl-9"),),
    )
    assert boundary.bind(env, deployed) == {
        "aws_vpc.v": "vpc-9",
        "aws_subnet.a": "subnet-9",
        "aws_vpc_endpoint.s3": "vpce-9",
        "aws_vpc_endpoint.s3.prefix_list_id": "pl-9",
    }
