"""The environment has no path to the internet: checked on every synthesized stack."""

import json

import pytest
from bad_stacks import BAD_STACKS, EXPECTED_FAILURES, ISOLATION_FAILURES, good_addresses, stack_document

from isolated_studio.checks.isolation import FORBIDDEN_TYPES, SG_RULE_TYPES, violations


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


# ------------------------------------------------------------ the gate on the bad stacks


@pytest.fixture(scope="module")
def bad_violations() -> dict[str, list[str]]:
    return {stack: violations(stack_document(resources)) for stack, resources in BAD_STACKS.items()}


@pytest.mark.parametrize("stack, address, message", ISOLATION_FAILURES, ids=[a for _, a, _ in ISOLATION_FAILURES])
def test_isolation_gate_fails_on_every_bad_resource(bad_violations, stack, address, message):
    assert f"{address}: {message}" in bad_violations[stack], bad_violations[stack]


@pytest.mark.parametrize("stack, address", good_addresses(), ids=[a for _, a in good_addresses()])
def test_isolation_gate_passes_the_good_counterpart(bad_violations, stack, address):
    assert not [line for line in bad_violations[stack] if line.startswith(f"{address}:")]


def test_isolation_gate_reports_nothing_but_the_expected_lines():
    expected = sorted(f"{address}: {message}" for _, address, message in ISOLATION_FAILURES)
    found = sorted(line for resources in BAD_STACKS.values() for line in violations(stack_document(resources)))
    assert found == expected


def test_every_forbidden_type_is_proven_by_a_bad_resource():
    proven = {address.split(".")[0] for _, address, _ in ISOLATION_FAILURES}
    assert set(FORBIDDEN_TYPES) <= proven, sorted(set(FORBIDDEN_TYPES) - proven)
    assert {
        "aws_route_table",
        "aws_default_route_table",
        "aws_security_group",
        "aws_default_security_group",
        *SG_RULE_TYPES,
    } <= proven


@pytest.mark.parametrize("stack, address, message", ISOLATION_FAILURES, ids=[a for _, a, _ in ISOLATION_FAILURES])
def test_every_isolation_failure_is_refused_by_the_policy_gate_too(stack, address, message):
    assert any((s, a) == (stack, address) for s, a, _ in EXPECTED_FAILURES), (
        f"{address} breaks isolation but no checkov check is expected to fail on it"
    )


def test_a_missing_attribute_is_no_violation():
    doc = stack_document(
        {
            "aws_route_table": {"r": {"vpc_id": "v", "route": None}},
            "aws_security_group": {"s": {"vpc_id": "v"}},
            "aws_route": {"peer": {"route_table_id": "r", "destination_cidr_block": "10.0.0.0/8"}},
            "aws_vpc_endpoint": {
                "gw": {
                    "vpc_endpoint_type": "Gateway",
                    "policy": json.dumps(
                        {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": "*",
                                    "Action": "s3:GetObject",
                                    "Resource": "arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*",
                                }
                            ]
                        }
                    ),
                }
            },
        }
    )
    assert violations(doc) == []
    assert violations({}) == []


def test_every_perimeter_resource_is_a_security_change_in_the_plan_review(synth, synth_variant):
    """A change to an endpoint policy, a guardrail or the boundary, a bucket policy or the DNS
    firewall is called out at the top of review.md, among the security changes."""
    from isolated_studio.ops.plan_review import category_of

    perimeter = {
        rtype
        for s in (synth, synth_variant)
        for doc in s.stacks.values()
        for rtype in doc.get("resource", {})
        if rtype.startswith(("aws_route53_resolver_", "aws_iam_"))
        or rtype in ("aws_vpc_endpoint_policy", "aws_s3_bucket_policy")
    }
    assert {
        "aws_vpc_endpoint_policy",
        "aws_iam_role_policy",
        "aws_iam_policy",
        "aws_s3_bucket_policy",
        "aws_route53_resolver_firewall_rule_group_association",
    } <= perimeter
    assert not [rtype for rtype in sorted(perimeter) if category_of(rtype) is None]


def _firewalled_vpc(rule_group_of_rule: str, rule_group_of_association: str) -> dict:
    return {
        "resource": {
            "aws_vpc": {"vpc": {"cidr_block": "10.0.0.0/16"}},
            "aws_route53_resolver_firewall_domain_list": {"all": {"domains": ["*"]}},
            "aws_route53_resolver_firewall_rule": {
                "block": {
                    "firewall_rule_group_id": rule_group_of_rule,
                    "firewall_domain_list_id": "${aws_route53_resolver_firewall_domain_list.all.id}",
                    "action": "BLOCK",
                    "priority": 100,
                }
            },
            "aws_route53_resolver_firewall_rule_group_association": {
                "assoc": {"vpc_id": "${aws_vpc.vpc.id}", "firewall_rule_group_id": rule_group_of_association}
            },
        }
    }


def test_a_block_rule_in_one_outside_rule_group_does_not_count_for_another_ones_association():
    from isolated_studio.checks.isolation import perimeter_violations

    dns = [v for v in perimeter_violations(_firewalled_vpc("rslvr-frg-aaaa", "rslvr-frg-bbbb")) if "DNS" in v]
    assert dns == ["aws_vpc.vpc: the DNS firewall does not block every other name (no BLOCK rule for '*')"]
    # The same outside group for both: Route 53 evaluates that group's rules for the VPC.
    assert [v for v in perimeter_violations(_firewalled_vpc("rslvr-frg-aaaa", "rslvr-frg-aaaa")) if "DNS" in v] == []
