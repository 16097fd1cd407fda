"""The plan/deploy/destroy workflow's decisions, with Terraform and AWS replaced by fakes.

The end-to-end run against moto is tests/test_emulator_e2e.py; these tests pin down the order
of steps, what is skipped and why, and every refusal, in well under a second.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from isolated_studio.ops import guard
from isolated_studio.ops import workflow as wf
from isolated_studio.config import CONFIG_DIR, StudioConfig, load_config

EMULATOR_ENV = {"AWS_REGION": "us-west-2", "STUDIO_EMULATOR_ENDPOINT": "http://127.0.0.1:4566"}
DEV_ENV = {"AWS_REGION": "us-west-2"}


def emulator_config() -> StudioConfig:
    return load_config(CONFIG_DIR / "emulator.toml", env=EMULATOR_ENV)


def dev_config() -> StudioConfig:
    return load_config(CONFIG_DIR / "dev.toml", env=DEV_ENV)


def plan_document(changes: list[tuple[str, list[str]]]) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {}},
        "resource_changes": [
            {"address": f"{rtype}.r{i}", "type": rtype, "name": f"r{i}", "mode": "managed",
             "change": {"actions": actions, "before": None, "after": {}}}
            for i, (rtype, actions) in enumerate(changes)
        ],
    }


@dataclass
class FakeTerraform:
    """Records what the workflow asks Terraform to do; plans come from ``changes``."""

    dirs: dict[str, Path]
    changes: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    outputs_by_stack: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # resource values in the prior state
    drift: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # resource_drift per stack
    fail_plan: set[str] = field(default_factory=set)
    lock_timeout: str = "0s"

    def init(self, stack: str) -> None:
        self.calls.append(("init", stack))

    def _changes(self, stack: str, destroy: bool) -> list[tuple[str, list[str]]]:
        if destroy:
            return [(address.split(".")[0], ["delete"]) for address in self.state.get(stack, [])]
        return self.changes.get(stack, [])

    def plan(self, stack: str, plan_file: Path, *, destroy: bool = False, targets: list[str] = ()) -> bool:
        self.calls.append(("plan-destroy" if destroy else "plan", stack))
        if targets:
            self.calls.append(("targets", ",".join(targets)))
        planned = [c for c in self._changes(stack, destroy)
                   if not targets or any(t.startswith(c[0] + ".") for t in targets)]
        if stack in self.fail_plan:
            raise wf.WorkflowError(f"terraform plan in stack {stack} failed (exit 1)")
        document = plan_document(planned)
        if stack in self.drift:
            document["resource_drift"] = self.drift[stack]
        if destroy:
            document["prior_state"] = {"values": {"root_module": {"resources": [
                {"address": a, "type": a.split(".")[0], "mode": "managed", "values": self.values.get(a, {})}
                for a in self.state.get(stack, [])]}}}
        plan_file.write_text(json.dumps(document))
        return bool(planned)

    def run(self, stack: str, args: list[str], **_: Any) -> None:
        self.calls.append((" ".join(a for a in args if not a.startswith("-")), stack))

    def show_json(self, stack: str, plan_file: Path) -> str:
        return plan_file.read_text()

    def show_text(self, stack: str, plan_file: Path) -> str:
        return f"Terraform will perform the following actions in {stack}"

    def apply(self, stack: str, plan_file: Path) -> None:
        self.calls.append(("apply", stack))

    def outputs(self, stack: str) -> dict[str, Any]:
        return self.outputs_by_stack.get(stack, {})

    def resources(self, stack: str) -> list[str]:
        return self.state.get(stack, [])

    def applied(self) -> list[str]:
        return [stack for action, stack in self.calls if action == "apply"]


class World:
    """What the fake AWS knows: whether the state bucket exists (it does once state is applied)."""

    def __init__(self, bucket_exists: bool) -> None:
        self.bucket_exists = bucket_exists


def make_workflow(tmp_path: Path, config: StudioConfig, tf: FakeTerraform, world: World, *,
                  answers: list[str] | None = None, local_state: bool = False) -> tuple[wf.Workflow, list[str]]:
    state_dir = tmp_path / "cdktf.out" / "stacks" / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    backend = {"local": {"path": f"../../../{config.state.bootstrap_state_path}"}}
    (state_dir / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": backend}}))
    if local_state:
        path = tmp_path / config.state.bootstrap_state_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    tf.dirs = {name: tmp_path / "cdktf.out" / "stacks" / name for name in ("state", "network", "workload")}
    plan_dir = tmp_path / "plans"
    plan_dir.mkdir(exist_ok=True)
    lines: list[str] = []
    replies = iter(answers or [])
    flow = wf.Workflow(config, tmp_path / "cdktf.out", plan_dir, tf, say=lines.append,  # type: ignore[arg-type]
                       ask=lambda _prompt: next(replies), interactive=answers is not None)

    def bucket_exists() -> bool:
        return world.bucket_exists or ("apply", "state") in tf.calls

    flow.state_bucket_exists = bucket_exists  # type: ignore[method-assign]
    return flow, lines


NETWORK_CHANGES = [("aws_vpc", ["create"]), ("aws_subnet", ["create"])]
STATE_CHANGES = [("aws_s3_bucket", ["create"]), ("aws_dynamodb_table", ["create"])]
WORKLOAD_CHANGES = [("aws_sagemaker_domain", ["create"]), ("aws_sagemaker_mlflow_tracking_server", ["create"])]


# --------------------------------------------------------------------------- plan


def test_plan_of_a_fresh_environment_plans_state_and_explains_the_rest(tmp_path):
    tf = FakeTerraform({}, changes={"state": STATE_CHANGES})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False))

    result = flow.plan(["state", "network", "workload"])

    assert [p.stack for p in result.planned] == ["state"]
    reasons = {s.stack: s.reason for s in result.skipped}
    assert "network can be planned after the state stack is applied" in reasons["network"]
    assert "workload can be planned after network is applied" in reasons["workload"]
    assert sorted(p.name for p in flow.plan_dir.iterdir()) == ["review.md", "state.plan.json", "state.tfplan"]
    review = result.report.read_text()
    assert "| `state` | 2 |" in review and "### Not planned" in review
    assert "state: 2 to add, 0 to change, 0 to replace, 0 to destroy" in lines


def test_workload_is_not_planned_until_the_network_has_outputs(tmp_path):
    tf = FakeTerraform({}, changes={"network": NETWORK_CHANGES}, outputs_by_stack={"network": {}})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)

    result = flow.plan(["network", "workload"])

    assert [p.stack for p in result.planned] == ["network"]
    assert result.skipped[0].stack == "workload"
    assert "the network is not applied yet" in result.skipped[0].reason
    assert "workload can be planned after network is applied" in result.skipped[0].reason


def test_state_stack_owned_by_another_checkout_is_not_planned_as_new(tmp_path):
    """The bucket exists but this checkout has no bootstrap state: a plan would 'create' it again."""
    tf = FakeTerraform({}, changes={"state": STATE_CHANGES})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=False)

    result = flow.plan(["state"])

    assert result.planned == []
    assert "already exists but this checkout has no bootstrap state" in result.skipped[0].reason


# --------------------------------------------------------------------------- deploy


def test_deploy_bootstraps_state_applies_network_and_only_plans_workload_in_the_emulator(tmp_path):
    tf = FakeTerraform({}, changes={"state": STATE_CHANGES, "network": NETWORK_CHANGES, "workload": WORKLOAD_CHANGES},
                       outputs_by_stack={"network": {"vpc_id": "vpc-1"}})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False))

    result = flow.deploy(["state", "network", "workload"], assume_yes=True)

    assert [c for c in tf.calls if c[0] in ("plan", "apply")] == [
        ("plan", "state"), ("apply", "state"), ("plan", "network"), ("apply", "network"), ("plan", "workload")]
    assert result.applied == ["state", "network"]
    assert [p.stack for p in result.planned] == ["state", "network", "workload"]
    assert "SageMaker domains" in result.skipped[0].reason and result.skipped[0].stack == "workload"
    assert any("bootstrapping the state stack" in line for line in lines)
    assert (flow.plan_dir / "workload.tfplan").exists() and result.report.exists()


def test_deploy_applies_workload_outside_the_emulator(tmp_path):
    tf = FakeTerraform({}, changes={"workload": WORKLOAD_CHANGES}, outputs_by_stack={"network": {"vpc_id": "vpc-1"}})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)

    result = flow.deploy(["state", "network", "workload"], assume_yes=True)

    assert tf.applied() == ["workload"]  # state and network had no changes: nothing to apply
    assert result.applied == ["workload"]


def test_deploy_asks_per_stack_and_stops_at_the_first_no(tmp_path):
    tf = FakeTerraform({}, changes={"state": STATE_CHANGES, "network": NETWORK_CHANGES})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False), answers=["yes", "no"])

    with pytest.raises(guard.Aborted):
        flow.deploy(["state", "network"], assume_yes=False)

    assert tf.applied() == ["state"]
    assert "Terraform will perform the following actions in network" in lines  # shown before asking
    assert (flow.plan_dir / "review.md").exists()


def test_deploy_of_workload_without_a_deployed_network_fails_with_the_reason(tmp_path):
    tf = FakeTerraform({}, outputs_by_stack={"network": {}})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)

    with pytest.raises(wf.WorkflowError, match="cannot deploy workload: the network is not applied yet"):
        flow.deploy(["workload"], assume_yes=True)
    assert tf.applied() == []


# --------------------------------------------------------------------------- destroy


def test_destroy_cleans_up_studio_then_destroys_workload_then_network(tmp_path, monkeypatch):
    tf = FakeTerraform({}, outputs_by_stack={"workload": {"domain_id": "d-abc123"}},
                       state={"workload": ["aws_sagemaker_domain.studio"], "network": ["aws_vpc.vpc"],
                              "state": ["aws_s3_bucket.bucket"]})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    events: list[str] = []

    def fake_cleanup(client: Any, domain_id: str, **kwargs: Any) -> None:
        events.append(f"cleanup {domain_id} via {client}")

    monkeypatch.setattr("isolated_studio.ops.cleanup.cleanup_domain", fake_cleanup)
    monkeypatch.setattr(wf, "aws_client", lambda config, service: service)
    original_apply = tf.apply
    monkeypatch.setattr(tf, "apply", lambda stack, plan: (events.append(f"destroy {stack}"), original_apply(stack, plan)))

    result = flow.destroy(["workload", "network"], assume_yes=True, include_state=False)

    assert events == ["cleanup d-abc123 via sagemaker", "destroy workload", "destroy network"]
    assert [p.plan_file.name for p in result.planned] == ["workload.destroy.tfplan", "network.destroy.tfplan"]
    assert "state" not in [stack for _, stack in tf.calls]


def test_destroy_removes_sagemakers_vpc_leftovers_after_the_workload_before_the_network(tmp_path, monkeypatch):
    tf = FakeTerraform({}, outputs_by_stack={"network": {"vpc_id": "vpc-123"}},
                       state={"workload": ["aws_s3_bucket.b"], "network": ["aws_vpc.vpc"]})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    events: list[str] = []
    monkeypatch.setattr(wf.Workflow, "cleanup_studio", lambda self: events.append("studio"))
    monkeypatch.setattr(wf, "aws_client", lambda config, service: service)
    monkeypatch.setattr("isolated_studio.ops.vpc_cleanup.cleanup_vpc", lambda ec2, efs, vpc_id, **kw: events.append(
        f"vpc {vpc_id} {ec2} {efs} retain={kw['retain_home_efs']}"))
    original_apply = tf.apply
    monkeypatch.setattr(tf, "apply", lambda stack, plan: (events.append(f"destroy {stack}"), original_apply(stack, plan)))

    flow.destroy(["workload", "network"], assume_yes=True, include_state=False)

    assert events == ["studio", "destroy workload", "vpc vpc-123 ec2 efs retain=False", "destroy network"]


def test_a_vpc_still_blocked_stops_before_the_network_destroy(tmp_path, monkeypatch):
    from isolated_studio.ops.vpc_cleanup import VpcCleanupError

    tf = FakeTerraform({}, outputs_by_stack={"network": {"vpc_id": "vpc-123"}}, state={"network": ["aws_vpc.vpc"]})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    monkeypatch.setattr(wf, "aws_client", lambda config, service: service)

    def blocked(*args: Any, **kwargs: Any) -> None:
        raise VpcCleanupError("still waiting for network interfaces: eni-1 (in-use)")

    monkeypatch.setattr("isolated_studio.ops.vpc_cleanup.cleanup_vpc", blocked)
    with pytest.raises(wf.WorkflowError, match="the network was not destroyed: still waiting for network interfaces: eni-1"):
        flow.destroy(["network"], assume_yes=True, include_state=False)
    assert tf.applied() == []


def test_with_a_retained_home_efs_the_workload_destroy_keeps_the_key(tmp_path, monkeypatch):
    config = dev_config()
    config = config.model_copy(update={"workload": config.workload.model_copy(update={"retain_home_efs": True})})
    key = "aws_kms_key.kms_key_28C05A0F"
    tf = FakeTerraform({}, state={"workload": ["aws_sagemaker_domain.studio", key, "aws_kms_alias.kms_alias",
                                               "data.aws_caller_identity.account"]},
                       values={key: {"arn": "arn:aws:kms:us-west-2:111111111111:key/k-1"},
                               "aws_sagemaker_domain.studio": {"id": "d-abc123", "home_efs_file_system_id": "fs-0a1b"}})
    flow, lines = make_workflow(tmp_path, config, tf, World(bucket_exists=True), local_state=True)
    monkeypatch.setattr(wf.Workflow, "cleanup_studio", lambda self: None)

    result = flow.destroy(["workload"], assume_yes=True, include_state=False)

    assert ("targets", "aws_sagemaker_domain.studio,aws_kms_alias.kms_alias") in tf.calls
    destroyed = {rc["type"] for rc in json.loads(result.planned[0].json_file.read_text())["resource_changes"]}
    assert "aws_kms_key" not in destroyed and "aws_sagemaker_domain" in destroyed
    assert tf.calls.index(("apply", "workload")) < tf.calls.index((f"state rm {key}", "workload"))
    kept = next(line for line in lines if "kept KMS key" in line)
    assert "arn:aws:kms:us-west-2:111111111111:key/k-1" in kept and "fs-0a1b" in kept and "d-abc123" in kept


def test_destroy_skips_stacks_with_empty_state(tmp_path):
    tf = FakeTerraform({}, state={"network": ["aws_vpc.vpc"]})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)

    result = flow.destroy(["workload", "network"], assume_yes=True, include_state=False)

    assert [s.stack for s in result.skipped] == ["workload"]
    assert "nothing to destroy: its state is empty" in result.skipped[0].reason
    assert tf.applied() == ["network"]


def test_destroy_asks_once_for_the_environment_name(tmp_path):
    tf = FakeTerraform({}, state={"network": ["aws_vpc.vpc"]})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), answers=["yes"])

    with pytest.raises(guard.Aborted, match="expected 'emulator'"):
        flow.destroy(["network"], assume_yes=False, include_state=False)
    assert tf.applied() == []


def test_destroy_of_protected_state_is_refused_before_anything_runs(tmp_path):
    tf = FakeTerraform({}, state={"state": ["aws_s3_bucket.bucket"]})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)

    with pytest.raises(wf.Refused) as refused:
        flow.destroy(["workload", "network"], assume_yes=True, include_state=True)

    assert "prevent_destroy" in str(refused.value) and "protect = false" in str(refused.value)
    assert tf.calls == []


def test_state_stack_is_destroyed_only_with_include_state(tmp_path):
    tf = FakeTerraform({})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True))

    with pytest.raises(wf.Refused, match="only with --include-state"):
        flow.destroy(["state"], assume_yes=True, include_state=False)


@mock_aws
def test_state_bucket_is_emptied_only_when_no_state_in_it_tracks_resources(tmp_path):
    config = dev_config()
    s3 = boto3.client("s3", region_name=config.region)
    bucket = config.state.bucket
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": config.region})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    key = config.state_key("network")
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"resources": [{"mode": "managed", "type": "aws_vpc"}]}))
    flow, lines = make_workflow(tmp_path, config, FakeTerraform({}), World(bucket_exists=True))

    with pytest.raises(wf.WorkflowError, match=f"{key} \\(1 resources\\) still tracked"):
        flow.empty_state_bucket()

    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"resources": []}))
    flow.empty_state_bucket()
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == []
    assert lines[-1].startswith(f"state: emptied bucket {bucket} (2 object versions")


# --------------------------------------------------------------------------- outdir, CLI, runner


def write_synthesized(outdir: Path, bucket: str, key: str, endpoint: str | None) -> None:
    stacks = {"state": {"local": {"path": "../../../terraform-state/emulator/state.tfstate"}},
              "network": {"s3": {"bucket": bucket, "key": key, **({"endpoints": {"s3": endpoint}} if endpoint else {})}}}
    manifest = {"stacks": {name: {"workingDirectory": f"stacks/{name}"} for name in stacks}}
    outdir.mkdir(parents=True)
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    for name, backend in stacks.items():
        (outdir / "stacks" / name).mkdir(parents=True)
        (outdir / "stacks" / name / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": backend}}))


def test_reused_outdir_of_another_environment_or_endpoint_is_detected(tmp_path):
    config = emulator_config()
    outdir = tmp_path / "cdktf.out"
    write_synthesized(outdir, "studio-dev-tfstate", "isolated-studio/dev/network.tfstate", "http://127.0.0.1:5000")

    problems = wf.outdir_mismatches(config, {"state": outdir / "stacks/state", "network": outdir / "stacks/network"})

    assert problems == [
        "network: state in s3://studio-dev-tfstate/isolated-studio/dev/network.tfstate, "
        "expected s3://studio-emu-tfstate/isolated-studio/emulator/network.tfstate",
        "network: S3 endpoint 'http://127.0.0.1:5000', expected 'http://127.0.0.1:4566'",
    ]


def test_cli_refuses_to_plan_stacks_synthesized_for_another_environment(tmp_path, monkeypatch, capsys):
    outdir = tmp_path / "cdktf.out"
    write_synthesized(outdir, "studio-dev-tfstate", "isolated-studio/dev/network.tfstate", None)
    monkeypatch.setenv("STUDIO_CONFIG", str(CONFIG_DIR / "emulator.toml"))
    monkeypatch.setenv("STUDIO_EMULATOR_ENDPOINT", "http://127.0.0.1:4566")

    code = wf.main(["plan", "--no-synth", "--outdir", str(outdir), "--plan-dir", str(tmp_path / "plans")])

    assert code == wf.EXIT_REFUSED
    assert "was synthesized for another environment or endpoint" in capsys.readouterr().err
    assert not (tmp_path / "plans").exists()


def test_cli_destroy_including_protected_state_is_refused_without_contacting_aws(monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_CONFIG", str(CONFIG_DIR / "dev.toml"))
    monkeypatch.delenv("STUDIO_EMULATOR_ENDPOINT", raising=False)
    monkeypatch.setattr(wf, "verify_target", lambda *a, **k: pytest.fail("contacted AWS"))

    code = wf.main(["destroy", "--include-state", "--yes", "--no-synth"])

    assert code == wf.EXIT_REFUSED
    assert "prevent_destroy" in capsys.readouterr().err


def test_cli_deploy_without_a_terminal_needs_yes(monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_CONFIG", str(CONFIG_DIR / "emulator.toml"))
    monkeypatch.setattr(wf, "verify_target", lambda *a, **k: pytest.fail("contacted AWS"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    assert wf.main(["deploy", "--no-synth"]) == wf.EXIT_REFUSED
    assert "pass --yes" in capsys.readouterr().err


def test_emulator_clients_talk_to_the_emulator_with_test_credentials():
    client = wf.aws_client(emulator_config(), "s3")
    assert client.meta.endpoint_url == "http://127.0.0.1:4566"
    assert client.meta.region_name == "us-west-2"
    assert client._request_signer._credentials.access_key == "test"


def test_terraform_that_overruns_its_timeout_is_interrupted_with_a_clear_error(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "terraform"
    fake.parent.mkdir()
    # Like Terraform: keeps running until SIGINT, then stops cleanly.
    fake.write_text("#!/bin/sh\ntrap 'echo interrupted >&2; exit 130' INT\nwhile :; do sleep 0.1; done\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "network").mkdir()
    runner = wf.Terraform({"network": tmp_path / "network"}, dict(os.environ), say=print, timeout_s=1)

    with pytest.raises(wf.WorkflowError, match="did not finish within 1 s and was interrupted"):
        runner.plan("network", tmp_path / "network.tfplan")
