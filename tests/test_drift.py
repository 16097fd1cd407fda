"""`drift`: every applied stack planned, the report says what changed outside Terraform; exit 0/2/1."""

from __future__ import annotations

from pathlib import Path

import pytest

from isolated_studio.ops import workflow as wf
from isolated_studio.ops.drift import EXIT_DRIFT, EXIT_NO_DRIFT, check_drift
from test_workflow import FakeTerraform, World, emulator_config, make_workflow

TAG_DRIFT = {"address": "aws_vpc.r0", "type": "aws_vpc", "mode": "managed", "change": {
    "actions": ["update"], "before": {"id": "vpc-1", "tags": {"Name": "studio"}},
    "after": {"id": "vpc-1", "tags": {"Name": "studio", "Owner": "someone"}}}}


def test_no_drift_exits_0_and_says_so_at_the_top(tmp_path):
    tf = FakeTerraform({}, state={"state": ["aws_s3_bucket.b"], "network": ["aws_vpc.vpc"]})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)

    result = check_drift(flow, ["state", "network", "workload"])

    assert result.exit_code == EXIT_NO_DRIFT and result.drifted == []
    assert [s.stack for s in result.run.skipped] == ["workload"]
    assert "not applied: its state is empty" in result.run.skipped[0].reason
    assert "state: no drift" in lines and "network: no drift" in lines
    report = result.run.report.read_text()
    assert report.index("## Drift: none") < report.index("## Summary")
    assert "Checked `state`, `network`" in report


def test_a_change_outside_terraform_is_drift_with_exit_2_and_named_in_the_report(tmp_path):
    tf = FakeTerraform({}, changes={"network": [("aws_vpc", ["update"])]}, state={"network": ["aws_vpc.vpc"]},
                       drift={"network": [TAG_DRIFT]})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True))

    result = check_drift(flow, ["network"])

    assert result.exit_code == EXIT_DRIFT and result.drifted == ["network"]
    assert any(line.startswith("network: DRIFT") and "1 resource(s) changed outside Terraform" in line
               for line in lines)
    report = result.run.report.read_text()
    assert "## DRIFT in `network`" in report
    assert "| `aws_vpc.r0` | changed | tags |" in report


def test_refresh_noise_the_plan_leaves_alone_is_neither_drift_nor_listed(tmp_path):
    noise = {**TAG_DRIFT, "address": "aws_s3_bucket.b", "type": "aws_s3_bucket"}
    tf = FakeTerraform({}, state={"network": ["aws_vpc.vpc"]}, drift={"network": [noise]})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True))

    result = check_drift(flow, ["network"])

    assert result.exit_code == EXIT_NO_DRIFT and result.outside["network"] == []


def test_a_stack_that_was_never_applied_is_not_checked(tmp_path):
    tf = FakeTerraform({})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False))

    result = check_drift(flow, ["state", "network"])

    assert result.exit_code == EXIT_NO_DRIFT and result.run.planned == []
    reasons = {s.stack: s.reason for s in result.run.skipped}
    assert "no bootstrap state" in reasons["state"] and "does not exist" in reasons["network"]


def test_a_failed_plan_is_an_error_and_still_writes_the_report(tmp_path):
    tf = FakeTerraform({}, state={"state": ["aws_s3_bucket.b"], "network": ["aws_vpc.vpc"]}, fail_plan={"network"})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)

    with pytest.raises(wf.WorkflowError, match="network"):
        check_drift(flow, ["state", "network"])
    assert (flow.plan_dir / "review.md").is_file()


def test_the_cli_maps_a_bad_configuration_to_exit_1_not_2(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[project]\nname_prefix = "X"\n')
    monkeypatch.setenv("STUDIO_CONFIG", str(bad))
    assert wf.main(["drift", "--no-synth", "--outdir", str(tmp_path / "none")]) == 1
    assert "configuration problem" in capsys.readouterr().err


def test_the_cli_returns_the_drift_exit_code(tmp_path, monkeypatch):
    class Outcome:
        exit_code = EXIT_DRIFT

    monkeypatch.setattr(wf, "prepare", lambda args, config, say, interrupts=None: None)
    monkeypatch.setattr(wf, "execute", lambda args, workflow: Outcome())
    monkeypatch.setenv("STUDIO_CONFIG", str(Path(wf.PROJECT_ROOT) / "config" / "emulator.toml"))
    # Its own output directory: the run lock is taken there, and another worker may hold the checkout's.
    assert wf.main(["drift", "--outdir", str(tmp_path / "cdktf.out")]) == EXIT_DRIFT
