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
from bad_stacks import BAD_STACKS, EXPECTED_FAILURES, GOOD_RESOURCES, write_stack

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


@pytest.fixture(scope="module")
def bad_scan(tmp_path_factory) -> ps.ScanResult:
    root = tmp_path_factory.mktemp("bad-stacks")
    stacks = {name: write_stack(root / name, resources) for name, resources in BAD_STACKS.items()}
    return ps.scan(stacks, suppressions=[])


def failed(result: ps.ScanResult, stack: str, resource: str) -> set[str]:
    return {f.check_id for f in result.failures if f.stack == stack and f.resource == resource}


@pytest.mark.parametrize("stack, resource, check", EXPECTED_FAILURES, ids=[f"{c}-{r}" for _, r, c in EXPECTED_FAILURES])
def test_check_fails_on_a_bad_stack(bad_scan, stack, resource, check):
    failures_there = failed(bad_scan, stack, resource)
    assert check in failures_there, f"{check} did not fail on {resource} ({stack})"


@pytest.mark.parametrize("stack, resource, checks", GOOD_RESOURCES, ids=[r for _, r, _ in GOOD_RESOURCES])
def test_check_passes_the_good_counterpart(bad_scan, stack, resource, checks):
    failures_there = failed(bad_scan, stack, resource)
    wrong = set(checks) & failures_there
    assert not wrong, f"{sorted(wrong)} failed on the good resource {resource}"


def test_custom_check_failures_carry_details(bad_scan):
    finding = next(
        f
        for f in bad_scan.failures
        if f.resource == "aws_vpc_security_group_egress_rule.bad_open_egress" and f.check_id == "CKV_STUDIO_3"
    )
    assert any("0.0.0.0/0" in d for d in finding.details), finding.describe()


def test_every_custom_check_is_proven_by_a_bad_stack():
    ids = {check for _, _, check in EXPECTED_FAILURES if re.match(r"CKV2?_STUDIO_", check)}
    source = "\n".join(p.read_text() for p in ps.CHECKS_DIR.glob("studio_*.py"))
    graphs = "\n".join(p.read_text() for p in ps.CHECKS_DIR.glob("studio_*.yaml"))
    defined = set(re.findall(r'id="(CKV_STUDIO_\d+)"', source)) | set(re.findall(r'id: "(CKV2_STUDIO_\d+)"', graphs))
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
    assert (
        ps._address("resource.flow-log_log-group_B8726060", index)
        == "aws_cloudwatch_log_group.flow-log_log-group_B8726060"
    )
    assert ps._address("aws_s3_bucket.b", index) == "aws_s3_bucket.b"
