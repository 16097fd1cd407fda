"""The perimeter's building blocks: the AWS-owned table, the endpoint policies, the DNS firewall
(module, configuration, network stack) and the lab buckets' endpoint-only rule."""

from __future__ import annotations

import pytest
from support import config_document

from isolated_studio.checks import isolation
from isolated_studio.config import ConfigError, parse_config
from modules import aws_owned
from modules.dns_firewall import DnsFirewallProps, aws_service_domains
from modules.endpoint_policies import S3_GATEWAY, endpoint_policies, endpoint_policy
from modules.secure_bucket import SecureBucketProps, endpoint_only_statement

ACCOUNT = "111122223333"
ENV = {"AWS_REGION": "us-west-2"}


# --------------------------------------------------------------------------- the AWS-owned table


def test_every_entry_says_what_needs_it_and_where_aws_documents_it():
    for entry in aws_owned.table():
        assert entry.source and entry.needed_by, entry.id
        assert all(a.split(":")[0] in ("s3", "ecr") for a in entry.actions), entry.id
        for value in (entry.regions or {}).values():
            assert value.isdigit() and len(value) == 12 if entry.kind == "ecr-registry" else value.startswith("assets-")


def test_the_region_values_are_aws_s():
    west = aws_owned.for_region("us-west-2")
    assert west.buckets == {
        "ecr-image-layers": "prod-us-west-2-starport-layer-bucket",
        "codeartifact-assets": "assets-787052242323-us-west-2",
    }
    assert west.registry_accounts == ["236514542706", "542918446943"]
    assert west.actions("s3-bucket") == ["s3:GetObject"]


def test_a_region_a_required_entry_lacks_is_refused_with_the_source():
    problems = aws_owned.region_problems("eu-south-2")  # base-python images listed, Distribution not
    assert len(problems) == 1 and "sagemaker-distribution-images" in problems[0] and "Developer Guide" in problems[0]
    assert aws_owned.region_problems("us-west-2") == []
    # An optional entry only goes missing: CodeArtifact's assets are not listed for ca-central-1.
    assert "codeartifact-assets" not in aws_owned.for_region("ca-central-1").buckets


def test_table_problems_are_reported_together():
    with pytest.raises(ValueError) as error:
        aws_owned.parse(
            {"resource": [{"id": "a", "kind": "disk", "name": "x", "regions": {"r": "y"}}, {"id": "a", "colour": 1}]}
        )
    for part in (
        "kind must be",
        "exactly one of 'name'",
        "unknown keys ['colour']",
        "duplicate id",
        "'source' is required",
    ):
        assert part in str(error.value)


# --------------------------------------------------------------------------- the endpoint policies


def _policies(**extra) -> dict[str, dict]:
    return endpoint_policies(
        ["sts", "ecr.api", "ecr.dkr"],
        account=ACCOUNT,
        partition="aws",
        region="us-west-2",
        aws_owned=aws_owned.for_region("us-west-2"),
        **extra,
    )


def test_every_endpoint_keeps_other_accounts_out_by_the_isolation_gates_rule():
    policies = _policies(trusted_image_accounts=["444455556666"])
    assert set(policies) == {S3_GATEWAY, "sts", "ecr.api", "ecr.dkr"}
    for key, document in policies.items():
        assert isolation.endpoint_policy_problems(document, {ACCOUNT}) == [], key


def test_only_the_s3_gateway_opens_aws_buckets_and_only_ecr_aws_registries():
    policies = _policies()
    sids = {key: [s["Sid"] for s in doc["Statement"]] for key, doc in policies.items()}
    assert sids == {
        S3_GATEWAY: ["OurPrincipalsToOurResources", "AwsOwnedBuckets"],
        "sts": ["OurPrincipalsToOurResources"],
        "ecr.api": ["OurPrincipalsToOurResources", "AwsImageRegistries"],
        "ecr.dkr": ["OurPrincipalsToOurResources", "AwsImageRegistries"],
    }
    assert policies[S3_GATEWAY]["Statement"][1]["Action"] == ["s3:GetObject"]


def test_trusted_image_accounts_get_their_own_statement_but_not_ours():
    trusted = _policies(trusted_image_accounts=[ACCOUNT, "444455556666"])["ecr.dkr"]["Statement"][-1]
    assert trusted["Sid"] == "TrustedImageRegistries"
    assert trusted["Resource"] == ["arn:aws:ecr:us-west-2:444455556666:repository/*"]
    assert [s["Sid"] for s in _policies(trusted_image_accounts=[ACCOUNT])["ecr.dkr"]["Statement"]][
        -1
    ] == "AwsImageRegistries"


def test_the_gate_refuses_what_aws_default_would_allow():
    default = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
    assert isolation.endpoint_policy_problems(default, {ACCOUNT})
    assert isolation.endpoint_policy_problems(None, {ACCOUNT}) == [
        "no endpoint policy: AWS's default policy gives every principal full access through it"
    ]
    theirs = endpoint_policy(
        "sts", account="999988887777", partition="aws", region="us-west-2", aws_owned=aws_owned.for_region("us-west-2")
    )
    assert any("999988887777" in p for p in isolation.endpoint_policy_problems(theirs, {ACCOUNT}))


# --------------------------------------------------------------------------- the lab buckets


def test_the_endpoint_only_rule_is_what_the_gate_asks_for():
    role, endpoint, arn = f"arn:aws:iam::{ACCOUNT}:role/x", "vpce-0123456789abcdef0", "arn:aws:s3:::b"
    document = {"Statement": [endpoint_only_statement(arn, [role], [endpoint])]}
    assert isolation.bucket_endpoint_problems(document, arn, [role], [endpoint]) == []
    assert isolation.bucket_endpoint_problems(document, arn, [role], ["vpce-0other"])  # another endpoint
    assert isolation.bucket_endpoint_problems(document, arn, [f"arn:aws:iam::{ACCOUNT}:role/other"], [endpoint])
    assert isolation.bucket_endpoint_problems({"Statement": []}, arn, [role], [endpoint])


def test_the_rule_needs_both_principals_and_endpoints():
    problems = SecureBucketProps(
        bucket_name="lab-bucket",
        kms_key_arn=None,
        access_log_bucket=None,
        endpoint_only_principals=["arn:aws:iam::1:role/x"],
    ).problems()
    assert any("give both" in p for p in problems)


# --------------------------------------------------------------------------- the DNS firewall


def test_the_allowed_names_are_the_regions_aws_names():
    assert aws_service_domains("us-west-2") == [
        "*.us-west-2.amazonaws.com",
        "*.us-west-2.experiments.sagemaker.aws",
        "*.studio.us-west-2.sagemaker.aws",
        "*.compute.internal",
        "*.ec2.internal",
    ]
    assert aws_service_domains("cn-north-1")[0] == "*.cn-north-1.amazonaws.com.cn"


def test_the_firewall_props_name_each_problem():
    props = DnsFirewallProps(
        name="",
        vpc_id="v",
        region="us-west-2",
        account_id="1",
        partition="aws",
        allowed_domains=["*", "Pypi.example.com"],
        log_retention_days=2,
    )
    problems = props.problems()
    assert any("top-level" in p for p in problems) and any("lower case" in p for p in problems)
    assert any("retention" in p for p in problems) and any("name:" in p for p in problems)


@pytest.mark.parametrize(
    "domains, words",
    [
        (["*"], "top-level or public domain"),
        (["*.com"], "top-level or public domain"),
        (["*.co.uk"], "top-level or public domain"),
        (["pypi..example.com"], "is not a domain name"),
        (["PyPI.example.com"], "lower case"),
        (["a.example.com", "a.example.com"], "duplicate"),
    ],
)
def test_a_bad_allowed_domain_is_refused_by_name(domains, words):
    with pytest.raises(ConfigError) as info:
        parse_config(config_document(network={"dns_firewall_allowed_domains": domains}), env=ENV, source="t.toml")
    assert "network.dns_firewall_allowed_domains" in str(info.value) and words in str(info.value), str(info.value)


def test_the_firewall_is_on_by_default_and_configurable():
    default = parse_config(config_document(), env=ENV, source="t.toml").network
    assert default.dns_firewall is True and default.dns_firewall_allowed_domains == ()
    assert default.dns_query_log_retention_days == 365
    custom = parse_config(
        config_document(
            network={
                "dns_firewall": False,
                "dns_query_log_retention_days": 30,
                "dns_firewall_allowed_domains": ["*.corp.example.com"],
            }
        ),
        env=ENV,
        source="t.toml",
    ).network
    assert (custom.dns_firewall, custom.dns_query_log_retention_days) == (False, 30)
    with pytest.raises(ConfigError, match="dns_query_log_retention_days"):
        parse_config(config_document(network={"dns_query_log_retention_days": 2}), env=ENV, source="t.toml")


def test_the_network_stack_associates_a_firewall_that_blocks_everything_else(synth):
    res = synth.stacks["network"]["resource"]
    (association,) = res["aws_route53_resolver_firewall_rule_group_association"].values()
    assert association["vpc_id"].startswith("${aws_vpc.") and association["mutation_protection"] == "DISABLED"
    rules = sorted(res["aws_route53_resolver_firewall_rule"].values(), key=lambda r: r["priority"])
    assert [(r["action"], r["priority"]) for r in rules] == [("ALLOW", 100), ("BLOCK", 200)]
    assert rules[1]["block_response"] == "NXDOMAIN"
    lists = {body["name"]: body["domains"] for body in res["aws_route53_resolver_firewall_domain_list"].values()}
    assert lists["studio-dev-everything-else"] == ["*"]
    assert "*.us-west-2.amazonaws.com" in lists["studio-dev-allowed"]
    (config,) = res["aws_route53_resolver_firewall_config"].values()
    assert config["firewall_fail_open"] == "DISABLED"
    (log,) = res["aws_route53_resolver_query_log_config_association"].values()
    assert log["resource_id"] == association["vpc_id"]
    groups = [g for g in res["aws_cloudwatch_log_group"].values() if g["name"].endswith("/dns-queries")]
    assert groups and groups[0]["kms_key_id"].startswith("${aws_kms_key.")


def test_every_endpoint_of_the_network_stack_has_its_policy(synth):
    res = synth.stacks["network"]["resource"]
    endpoints = {f"${{aws_vpc_endpoint.{name}.id}}" for name in res["aws_vpc_endpoint"]}
    assert {body["vpc_endpoint_id"] for body in res["aws_vpc_endpoint_policy"].values()} == endpoints
