"""Policy gate: checkov (pinned, offline) over every synthesized stack, plus the CKV_STUDIO checks.

checkov runs twice in this module (~3 s each): once over every stack of both synthesized
configurations (default and variant), once over a batch of deliberately bad stacks that proves
each gate fails. Suppression logic is tested on findings, without running checkov again.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from isolated_studio.checks import policy_scan as ps
from isolated_studio.config import PROJECT_ROOT


def targets(*synths) -> list[tuple[str, Path]]:
    return [(name, path) for s in synths for name, path in s.dirs.items()]


@pytest.fixture(scope="module")
def real_scan(synth, synth_variant) -> ps.ScanResult:
    return ps.scan(targets(synth, synth_variant))


# --------------------------------------------------------------------------- the real stacks


def test_every_synthesized_stack_is_scanned(real_scan, synth, synth_variant):
    assert [stack for stack, _ in real_scan.targets] == [name for s in (synth, synth_variant) for name in s.dirs]
    assert {"state", "network"} <= {stack for stack, _ in real_scan.targets}
    assert real_scan.passed > 0
    assert not real_scan.parsing_errors, real_scan.describe()
    assert real_scan.skipped == 0, real_scan.describe()


def test_no_unsuppressed_policy_failure(real_scan):
    assert not real_scan.failures, "\n" + real_scan.describe()


def test_no_stale_suppression(real_scan):
    """Every entry of policy/suppressions.toml still covers a finding: fixed findings lose theirs."""
    assert not real_scan.stale, "\n" + real_scan.describe()


def test_checkov_is_the_version_pinned_in_the_pipfile(real_scan):
    pin = tomllib.loads((PROJECT_ROOT / "Pipfile").read_text())["dev-packages"]["checkov"]
    assert pin.startswith("=="), f"checkov must be pinned exactly in the Pipfile, not {pin!r}"
    assert real_scan.checkov_version == pin[2:]


def test_the_reviewed_file_gives_every_suppression_a_reason():
    entries = ps.load_suppressions()
    assert entries, "policy/suppressions.toml has no entries"
    for entry in entries:
        assert len(entry.reason) >= ps.MIN_REASON, entry.describe()


# --------------------------------------------------------------------------- bad stacks

ANY = "0.0.0.0/0"
REF_SG = "${aws_security_group.studio.id}"


def inline_rule(**overrides) -> dict:
    """A complete inline security group rule, as cdktf synthesizes one."""
    rule = {"cidr_blocks": [], "description": "", "from_port": 443, "ipv6_cidr_blocks": [], "prefix_list_ids": [],
            "protocol": "tcp", "security_groups": [], "self": False, "to_port": 443}
    rule.update(overrides)
    return rule


def tls_deny(bucket: str) -> dict:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
            "Resource": [f"${{aws_s3_bucket.{bucket}.arn}}", f"${{aws_s3_bucket.{bucket}.arn}}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def domain(**overrides) -> dict:
    body = {
        "domain_name": "d", "auth_mode": "IAM", "app_network_access_type": "VpcOnly",
        "kms_key_id": "${aws_kms_key.k.arn}", "vpc_id": "${aws_vpc.v.id}", "subnet_ids": ["${aws_subnet.s.id}"],
        "default_user_settings": {"execution_role": "${aws_iam_role.r.arn}", "security_groups": [REF_SG]},
        "default_space_settings": {"execution_role": "${aws_iam_role.r.arn}", "security_groups": [REF_SG]},
        "domain_settings": {"security_group_ids": [REF_SG]},
    }
    body.update(overrides)
    return body


# stack name -> resources; the "bad_*" resources must fail the expected check, the "good_*" ones not.
BAD_STACKS: dict[str, dict] = {
    "internet-path": {
        "aws_internet_gateway": {"bad_igw": {"vpc_id": "${aws_vpc.v.id}"}},
        "aws_egress_only_internet_gateway": {"bad_eigw": {"vpc_id": "${aws_vpc.v.id}"}},
        "aws_nat_gateway": {"bad_nat": {"subnet_id": "${aws_subnet.s.id}", "allocation_id": "${aws_eip.bad_eip.id}"}},
        "aws_eip": {"bad_eip": {"domain": "vpc"}},
    },
    "routes": {
        "aws_route": {
            "bad_default": {"route_table_id": "${aws_route_table.good_local.id}", "destination_cidr_block": ANY,
                            "gateway_id": "${aws_internet_gateway.igw.id}"},
            "bad_default_v6": {"route_table_id": "${aws_route_table.good_local.id}",
                               "destination_ipv6_cidr_block": "::/0", "gateway_id": "${aws_vpc_endpoint.e.id}"},
            "good_peer": {"route_table_id": "${aws_route_table.good_local.id}", "destination_cidr_block": "10.20.0.0/16",
                          "vpc_peering_connection_id": "${aws_vpc_peering_connection.p.id}"},
        },
        "aws_route_table": {
            "bad_inline": {"vpc_id": "${aws_vpc.v.id}", "route": [{"cidr_block": ANY, "gateway_id": "${aws_internet_gateway.igw.id}"}]},
            "good_local": {"vpc_id": "${aws_vpc.v.id}"},
        },
    },
    "security-groups": {
        "aws_vpc_security_group_egress_rule": {
            "bad_open_egress": {"security_group_id": REF_SG, "cidr_ipv4": ANY, "ip_protocol": "-1"},
            "good_vpc_egress": {"security_group_id": REF_SG, "cidr_ipv4": "10.10.0.0/16", "ip_protocol": "tcp",
                                "from_port": 443, "to_port": 443},
        },
        "aws_vpc_security_group_ingress_rule": {
            "bad_open_ingress_v6": {"security_group_id": REF_SG, "cidr_ipv6": "::/0", "ip_protocol": "tcp",
                                    "from_port": 8192, "to_port": 65535},
        },
        "aws_security_group_rule": {
            "bad_rule": {"type": "egress", "security_group_id": REF_SG, "cidr_blocks": ["10.0.0.0/8", ANY],
                         "protocol": "-1", "from_port": 0, "to_port": 0},
        },
        "aws_security_group": {
            "bad_inline": {"vpc_id": "${aws_vpc.v.id}", "description": "open egress",
                           "egress": [inline_rule(cidr_blocks=[ANY], protocol="-1", from_port=0, to_port=0)]},
            "good_inline": {"vpc_id": "${aws_vpc.v.id}", "description": "vpc only",
                            "ingress": [inline_rule(cidr_blocks=["10.10.0.0/16"])], "egress": []},
        },
    },
    "endpoints": {
        "aws_vpc_endpoint": {
            "bad_no_private_dns": {"vpc_id": "${aws_vpc.v.id}", "service_name": "com.amazonaws.us-west-2.sts",
                                   "vpc_endpoint_type": "Interface", "private_dns_enabled": False,
                                   "subnet_ids": ["${aws_subnet.s.id}"], "security_group_ids": [REF_SG]},
            "bad_private_dns_unset": {"vpc_id": "${aws_vpc.v.id}", "service_name": "com.amazonaws.us-west-2.logs",
                                      "vpc_endpoint_type": "Interface", "subnet_ids": ["${aws_subnet.s.id}"],
                                      "security_group_ids": [REF_SG]},
            "good_private_dns": {"vpc_id": "${aws_vpc.v.id}", "service_name": "com.amazonaws.us-west-2.ec2",
                                 "vpc_endpoint_type": "Interface", "private_dns_enabled": True,
                                 "subnet_ids": ["${aws_subnet.s.id}"], "security_group_ids": [REF_SG]},
            "good_gateway": {"vpc_id": "${aws_vpc.v.id}", "service_name": "com.amazonaws.us-west-2.s3",
                             "vpc_endpoint_type": "Gateway", "route_table_ids": ["${aws_route_table.r.id}"]},
        },
    },
    "sagemaker": {
        "aws_sagemaker_domain": {
            "bad_public": domain(app_network_access_type="PublicInternetOnly", kms_key_id=None,
                                 default_space_settings=None, domain_settings=None),
            "bad_access_type_unset": domain(app_network_access_type=None),
            "bad_user_sg_only": domain(default_space_settings={"execution_role": "${aws_iam_role.r.arn}"},
                                       domain_settings={"security_group_ids": []}),
            "good_isolated": domain(),
        },
        "aws_sagemaker_user_profile": {
            "bad_cleared_sgs": {"domain_id": "${aws_sagemaker_domain.good_isolated.id}", "user_profile_name": "a",
                                "user_settings": {"execution_role": "${aws_iam_role.r.arn}", "security_groups": []}},
            "good_own_sgs": {"domain_id": "${aws_sagemaker_domain.good_isolated.id}", "user_profile_name": "b",
                             "user_settings": {"execution_role": "${aws_iam_role.r.arn}", "security_groups": [REF_SG]}},
            "good_inherits": {"domain_id": "${aws_sagemaker_domain.good_isolated.id}", "user_profile_name": "c"},
        },
        "aws_sagemaker_mlflow_tracking_server": {
            "bad_http_store": {"tracking_server_name": "a", "artifact_store_uri": "https://example.com/mlflow",
                               "role_arn": "${aws_iam_role.r.arn}"},
            "bad_no_role": {"tracking_server_name": "b", "artifact_store_uri": "s3://bucket/mlflow"},
            "good_s3": {"tracking_server_name": "c", "artifact_store_uri": "s3://${aws_s3_bucket.b.bucket}/mlflow",
                        "role_arn": "${aws_iam_role.r.arn}"},
        },
    },
    "bucket-policies": {
        "aws_s3_bucket_policy": {
            "bad_allow_only": {"bucket": "${aws_s3_bucket.b.id}", "policy": policy(
                {"Effect": "Allow", "Principal": {"AWS": "${aws_iam_role.r.arn}"}, "Action": "s3:GetObject",
                 "Resource": "${aws_s3_bucket.b.arn}/*"})},
            "bad_wrong_condition": {"bucket": "${aws_s3_bucket.b.id}", "policy": policy(
                {**tls_deny("b"), "Condition": {"Bool": {"aws:SecureTransport": "true"}}})},
            "bad_expression": {"bucket": "${aws_s3_bucket.b.id}", "policy": "${data.aws_iam_policy_document.p.json}"},
            "good_tls_only": {"bucket": "${aws_s3_bucket.b.id}", "policy": policy(tls_deny("b"))},
        },
    },
    "built-in": {
        # No encryption, no public access block, no versioning...: built-in checks fail it.
        "aws_s3_bucket": {"bad_plain": {"bucket": "plain-bucket"}},
    },
}

# (stack, resource address) -> the check that must fail on it
EXPECTED_FAILURES: list[tuple[str, str, str]] = [
    ("internet-path", "aws_internet_gateway.bad_igw", "CKV_STUDIO_1"),
    ("internet-path", "aws_egress_only_internet_gateway.bad_eigw", "CKV_STUDIO_1"),
    ("internet-path", "aws_nat_gateway.bad_nat", "CKV_STUDIO_1"),
    ("internet-path", "aws_eip.bad_eip", "CKV_STUDIO_1"),
    ("routes", "aws_route.bad_default", "CKV_STUDIO_2"),
    ("routes", "aws_route.bad_default_v6", "CKV_STUDIO_2"),
    ("routes", "aws_route_table.bad_inline", "CKV_STUDIO_2"),
    ("security-groups", "aws_vpc_security_group_egress_rule.bad_open_egress", "CKV_STUDIO_3"),
    ("security-groups", "aws_vpc_security_group_ingress_rule.bad_open_ingress_v6", "CKV_STUDIO_3"),
    ("security-groups", "aws_security_group_rule.bad_rule", "CKV_STUDIO_3"),
    ("security-groups", "aws_security_group.bad_inline", "CKV_STUDIO_3"),
    ("endpoints", "aws_vpc_endpoint.bad_no_private_dns", "CKV_STUDIO_4"),
    ("endpoints", "aws_vpc_endpoint.bad_private_dns_unset", "CKV_STUDIO_4"),
    ("sagemaker", "aws_sagemaker_domain.bad_public", "CKV_STUDIO_5"),
    ("sagemaker", "aws_sagemaker_domain.bad_public", "CKV_STUDIO_6"),
    ("sagemaker", "aws_sagemaker_domain.bad_public", "CKV_AWS_187"),  # built-in: no KMS key
    ("sagemaker", "aws_sagemaker_domain.bad_access_type_unset", "CKV_STUDIO_5"),
    ("sagemaker", "aws_sagemaker_domain.bad_user_sg_only", "CKV_STUDIO_6"),
    ("sagemaker", "aws_sagemaker_user_profile.bad_cleared_sgs", "CKV_STUDIO_7"),
    ("sagemaker", "aws_sagemaker_mlflow_tracking_server.bad_http_store", "CKV_STUDIO_8"),
    ("sagemaker", "aws_sagemaker_mlflow_tracking_server.bad_no_role", "CKV_STUDIO_8"),
    ("bucket-policies", "aws_s3_bucket_policy.bad_allow_only", "CKV_STUDIO_9"),
    ("bucket-policies", "aws_s3_bucket_policy.bad_wrong_condition", "CKV_STUDIO_9"),
    ("bucket-policies", "aws_s3_bucket_policy.bad_expression", "CKV_STUDIO_9"),
    ("built-in", "aws_s3_bucket.bad_plain", "CKV_AWS_145"),
]

# Checks that must NOT fail on the good counterparts (same resource types as the bad ones).
GOOD_RESOURCES: list[tuple[str, str, tuple[str, ...]]] = [
    ("routes", "aws_route.good_peer", ("CKV_STUDIO_2",)),
    ("routes", "aws_route_table.good_local", ("CKV_STUDIO_2",)),
    ("security-groups", "aws_vpc_security_group_egress_rule.good_vpc_egress", ("CKV_STUDIO_3",)),
    ("security-groups", "aws_security_group.good_inline", ("CKV_STUDIO_3",)),
    ("endpoints", "aws_vpc_endpoint.good_private_dns", ("CKV_STUDIO_4",)),
    ("endpoints", "aws_vpc_endpoint.good_gateway", ("CKV_STUDIO_4",)),
    ("sagemaker", "aws_sagemaker_domain.good_isolated", ("CKV_STUDIO_5", "CKV_STUDIO_6", "CKV_AWS_187")),
    ("sagemaker", "aws_sagemaker_domain.bad_user_sg_only", ("CKV_STUDIO_5",)),
    ("sagemaker", "aws_sagemaker_user_profile.good_own_sgs", ("CKV_STUDIO_7",)),
    ("sagemaker", "aws_sagemaker_user_profile.good_inherits", ("CKV_STUDIO_7",)),
    ("sagemaker", "aws_sagemaker_mlflow_tracking_server.good_s3", ("CKV_STUDIO_8",)),
    ("bucket-policies", "aws_s3_bucket_policy.good_tls_only", ("CKV_STUDIO_9",)),
]


def write_stack(directory: Path, resources: dict) -> Path:
    """A minimal cdk.tf.json; attributes set to None are left out (like an unset cdktf property)."""

    def prune(value):
        if isinstance(value, dict):
            return {k: prune(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [prune(v) for v in value]
        return value

    directory.mkdir(parents=True)
    doc = {
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}},
        "provider": {"aws": [{"region": "us-west-2"}]},
        "resource": prune(resources),
    }
    (directory / "cdk.tf.json").write_text(json.dumps(doc, indent=2))
    return directory


@pytest.fixture(scope="module")
def bad_scan(tmp_path_factory) -> ps.ScanResult:
    root = tmp_path_factory.mktemp("bad-stacks")
    stacks = {name: write_stack(root / name, resources) for name, resources in BAD_STACKS.items()}
    return ps.scan(stacks, suppressions=[])


def failed(result: ps.ScanResult, stack: str, resource: str) -> set[str]:
    return {f.check_id for f in result.failures if f.stack == stack and f.resource == resource}


@pytest.mark.parametrize(
    "stack, resource, check", EXPECTED_FAILURES, ids=[f"{c}-{r}" for _, r, c in EXPECTED_FAILURES]
)
def test_check_fails_on_a_bad_stack(bad_scan, stack, resource, check):
    failures_there = failed(bad_scan, stack, resource)
    assert check in failures_there, f"{check} did not fail on {resource} ({stack})"



@pytest.mark.parametrize("stack, resource, checks", GOOD_RESOURCES, ids=[r for _, r, _ in GOOD_RESOURCES])
def test_check_passes_the_good_counterpart(bad_scan, stack, resource, checks):
    failures_there = failed(bad_scan, stack, resource)
    wrong = set(checks) & failures_there
    assert not wrong, f"{sorted(wrong)} failed on the good resource {resource}"


def test_custom_check_failures_carry_details(bad_scan):
    finding = next(f for f in bad_scan.failures if f.resource == "aws_vpc_security_group_egress_rule.bad_open_egress"
                   and f.check_id == "CKV_STUDIO_3")
    assert any("0.0.0.0/0" in d for d in finding.details), finding.describe()


def test_every_custom_check_is_proven_by_a_bad_stack():
    ids = {check for _, _, check in EXPECTED_FAILURES if check.startswith("CKV_STUDIO_")}
    source = "\n".join(p.read_text() for p in ps.CHECKS_DIR.glob("studio_*.py"))
    defined = set(re.findall(r'id="(CKV_STUDIO_\d+)"', source))
    assert defined and defined == ids, f"custom checks without a bad-stack test: {sorted(defined - ids)}"


def test_an_unsuppressed_built_in_failure_fails_the_scan(bad_scan):
    assert not bad_scan.ok
    assert "CKV_AWS_145" in failed(bad_scan, "built-in", "aws_s3_bucket.bad_plain")
    assert "aws_s3_bucket.bad_plain" in bad_scan.describe()


def test_a_suppression_with_a_reason_covers_exactly_its_finding(bad_scan):
    entry = ps.Suppression(1, "CKV_AWS_145", ("aws_s3_bucket.bad_*",), "a test reason long enough", ("built-in",))
    applied = ps.apply_suppressions(bad_scan.findings, [entry], {"built-in"})
    assert [(f.check_id, f.resource) for f, _ in applied.suppressed] == [("CKV_AWS_145", "aws_s3_bucket.bad_plain")]
    assert any(f.resource == "aws_s3_bucket.bad_plain" for f in applied.failures)  # its other failures remain
    assert not applied.stale


# --------------------------------------------------------------------------- suppressions file


def finding(check="CKV_AWS_18", resource="aws_s3_bucket.state-backend_bucket_6C18FF55", stack="state"):
    return ps.Finding(check, "name", resource, stack, "cdk.tf.json")


def test_suppression_matching_by_check_glob_and_stack():
    entry = ps.Suppression(1, "CKV_AWS_18", ("aws_s3_bucket.state-backend_bucket_*",), "x" * 30, ("state",))
    assert entry.matches(finding())
    assert not entry.matches(finding(check="CKV_AWS_144"))
    assert not entry.matches(finding(resource="aws_s3_bucket.notebooks_bucket_AF3C2600"))
    assert not entry.matches(finding(stack="workload"))
    literal = ps.Suppression(2, "CKV_AWS_18", ("aws_s3_bucket.b[0]",), "x" * 30)
    assert literal.matches(finding(resource="aws_s3_bucket.b[0]"))  # brackets are literal
    assert not literal.matches(finding(resource="aws_s3_bucket.b0"))


def test_stale_and_not_applicable_suppressions():
    used = ps.Suppression(1, "CKV_AWS_18", ("*",), "x" * 30)
    stale = ps.Suppression(2, "CKV_AWS_144", ("*",), "x" * 30)
    stale_in_stack = ps.Suppression(3, "CKV_AWS_144", ("*",), "x" * 30, ("state",))
    later = ps.Suppression(4, "CKV_AWS_144", ("*",), "x" * 30, ("workload",))
    applied = ps.apply_suppressions([finding()], [used, stale, stale_in_stack, later], {"state", "network"})
    assert applied.stale == [stale, stale_in_stack]
    assert applied.not_applicable == [later]
    assert not applied.failures


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"check": "CKV_AWS_18", "resources": ["*"]}, "'reason' is mandatory"),
        ({"check": "CKV_AWS_18", "resources": ["*"], "reason": "   "}, "'reason' is mandatory"),
        ({"check": "CKV_AWS_18", "resources": ["*"], "reason": "accepted"}, "too short"),
        ({"check": "CKV_AWS_18", "resources": [], "reason": "x" * 30}, "'resources' must be"),
        ({"check": "CKV_AWS_18", "resource": ["*"], "reason": "x" * 30}, "unknown keys ['resource']"),
        ({"check": "s3 logging", "resources": ["*"], "reason": "x" * 30}, "'check' must be a checkov id"),
        ({"check": "CKV_AWS_18", "resources": ["*"], "stacks": [], "reason": "x" * 30}, "'stacks'"),
    ],
)
def test_invalid_suppressions_are_rejected(entry, message):
    with pytest.raises(ps.SuppressionError) as exc:
        ps.parse_suppressions({"suppression": [entry]})
    assert message in str(exc.value)


def test_suppressions_file_problems_are_listed_together(tmp_path):
    path = tmp_path / "suppressions.toml"
    path.write_text('skip = ["CKV_AWS_18"]\n[[suppression]]\ncheck = "CKV_AWS_18"\nresources = ["*"]\n')
    with pytest.raises(ps.SuppressionError) as exc:
        ps.load_suppressions(path)
    assert "unknown top-level keys ['skip']" in str(exc.value) and "'reason' is mandatory" in str(exc.value)


def test_duplicate_suppressions_are_rejected():
    entry = {"check": "CKV_AWS_18", "resources": ["*"], "reason": "x" * 30}
    with pytest.raises(ps.SuppressionError, match="duplicates suppression #1"):
        ps.parse_suppressions({"suppression": [entry, dict(entry)]})


def test_cli_rejects_a_suppression_without_reason_before_scanning(tmp_path, synth, capsys):
    path = tmp_path / "suppressions.toml"
    path.write_text('[[suppression]]\ncheck = "CKV_AWS_18"\nresources = ["*"]\n')
    assert ps.main([str(synth.outdir), "--suppressions", str(path)]) == 2
    assert "'reason' is mandatory" in capsys.readouterr().err


# --------------------------------------------------------------------------- offline, addresses


def test_checkov_runs_offline_and_reads_no_other_skip_list(monkeypatch):
    for name in ("BC_API_KEY", "PRISMA_API_URL", "CKV_SKIP_CHECK", "CHECKOV_SKIP_CHECK"):
        monkeypatch.setenv(name, "x")
    env = ps.checkov_env("/tmp/scratch")
    assert env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] == "true" and env["BC_SKIP_MAPPING"] == "TRUE"
    assert not {"BC_API_KEY", "PRISMA_API_URL", "CKV_SKIP_CHECK", "CHECKOV_SKIP_CHECK"} & set(env)
    assert env["HOME"] == "/tmp/scratch"  # no ~/.checkov.yaml
    cmd = ps.checkov_command([Path("/x/cdk.tf.json")])
    for flag in ("--skip-download", "--external-checks-dir", "--soft-fail"):
        assert flag in cmd
    assert cmd[cmd.index("--framework") + 1] == "terraform_json"
    assert "--skip-check" not in cmd and "--baseline" not in cmd


def test_shortened_addresses_are_restored():
    index = {"flow-log_log-group_B8726060": ["aws_cloudwatch_log_group"]}
    assert ps._address("resource.flow-log_log-group_B8726060", index) == "aws_cloudwatch_log_group.flow-log_log-group_B8726060"
    assert ps._address("aws_s3_bucket.b", index) == "aws_s3_bucket.b"
