"""Policy gate: checkov (pinned, offline) over every synthesized stack, plus the CKV_STUDIO checks.

checkov runs twice in this module (~3 s each): once over every stack of both synthesized
configurations (default and variant), once over a batch of deliberately bad stacks that proves
each gate fails. What needs no scan (the suppressions file's rules, the offline command, a bad
stack for every custom check) is tests/unit/checks/test_policy_scan.py.
"""

from __future__ import annotations

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
