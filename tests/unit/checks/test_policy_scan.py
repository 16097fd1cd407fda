"""The policy gate's logic without a checkov scan (isolated_studio/checks/policy_scan.py): the suppressions file's
rules, checkov's offline command line, restored addresses, and a bad stack for every custom check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bad_stacks import EXPECTED_FAILURES

from isolated_studio.checks import policy_scan as ps

# --------------------------------------------------------------------------- the reviewed file, the custom checks


def test_the_reviewed_file_gives_every_suppression_a_reason():
    entries = ps.load_suppressions()
    assert entries, "policy/suppressions.toml has no entries"
    for entry in entries:
        assert len(entry.reason) >= ps.MIN_REASON, entry.describe()


def test_every_custom_check_is_proven_by_a_bad_stack():
    ids = {check for _, _, check in EXPECTED_FAILURES if re.match(r"CKV2?_STUDIO_", check)}
    source = "\n".join(p.read_text() for p in ps.CHECKS_DIR.glob("studio_*.py"))
    graphs = "\n".join(p.read_text() for p in ps.CHECKS_DIR.glob("studio_*.yaml"))
    defined = set(re.findall(r'id="(CKV_STUDIO_\d+)"', source)) | set(re.findall(r'id: "(CKV2_STUDIO_\d+)"', graphs))
    assert defined and defined == ids, f"custom checks without a bad-stack test: {sorted(defined - ids)}"


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
    assert (
        ps._address("resource.flow-log_log-group_B8726060", index)
        == "aws_cloudwatch_log_group.flow-log_log-group_B8726060"
    )
    assert ps._address("aws_s3_bucket.b", index) == "aws_s3_bucket.b"
