"""The plan/deploy/destroy workflow's decisions, with Terraform and AWS replaced by fakes.

The end-to-end run against moto is tests/e2e/emulator/test_emulator_e2e.py; these tests pin down the order
of steps, what is skipped and why, and every refusal, in well under a second.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from isolated_studio.config import CONFIG_DIR, StudioConfig, load_config
from isolated_studio.ops import guard
from isolated_studio.ops import workflow as wf

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
            {
                "address": f"{rtype}.r{i}",
                "type": rtype,
                "name": f"r{i}",
                "mode": "managed",
                "change": {"actions": actions, "before": None, "after": {}},
            }
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
        planned = [
            c for c in self._changes(stack, destroy) if not targets or any(t.startswith(c[0] + ".") for t in targets)
        ]
        if stack in self.fail_plan:
            raise wf.WorkflowError(f"terraform plan in stack {stack} failed (exit 1)")
        document = plan_document(planned)
        if stack in self.drift:
            document["resource_drift"] = self.drift[stack]
        if destroy:
            document["prior_state"] = {
                "values": {
                    "root_module": {
                        "resources": [
                            {"address": a, "type": a.split(".")[0], "mode": "managed", "values": self.values.get(a, {})}
                            for a in self.state.get(stack, [])
                        ]
                    }
                }
            }
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


def make_workflow(
    tmp_path: Path,
    config: StudioConfig,
    tf: FakeTerraform,
    world: World,
    *,
    answers: list[str] | None = None,
    local_state: bool = False,
) -> tuple[wf.Workflow, list[str]]:
    state_dir = tmp_path / "cdktf.out" / "stacks" / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    backend = {"local": {"path": f"../../../{config.bootstrap_state_file}"}}
    (state_dir / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": backend}}))
    if local_state:
        path = tmp_path / config.bootstrap_state_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    tf.dirs = {name: tmp_path / "cdktf.out" / "stacks" / name for name in ("state", "network", "workload")}
    plan_dir = tmp_path / "plans"
    plan_dir.mkdir(exist_ok=True)
    lines: list[str] = []
    replies = iter(answers or [])
    flow = wf.Workflow(
        config,
        tmp_path / "cdktf.out",
        plan_dir,
        tf,
        say=lines.append,  # type: ignore[arg-type]
        ask=lambda _prompt: next(replies),
        interactive=answers is not None,
    )

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
    tf = FakeTerraform(
        {},
        changes={"state": STATE_CHANGES, "network": NETWORK_CHANGES, "workload": WORKLOAD_CHANGES},
        outputs_by_stack={"network": {"vpc_id": "vpc-1"}},
    )
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False))

    result = flow.deploy(["state", "network", "workload"], assume_yes=True)

    assert [c for c in tf.calls if c[0] in ("plan", "apply")] == [
        ("plan", "state"),
        ("apply", "state"),
        ("plan", "network"),
        ("apply", "network"),
        ("plan", "workload"),
    ]
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
    tf = FakeTerraform(
        {},
        outputs_by_stack={"workload": {"domain_id": "d-abc123"}},
        state={
            "workload": ["aws_sagemaker_domain.studio"],
            "network": ["aws_vpc.vpc"],
            "state": ["aws_s3_bucket.bucket"],
        },
    )
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    events: list[str] = []

    def fake_cleanup(client: Any, domain_id: str, **kwargs: Any) -> None:
        events.append(f"cleanup {domain_id} via {client}")

    monkeypatch.setattr("isolated_studio.ops.cleanup.cleanup_domain", fake_cleanup)
    monkeypatch.setattr("isolated_studio.ops.cleanup.inventory", lambda client, domain_id: None)
    monkeypatch.setattr(wf, "aws_client", lambda config, service: service)
    original_apply = tf.apply
    monkeypatch.setattr(
        tf, "apply", lambda stack, plan: (events.append(f"destroy {stack}"), original_apply(stack, plan))
    )

    result = flow.destroy(["workload", "network"], assume_yes=True, include_state=False)

    assert events == ["cleanup d-abc123 via sagemaker", "destroy workload", "destroy network"]
    assert [p.plan_file.name for p in result.planned] == ["workload.destroy.tfplan", "network.destroy.tfplan"]
    assert "state" not in [stack for _, stack in tf.calls]


def test_destroy_removes_sagemakers_vpc_leftovers_after_the_workload_before_the_network(tmp_path, monkeypatch):
    tf = FakeTerraform(
        {},
        outputs_by_stack={"network": {"vpc_id": "vpc-123"}},
        state={"workload": ["aws_s3_bucket.b"], "network": ["aws_vpc.vpc"]},
    )
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    events: list[str] = []
    monkeypatch.setattr(wf.Workflow, "cleanup_studio", lambda self: events.append("studio"))
    monkeypatch.setattr(wf, "aws_client", lambda config, service: service)
    monkeypatch.setattr(
        "isolated_studio.ops.vpc_cleanup.cleanup_vpc",
        lambda ec2, efs, vpc_id, **kw: events.append(f"vpc {vpc_id} {ec2} {efs} retain={kw['retain_home_efs']}"),
    )
    original_apply = tf.apply
    monkeypatch.setattr(
        tf, "apply", lambda stack, plan: (events.append(f"destroy {stack}"), original_apply(stack, plan))
    )

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
    with pytest.raises(
        wf.WorkflowError, match="the network was not destroyed: still waiting for network interfaces: eni-1"
    ):
        flow.destroy(["network"], assume_yes=True, include_state=False)
    assert tf.applied() == []


def test_with_a_retained_home_efs_the_workload_destroy_keeps_the_key(tmp_path, monkeypatch):
    config = dev_config()
    config = config.model_copy(update={"workload": config.workload.model_copy(update={"retain_home_efs": True})})
    key = "aws_kms_key.kms_key_28C05A0F"
    tf = FakeTerraform(
        {},
        state={
            "workload": [
                "aws_sagemaker_domain.studio",
                key,
                "aws_kms_alias.kms_alias",
                "data.aws_caller_identity.account",
            ]
        },
        values={
            key: {"arn": "arn:aws:kms:us-west-2:111111111111:key/k-1"},
            "aws_sagemaker_domain.studio": {"id": "d-abc123", "home_efs_file_system_id": "fs-0a1b"},
        },
    )
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

    assert [(s.stack, s.reason) for s in result.skipped] == [("workload", "nothing to destroy: its state is empty")]
    assert tf.applied() == ["network"]
    # Each stack's state is read after its backend is initialised, in destroy order.
    assert tf.calls[:2] == [("init", "workload"), ("init", "network")]


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


# --------------------------------------------------------------------------- the bare default state bucket


def _deploy_cli(monkeypatch, tmp_path: Path, config_file: Path, *extra: str) -> list[str]:
    """`workflow deploy --yes` through main; returns the stacks it went on to synthesize and deploy.

    The output directory is the test's own: the run lock is taken on it, and the checkout's
    cdktf.out may be held by a test on another worker at the same moment."""
    monkeypatch.setenv("STUDIO_CONFIG", str(config_file))
    monkeypatch.delenv("STUDIO_EMULATOR_ENDPOINT", raising=False)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, "us-west-2")
    reached: list[str] = []

    def prepare(args, *_a, **_k):
        reached.extend(args.stacks or ["all"])
        raise wf.Refused("stopped before synthesis by the test")

    monkeypatch.setattr(wf, "prepare", prepare)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = wf.main(["deploy", "--yes", "--no-synth", "--outdir", str(tmp_path / "cdktf.out"), *extra])
    assert reached, f"deploy stopped before synthesis (exit {code}):\n{out.getvalue()}{err.getvalue()}"
    return reached


@mock_aws
def test_deploy_refuses_to_create_the_state_bucket_under_the_bare_default_name(monkeypatch, capsys):
    # dev.toml sets neither project.account_id nor state.bucket: the bucket would be studio-dev-tfstate.
    monkeypatch.setenv("STUDIO_CONFIG", str(CONFIG_DIR / "dev.toml"))
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setattr(wf, "prepare", lambda *a, **k: pytest.fail("synthesized or ran Terraform"))

    code = wf.main(["deploy", "--yes", "--no-synth"])

    err = capsys.readouterr().err
    assert code == wf.EXIT_REFUSED
    assert "the state bucket studio-dev-tfstate does not exist yet, and deploy does not create it" in err
    assert (
        "Set `project.account_id` (the bucket is then studio-dev-tfstate-<account_id>-us-west-2) or "
        "`state.bucket`" in err
    )


@mock_aws
def test_a_state_bucket_named_with_the_account_or_in_the_file_is_created_and_an_existing_bare_one_used(
    monkeypatch, tmp_path
):
    text = (CONFIG_DIR / "dev.toml").read_text()
    with_account = tmp_path / "dev.toml"
    with_account.write_text(text.replace('# account_id = "123456789012"', 'account_id = "123456789012"'))
    assert load_config(with_account, env=DEV_ENV).state.bucket == "studio-dev-tfstate-123456789012-us-west-2"
    assert _deploy_cli(monkeypatch, tmp_path, with_account) == ["all"]
    named = tmp_path / "named.toml"
    named.write_text(text.replace("[state]\n", '[state]\nbucket = "studio-dev-tfstate"\n'))
    assert _deploy_cli(monkeypatch, tmp_path, named) == ["all"]
    # Stacks that do not bootstrap the state create no bucket.
    assert _deploy_cli(monkeypatch, tmp_path, CONFIG_DIR / "dev.toml", "--stacks", "network") == ["network"]
    # A bare-named bucket that exists (made before the default carried the account) is used.
    boto3.client("s3", region_name="us-west-2").create_bucket(
        Bucket="studio-dev-tfstate", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    assert _deploy_cli(monkeypatch, tmp_path, CONFIG_DIR / "dev.toml") == ["all"]


# --------------------------------------------------------------------------- outdir, CLI, runner


def write_synthesized(outdir: Path, bucket: str, key: str, endpoint: str | None) -> None:
    stacks = {
        "state": {"local": {"path": "../../../terraform-state/emulator/us-west-2/state.tfstate"}},
        "network": {"s3": {"bucket": bucket, "key": key, **({"endpoints": {"s3": endpoint}} if endpoint else {})}},
    }
    manifest = {"stacks": {name: {"workingDirectory": f"stacks/{name}"} for name in stacks}}
    outdir.mkdir(parents=True)
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    for name, backend in stacks.items():
        (outdir / "stacks" / name).mkdir(parents=True)
        (outdir / "stacks" / name / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": backend}}))


def test_reused_outdir_of_another_environment_or_endpoint_is_detected(tmp_path):
    config = emulator_config()
    outdir = tmp_path / "cdktf.out"
    write_synthesized(
        outdir, "studio-dev-tfstate", "isolated-studio/dev/us-west-2/network.tfstate", "http://127.0.0.1:5000"
    )

    problems = wf.outdir_mismatches(config, {"state": outdir / "stacks/state", "network": outdir / "stacks/network"})

    assert problems == [
        "network: state in s3://studio-dev-tfstate/isolated-studio/dev/us-west-2/network.tfstate, "
        "expected s3://studio-emu-tfstate/isolated-studio/emulator/us-west-2/network.tfstate",
        "network: S3 endpoint 'http://127.0.0.1:5000', expected 'http://127.0.0.1:4566'",
    ]


def test_cli_refuses_to_plan_stacks_synthesized_for_another_environment(tmp_path, monkeypatch, capsys):
    outdir = tmp_path / "cdktf.out"
    write_synthesized(outdir, "studio-dev-tfstate", "isolated-studio/dev/network.tfstate", None)
    monkeypatch.setenv("STUDIO_CONFIG", str(CONFIG_DIR / "emulator.toml"))
    monkeypatch.setenv("STUDIO_EMULATOR_ENDPOINT", "http://127.0.0.1:4566")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, "us-west-2")

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


# --------------------------------------------------------------------------- truthful results


def _run_cli(monkeypatch, flow: wf.Workflow, argv: list[str]) -> int:
    """wf.run as main calls it, with this fake workflow instead of a synthesized app."""
    monkeypatch.setattr(wf, "verify_target", lambda *a, **k: None)
    monkeypatch.setattr(wf, "prepare", lambda *a, **k: flow)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, flow.config.region)
    for name in ("STUDIO_ENV", "STUDIO_CONFIG"):  # the next steps would name them
        monkeypatch.delenv(name, raising=False)
    args = wf._parser().parse_args(argv)
    return wf.run(args, flow.config, flow.say, flow.interrupts)


def test_a_deploy_that_applied_state_and_then_heard_no_does_not_claim_nothing_changed(tmp_path, monkeypatch, capsys):
    tf = FakeTerraform({}, changes={"state": STATE_CHANGES, "network": NETWORK_CHANGES})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False), answers=["yes", "no"])

    code = _run_cli(monkeypatch, flow, ["deploy", "--stacks", "state", "network"])

    assert code == wf.EXIT_STOPPED  # not EXIT_REFUSED, "before anything changed"
    err = capsys.readouterr().err
    assert "aborted: expected 'yes' but got 'no'" in err
    assert "Applied: state" in lines
    applied = (flow.plan_dir / "review.md").read_text().split("### Applied", 1)[1]
    assert "- Applied: state" in applied
    # docs/operations.md's promise: every exit after a partial change says what to run next.
    assert lines[lines.index("Next:") :] == [
        "Next:",
        '  1. `make plan STACKS="network"`: see what is deployed now and what is left to change',
        '  2. review that plan\'s review.md, then `make deploy STACKS="network"`',
    ]
    assert '1. `make plan STACKS="network"`' in applied.split("### Next", 1)[1]


def test_next_steps_name_the_environment_scope_and_used_up_saved_plans(tmp_path):
    result = wf.RunResult(
        "deploy", tmp_path, requested=["state", "network", "workload"], applied=["state"], started=["state", "network"]
    )
    args = wf._parser().parse_args(["deploy", "--emulator-scope", "--from-plan-dir", str(tmp_path)])

    steps = wf.next_steps(result, args, held=["network"], env={"STUDIO_ENV": "emulator"})

    assert steps[0].startswith("release the state lock of network with the `terraform force-unlock` command above")
    assert steps[1] == (
        '`STUDIO_ENV=emulator make plan STACKS="network workload" ARGS=--emulator-scope`: see what '
        "is deployed now and what is left to change (the unfinished apply of network may have "
        "created resources its state does not track yet)"
    )
    assert steps[2].startswith(
        "review that plan's review.md, then `STUDIO_ENV=emulator make deploy "
        'STACKS="network workload" ARGS=--emulator-scope` (the saved plans of this run are used up'
    )


def test_a_finished_run_and_one_that_changed_nothing_print_no_next_steps(tmp_path, monkeypatch):
    tf = FakeTerraform({}, changes={"state": STATE_CHANGES})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False), answers=["yes"])
    assert _run_cli(monkeypatch, flow, ["deploy", "--stacks", "state"]) == wf.EXIT_OK
    assert "Next:" not in lines and "### Next" not in (flow.plan_dir / "review.md").read_text()


def test_an_abort_before_anything_changed_is_exit_2(tmp_path, monkeypatch):
    tf = FakeTerraform({}, changes={"state": STATE_CHANGES})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False), answers=["no"])

    assert _run_cli(monkeypatch, flow, ["deploy", "--stacks", "state"]) == wf.EXIT_REFUSED
    assert "Applied: nothing" in lines


def test_a_failed_apply_is_reported_as_failed_and_changed_in_part(tmp_path, monkeypatch, capsys):
    tf = FakeTerraform({}, changes={"state": STATE_CHANGES, "network": NETWORK_CHANGES})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False))
    original = tf.apply

    def apply(stack: str, plan_file: Path) -> None:
        if stack == "network":
            raise wf.WorkflowError("terraform apply in stack network failed (exit 1):\nError: boom")
        original(stack, plan_file)

    monkeypatch.setattr(tf, "apply", apply)
    monkeypatch.setattr(flow, "lock_status", lambda stack: f"{stack}: state lock released")

    assert _run_cli(monkeypatch, flow, ["deploy", "--yes", "--stacks", "state", "network"]) == wf.EXIT_FAILED
    assert "Applied: state" in lines
    assert "Changed in part (its apply did not finish): network" in lines
    assert "Failed: network (terraform apply in stack network failed (exit 1))" in lines
    assert "network: state lock released" in lines
    review = (flow.plan_dir / "review.md").read_text()
    assert "Failed: network" in review.split("### Applied", 1)[1]
    assert (
        '  1. `make plan STACKS="network"`: see what is deployed now and what is left to change (the '
        "unfinished apply of network may have created resources its state does not track yet)"
    ) in lines


def test_destroy_reports_what_it_destroyed(tmp_path, monkeypatch):
    tf = FakeTerraform({}, state={"network": ["aws_vpc.vpc"]})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)

    assert _run_cli(monkeypatch, flow, ["destroy", "--yes", "--stacks", "network"]) == wf.EXIT_OK
    assert "Destroyed: network" in lines
    assert "- Destroyed: network" in (flow.plan_dir / "review.md").read_text()
    assert flow.result.plan_dir == flow.plan_dir  # the result says where its plans are
    assert f"Destroy plans and review: {flow.plan_dir / 'review.md'}" in lines


def test_destroy_including_state_trusts_the_deployed_protection_not_the_configuration(tmp_path):
    tf = FakeTerraform({}, state={"state": ["aws_s3_bucket.bucket"], "network": ["aws_vpc.vpc"]})
    config = emulator_config()  # protect = false in the file...
    assert config.state.protect is False
    flow, _ = make_workflow(tmp_path, config, tf, World(bucket_exists=True), local_state=True)
    deployed = {
        "resources": [
            {
                "mode": "managed",
                "type": "aws_dynamodb_table",
                "name": "lock_table",
                "instances": [{"attributes": {"name": "studio-emu-tflock", "deletion_protection_enabled": True}}],
            }
        ]
    }
    flow.bootstrap_state_file().write_text(json.dumps(deployed))  # ...but not applied yet
    flow.empty_state_bucket = lambda: pytest.fail("emptied the state bucket")  # type: ignore[method-assign]

    with pytest.raises(wf.Refused, match="lock table studio-emu-tflock has deletion protection") as refused:
        flow.destroy(["workload", "network"], assume_yes=True, include_state=True)

    assert "deploy --stacks state" in str(refused.value)
    assert tf.calls == []  # nothing planned, emptied or destroyed

    deployed["resources"][0]["instances"][0]["attributes"]["deletion_protection_enabled"] = False
    flow.bootstrap_state_file().write_text(json.dumps(deployed))
    flow.empty_state_bucket = lambda: None  # type: ignore[method-assign]
    result = flow.destroy(["workload", "network"], assume_yes=True, include_state=True)
    assert result.applied == ["network", "state"]


# --------------------------------------------------------------------------- --yes, --allow-replace, --from-plan-dir


def test_yes_does_not_apply_a_replacement_of_a_long_lived_resource_without_allow_replace(tmp_path):
    replace_vpc = [("aws_vpc", ["delete", "create"]), ("aws_subnet", ["create"])]
    tf = FakeTerraform({}, changes={"network": replace_vpc})
    flow, lines = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)

    with pytest.raises(wf.Refused, match="REPLACE long-lived `aws_vpc.r0`.*rerun with --allow-replace"):
        flow.deploy(["network"], assume_yes=True)
    assert tf.applied() == []

    result = flow.deploy(["network"], assume_yes=True, allow_replace=True)
    assert result.applied == ["network"]


def test_yes_does_not_apply_a_destroy_in_a_deploy_without_allow_replace(tmp_path):
    tf = FakeTerraform({}, changes={"network": [("aws_flow_log", ["delete"])]})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    with pytest.raises(wf.Refused, match="DESTROY `aws_flow_log.r0`"):
        flow.deploy(["network"], assume_yes=True)
    assert tf.applied() == []


def test_deploy_from_a_plan_dir_applies_exactly_the_saved_plans_without_planning(tmp_path):
    tf = FakeTerraform({}, changes={"network": NETWORK_CHANGES})
    flow, lines = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    reviewed = tmp_path / "reviewed"
    reviewed.mkdir()
    (reviewed / "network.tfplan").write_text(json.dumps(plan_document(NETWORK_CHANGES)))

    result = flow.deploy(["network"], assume_yes=True, from_plan_dir=reviewed)

    assert [c for c in tf.calls if c[0] in ("plan", "plan-destroy")] == []  # nothing planned again
    assert tf.applied() == ["network"]
    assert [p.plan_file for p in result.planned] == [reviewed / "network.tfplan"]


def test_deploy_from_a_plan_dir_missing_one_stacks_plan_applies_nothing(tmp_path, monkeypatch, capsys):
    """Half of a reviewed change applied and exit 0 was the old behaviour: now exit 2, nothing applied."""
    tf = FakeTerraform({}, changes={"network": NETWORK_CHANGES, "workload": WORKLOAD_CHANGES})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)
    reviewed = tmp_path / "reviewed"
    reviewed.mkdir()
    for stack, changes in (("state", []), ("workload", WORKLOAD_CHANGES)):
        (reviewed / f"{stack}.tfplan").write_text(json.dumps(plan_document(changes)))

    code = _run_cli(monkeypatch, flow, ["deploy", "--yes", "--from-plan-dir", str(reviewed)])

    assert code == wf.EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"{reviewed} holds no saved plan of network (network.tfplan), only of state, workload" in err
    assert f'`make deploy STACKS="state workload" ARGS="--from-plan-dir {reviewed}"`' in err
    assert tf.calls == []  # not even initialized, nothing applied
    assert "Applied: nothing" in lines


def test_deploy_from_an_empty_plan_dir_is_refused(tmp_path):
    tf = FakeTerraform({})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(wf.Refused, match="holds no saved plan of state, network.*make plan"):
        flow.deploy(["state", "network"], assume_yes=True, from_plan_dir=tmp_path / "empty")


# --------------------------------------------------------------------------- one run per checkout, owner-only files


def test_a_second_run_in_the_same_checkout_is_refused_naming_the_holder(tmp_path, monkeypatch, capsys):
    import subprocess
    import sys

    outdir = tmp_path / "cdktf.out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from isolated_studio.ops import runlock\n"
            "with runlock.hold(Path(sys.argv[1]), 'deploy --yes'):\n"
            "    print('held', flush=True); time.sleep(60)\n",
            str(outdir),
        ],
        cwd=wf.PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("STUDIO_CONFIG", str(CONFIG_DIR / "emulator.toml"))
        monkeypatch.setenv("AWS_REGION", "us-west-2")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
        monkeypatch.setattr(wf, "prepare", lambda *a, **k: pytest.fail("ran beside another run"))

        code = wf.main(["plan", "--no-synth", "--outdir", str(outdir)])

        err = capsys.readouterr().err
        assert code == wf.EXIT_REFUSED
        assert f"another workflow run is using {outdir}: `deploy --yes` (pid {holder.pid})" in err
    finally:
        holder.kill()
        holder.wait()


def test_plans_plan_json_and_review_are_owner_only(tmp_path, monkeypatch):
    old = os.umask(0o022)
    try:
        tf = FakeTerraform({}, changes={"state": STATE_CHANGES})
        flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False))
        flow.plan(["state"])
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in flow.plan_dir.iterdir()}
    assert modes == {"state.tfplan": 0o600, "state.plan.json": 0o600, "review.md": 0o600}


# --------------------------------------------------------------------------- messages with the next step


def test_terraform_older_than_1_10_is_refused_up_front(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "terraform"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'{"terraform_version":"1.9.8","platform":"linux_amd64"}\'\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    from isolated_studio.ops.runner import TooOld, check_version

    with pytest.raises(TooOld, match="Terraform 1.9.8 is too old: this project needs Terraform >= 1.10"):
        check_version(dict(os.environ))
    fake.write_text('#!/bin/sh\necho \'{"terraform_version":"1.10.0"}\'\n')
    assert check_version(dict(os.environ)) == "1.10.0"


def test_a_stale_plan_and_a_held_lock_say_what_to_do_next(tmp_path):
    from isolated_studio.ops.runner import next_step

    stale = "Error: Saved plan is stale\n\nThe given plan file can no longer be applied because the state was changed"
    assert "Plan again (`make plan`)" in next_step(stale, tmp_path)
    locked = (
        "Error: Error acquiring the state lock\n\nLock Info:\n  ID:        3f1c9a2e-7d61-4b5e-9c3a-1e2f3a4b5c6d\n"
        "  Path:      b/k\n  Operation: OperationTypeApply\n"
    )
    advice = next_step(locked, tmp_path / "network")
    assert (
        f"`terraform -chdir={tmp_path / 'network'} force-unlock -force 3f1c9a2e-7d61-4b5e-9c3a-1e2f3a4b5c6d`" in advice
    )
    assert "--lock-timeout" in advice


def test_an_unreachable_emulator_says_to_start_it_not_to_configure_credentials(monkeypatch, capsys):
    import socket

    with socket.socket() as sock:  # bound, never listening: refused, and no other server gets the port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        monkeypatch.setenv("STUDIO_CONFIG", str(CONFIG_DIR / "emulator.toml"))
        monkeypatch.setenv("STUDIO_EMULATOR_ENDPOINT", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_REGION", "us-west-2")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

        code = wf.main(["deploy", "--yes", "--no-synth"])

    err = capsys.readouterr().err
    assert code == wf.EXIT_REFUSED
    assert f"the emulator at http://127.0.0.1:{port} does not answer" in err and "make emulator" in err
    assert "credentials" not in err


def test_the_workflows_aws_calls_retry_as_the_operators_aws_settings_say(monkeypatch):
    from isolated_studio.ops.aws import aws_client

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # e.g. to fail fast on a dead emulator
    assert aws_client(dev_config(), "sts").meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


# --------------------------------------------------------------------------- destroy order and what cleanup deletes


def test_destroying_the_network_is_refused_while_the_workload_state_tracks_resources(tmp_path):
    tf = FakeTerraform(
        {}, state={"workload": ["data.aws_partition.p", "aws_sagemaker_domain.studio"], "network": ["aws_vpc.vpc"]}
    )
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)

    with pytest.raises(
        wf.Refused, match="workload's state still tracks 1 resources.*destroy --stacks workload network"
    ):
        flow.destroy(["network"], assume_yes=True, include_state=False)
    assert tf.applied() == [] and not [c for c in tf.calls if c[0] == "plan-destroy"]


def _sagemaker_with(profiles: list[str]) -> Any:
    """A real botocore SageMaker client whose answers come from a Stubber (validated against the API model)."""
    from botocore.stub import Stubber

    client = boto3.client("sagemaker", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response("describe_domain", {"DomainId": "d-abc123", "Status": "InService"}, {"DomainId": "d-abc123"})
    stubber.add_response(
        "list_apps",
        {
            "Apps": [
                {
                    "DomainId": "d-abc123",
                    "SpaceName": "alice-lab",
                    "AppType": "JupyterLab",
                    "AppName": "default",
                    "Status": "InService",
                },
                {
                    "DomainId": "d-abc123",
                    "UserProfileName": "alice",
                    "AppType": "JupyterServer",
                    "AppName": "default",
                    "Status": "Deleted",
                },
            ]
        },
        {"DomainIdEquals": "d-abc123"},
    )
    stubber.add_response(
        "list_spaces",
        {
            "Spaces": [
                {
                    "DomainId": "d-abc123",
                    "SpaceName": "alice-lab",
                    "Status": "InService",
                    "OwnershipSettingsSummary": {"OwnerUserProfileName": "alice"},
                },
                {"DomainId": "d-abc123", "SpaceName": "team", "Status": "InService"},
            ]
        },
        {"DomainIdEquals": "d-abc123"},
    )
    stubber.add_response(
        "list_user_profiles",
        {
            "UserProfiles": [
                {"DomainId": "d-abc123", "UserProfileName": name, "Status": "InService"} for name in profiles
            ]
        },
        {"DomainIdEquals": "d-abc123"},
    )
    stubber.activate()
    return client


def test_the_destroy_prompt_lists_what_the_studio_cleanup_deletes_with_owners_and_data(tmp_path, monkeypatch):
    tf = FakeTerraform(
        {},
        outputs_by_stack={"workload": {"domain_id": "d-abc123"}},
        state={"workload": ["aws_sagemaker_domain.studio"]},
    )
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True, answers=["no"])
    client = _sagemaker_with(["data-scientist"])
    monkeypatch.setattr(wf, "aws_client", lambda config, service: client)
    prompts: list[str] = []
    monkeypatch.setattr(
        guard, "confirm", lambda text, **kw: (prompts.append(text), (_ for _ in ()).throw(guard.Aborted("no")))[1]
    )

    with pytest.raises(guard.Aborted):
        flow.destroy(["workload"], assume_yes=False, include_state=False)

    prompt = prompts[0]
    assert prompt.splitlines()[:3] == [
        "DESTROY in environment 'dev' (us-west-2):",
        "  workload: 1 resources",
        "  Studio cleanup first deletes from domain d-abc123 what users made there:",
    ]
    assert "app JupyterLab/default in space alice-lab" in prompt
    assert "JupyterServer" not in prompt  # already deleted
    assert "space alice-lab (owner alice; with its storage volume and every file on it)" in prompt
    assert "space team (owner shared;" in prompt
    assert "deletes the user profiles data-scientist" in prompt
    assert "home directories on the domain's EFS: DELETED with the domain (workload.retain_home_efs = false)" in prompt


def test_user_profiles_terraform_did_not_create_are_named_and_the_destroy_refused(tmp_path, monkeypatch):
    tf = FakeTerraform(
        {},
        outputs_by_stack={"workload": {"domain_id": "d-abc123"}},
        state={"workload": ["aws_sagemaker_domain.studio"]},
    )
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    client = _sagemaker_with(["data-scientist", "bob-console"])
    monkeypatch.setattr(wf, "aws_client", lambda config, service: client)

    with pytest.raises(wf.Refused, match="user profiles Terraform did not create.*: bob-console") as refused:
        flow.destroy(["workload"], assume_yes=True, include_state=False)
    assert "--user-profile-name bob-console" in str(refused.value)
    assert tf.applied() == []


def test_an_interrupted_plan_is_not_reported_as_a_failure(tmp_path, monkeypatch):
    tf = FakeTerraform({}, changes={"state": STATE_CHANGES})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False))

    def interrupted_plan(stack: str, plan_file: Path, *, destroy: bool = False) -> bool:
        flow.interrupts.received.append("SIGINT")
        raise wf.WorkflowError("terraform plan in stack state failed (exit 1)")

    monkeypatch.setattr(tf, "plan", interrupted_plan)
    assert _run_cli(monkeypatch, flow, ["plan"]) == wf.EXIT_REFUSED  # nothing changed


# --------------------------------------------------------------------------- --emulator-scope


def _workload_stack(tmp_path: Path) -> None:
    """A workload with a bucket moto can create and a domain it cannot, as cdk.tf.json."""
    workload = tmp_path / "cdktf.out" / "stacks" / "workload"
    workload.mkdir(parents=True, exist_ok=True)
    (workload / "cdk.tf.json").write_text(
        json.dumps(
            {
                "resource": {
                    "aws_s3_bucket": {"lab": {"bucket": "b"}},
                    "aws_sagemaker_domain": {"studio": {"domain_name": "d"}},
                }
            }
        )
    )


def test_emulator_scope_applies_the_workloads_emulated_resources_as_targets(tmp_path):
    tf = FakeTerraform(
        {},
        changes={"workload": [("aws_s3_bucket", ["create"]), ("aws_sagemaker_domain", ["create"])]},
        outputs_by_stack={"network": {"vpc_id": "vpc-1"}},
    )
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)
    _workload_stack(tmp_path)
    flow.emulator_scope = True

    result = flow.deploy(["workload"], assume_yes=True)

    assert ("targets", "aws_s3_bucket.lab") in tf.calls
    assert result.applied == ["workload"] and result.skipped == []
    planned = {rc["type"] for rc in json.loads(result.planned[0].json_file.read_text())["resource_changes"]}
    assert planned == {"aws_s3_bucket"}
    assert any("--emulator-scope: planning 1 resources the emulator can create" in line for line in lines)


def test_emulator_scope_destroys_only_the_targets(tmp_path, monkeypatch):
    tf = FakeTerraform({}, state={"workload": ["aws_s3_bucket.lab"]})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)
    _workload_stack(tmp_path)
    flow.emulator_scope = True
    monkeypatch.setattr(wf.Workflow, "cleanup_studio", lambda self: None)

    result = flow.destroy(["workload"], assume_yes=True, include_state=False)

    assert ("plan-destroy", "workload") in tf.calls and ("targets", "aws_s3_bucket.lab") in tf.calls
    assert result.applied == ["workload"]
    assert flow.kept_keys == []  # nothing is kept: the targets are the emulator's, not a retained EFS's


def test_emulator_scope_with_nothing_emulated_fails_instead_of_planning_everything(tmp_path):
    tf = FakeTerraform({}, changes={"workload": WORKLOAD_CHANGES}, outputs_by_stack={"network": {"vpc_id": "vpc-1"}})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)
    workload = tmp_path / "cdktf.out" / "stacks" / "workload"
    workload.mkdir(parents=True)
    (workload / "cdk.tf.json").write_text(json.dumps({"resource": {"aws_sagemaker_domain": {"studio": {}}}}))
    flow.emulator_scope = True

    with pytest.raises(wf.WorkflowError, match="nothing in it is in the emulator's scope"):
        flow.plan(["workload"])
    assert ("plan", "workload") not in tf.calls


def test_emulator_scope_is_refused_outside_the_emulator(monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_CONFIG", str(CONFIG_DIR / "dev.toml"))
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setattr(wf, "prepare", lambda *a, **k: pytest.fail("ran with --emulator-scope against AWS"))

    code = wf.main(["plan", "--emulator-scope", "--no-synth"])

    assert code == wf.EXIT_REFUSED
    assert "--emulator-scope is for the emulator only" in capsys.readouterr().err


# --------------------------------------------------------------------------- destroy: what each step says, and where it stops


def test_destroy_refusals_say_exactly_what_to_do():
    config = dev_config()  # state.protect = true
    assert wf.destroy_refusal(config, ["state"], include_state=False) == (
        "the state stack holds every other stack's state: destroy it only with --include-state"
    )
    assert wf.destroy_refusal(config, ["workload", "network"], include_state=True) == (
        f"{config.source}: state.protect is true, so the state bucket, lock table and KMS key have prevent_destroy "
        "and Terraform refuses to destroy them; set `protect = false` under [state], apply that with "
        "`deploy --stacks state`, then destroy with --include-state"
    )
    assert wf.destroy_refusal(config, ["workload", "network"], include_state=False) is None


def test_the_deployed_state_protection_does_not_block_destroying_the_other_stacks(tmp_path):
    tf = FakeTerraform({}, state={"network": ["aws_vpc.vpc"]})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)
    protected = {
        "resources": [
            {
                "mode": "managed",
                "type": "aws_dynamodb_table",
                "name": "lock_table",
                "instances": [{"attributes": {"name": "t", "deletion_protection_enabled": True}}],
            }
        ]
    }
    flow.bootstrap_state_file().write_text(json.dumps(protected))

    assert flow.destroy(["network"], assume_yes=True, include_state=False).applied == ["network"]


def test_the_state_stack_is_destroyed_last_right_after_its_bucket_is_emptied(tmp_path, monkeypatch):
    tf = FakeTerraform({}, state={"state": ["aws_s3_bucket.bucket"], "network": ["aws_vpc.vpc"]})
    flow, _ = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=True), local_state=True)
    events: list[str] = []
    flow.empty_state_bucket = lambda: events.append("empty the state bucket")  # type: ignore[method-assign]
    original_apply = tf.apply
    monkeypatch.setattr(
        tf, "apply", lambda stack, plan: (events.append(f"destroy {stack}"), original_apply(stack, plan))
    )

    flow.destroy(["network"], assume_yes=True, include_state=True)

    assert events == ["destroy network", "empty the state bucket", "destroy state"]


def test_a_missing_state_bucket_leaves_nothing_to_destroy_but_the_state_stack_needs_its_local_state(tmp_path):
    tf = FakeTerraform({}, state={"state": ["aws_dynamodb_table.lock"], "network": ["aws_vpc.vpc"]})
    flow, lines = make_workflow(tmp_path, emulator_config(), tf, World(bucket_exists=False))

    result = flow.destroy(["network"], assume_yes=True, include_state=True)

    assert [(s.stack, s.reason) for s in result.skipped] == [
        ("network", "nothing to destroy: the state bucket studio-emu-tfstate does not exist"),
        ("state", f"nothing to destroy: no bootstrap state at {flow.bootstrap_state_file()}"),
    ]
    assert tf.calls == [] and result.planned == []
    assert lines[-1] == "Nothing to destroy."


def test_an_interrupt_during_a_destroy_stops_before_the_next_stacks_cleanup(tmp_path, monkeypatch, capsys):
    tf = FakeTerraform(
        {},
        outputs_by_stack={"network": {"vpc_id": "vpc-123"}},
        state={"workload": ["aws_s3_bucket.b"], "network": ["aws_vpc.vpc"]},
    )
    flow, lines = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    monkeypatch.setattr(wf.Workflow, "cleanup_studio", lambda self: None)
    monkeypatch.setattr(
        "isolated_studio.ops.vpc_cleanup.cleanup_vpc", lambda *a, **k: pytest.fail("cleaned up the VPC")
    )
    original_apply = tf.apply

    def apply(stack: str, plan_file: Path) -> None:
        original_apply(stack, plan_file)
        flow.interrupts.received.append("SIGINT")  # arrives while the workload is destroyed

    monkeypatch.setattr(tf, "apply", apply)

    assert _run_cli(monkeypatch, flow, ["destroy", "--yes", "--stacks", "workload", "network"]) == wf.EXIT_STOPPED
    assert capsys.readouterr().err.splitlines()[-1] == (
        "interrupted: SIGINT received: network: the cleanup before its destroy not started"
    )
    assert tf.applied() == ["workload"] and "Destroyed: workload" in lines
    assert lines[lines.index("Next:") + 1] == (
        '  1. `make destroy STACKS="network"`: it plans again what is left '
        "and destroys it, after the Studio and VPC cleanups"
    )


def test_the_destroy_prompt_names_the_environment_and_each_stacks_count(tmp_path, monkeypatch):
    tf = FakeTerraform({}, state={"workload": ["aws_s3_bucket.b", "aws_iam_role.r"], "network": ["aws_vpc.vpc"]})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    monkeypatch.setattr(wf.Workflow, "cleanup_studio", lambda self: None)
    monkeypatch.setattr(wf.Workflow, "cleanup_vpc_leftovers", lambda self: None)
    prompts: list[str] = []
    monkeypatch.setattr(guard, "confirm", lambda text, **kw: prompts.append(text))

    flow.destroy(["workload", "network"], assume_yes=False, include_state=False)

    assert prompts == ["DESTROY in environment 'dev' (us-west-2):\n  workload: 2 resources\n  network: 1 resources"]


def test_a_network_destroy_does_not_take_stock_of_studio(tmp_path, monkeypatch):
    """The workload's state is empty (skipped) but its outputs still name a domain: no SageMaker call."""
    tf = FakeTerraform({}, outputs_by_stack={"workload": {"domain_id": "d-abc123"}}, state={"network": ["aws_vpc.vpc"]})
    flow, _ = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    monkeypatch.setattr("isolated_studio.ops.cleanup.inventory", lambda *a: pytest.fail("asked SageMaker"))
    monkeypatch.setattr(wf.Workflow, "cleanup_vpc_leftovers", lambda self: None)

    assert flow.destroy(["workload", "network"], assume_yes=True, include_state=False).applied == ["network"]


def test_a_workload_without_a_domain_needs_no_studio_cleanup(tmp_path, monkeypatch):
    tf = FakeTerraform({}, state={"workload": ["aws_s3_bucket.b"]})
    flow, lines = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    monkeypatch.setattr("isolated_studio.ops.cleanup.cleanup_domain", lambda *a, **k: pytest.fail("cleaned up"))

    assert flow.destroy(["workload"], assume_yes=True, include_state=False).applied == ["workload"]
    assert "workload: no domain_id output; no Studio cleanup needed" in lines


def test_the_studio_cleanup_shows_its_progress_and_stops_at_an_interrupt(tmp_path, monkeypatch):
    tf = FakeTerraform(
        {},
        outputs_by_stack={"workload": {"domain_id": "d-abc123"}},
        state={"workload": ["aws_sagemaker_domain.studio"]},
    )
    flow, lines = make_workflow(tmp_path, dev_config(), tf, World(bucket_exists=True), local_state=True)
    clients: list[tuple[Any, str]] = []
    monkeypatch.setattr(wf, "aws_client", lambda config, service: (clients.append((config, service)), service)[1])
    monkeypatch.setattr("isolated_studio.ops.cleanup.inventory", lambda client, domain_id: None)

    def cleanup_domain(client: Any, domain_id: str, *, progress: Any, **kwargs: Any) -> None:
        progress("deleting app JupyterLab/default in space alice-lab")
        flow.interrupts.received.append("SIGTERM")
        progress("deleting space alice-lab")  # the cleanup's next step: not started

    monkeypatch.setattr("isolated_studio.ops.cleanup.cleanup_domain", cleanup_domain)

    with pytest.raises(wf.Interrupted, match="^SIGTERM received: the rest of the Studio cleanup not started$"):
        flow.destroy(["workload"], assume_yes=True, include_state=False)

    assert "  [cleanup] deleting app JupyterLab/default in space alice-lab" in lines
    assert clients == [(flow.config, "sagemaker")] * 2  # this environment's SageMaker: the prompt's, the cleanup's
    assert tf.applied() == []


def test_with_a_retained_home_efs_only_the_workload_destroy_is_targeted(tmp_path, monkeypatch):
    config = dev_config()
    config = config.model_copy(update={"workload": config.workload.model_copy(update={"retain_home_efs": True})})
    tf = FakeTerraform(
        {}, state={"workload": ["aws_sagemaker_domain.studio", "aws_kms_key.k"], "network": ["aws_vpc.vpc"]}
    )
    flow, _ = make_workflow(tmp_path, config, tf, World(bucket_exists=True), local_state=True)
    monkeypatch.setattr(wf.Workflow, "cleanup_studio", lambda self: None)
    monkeypatch.setattr(wf.Workflow, "cleanup_vpc_leftovers", lambda self: None)

    flow.destroy(["workload", "network"], assume_yes=True, include_state=False)

    assert [c for c in tf.calls if c[0] == "targets"] == [("targets", "aws_sagemaker_domain.studio")]
