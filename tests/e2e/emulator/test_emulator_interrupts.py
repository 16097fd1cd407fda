"""Signals, regions, the emulator switch and state protection, end to end: moto, real
Terraform, the workflow CLI as a user runs it. Own moto server (this group can run beside the
others); the file runs in order on one emulated environment.

Signals: bootstrap the state stack, start `deploy --stacks network`, SIGTERM the workflow
while Terraform is creating resources, then check what an operator needs: the lock is free, every VPC and KMS key the emulator holds is
in a state, and the run said what happened, with exit code 3.

Terraform's graceful stop cancels the provider's in-flight API calls: a create whose request
is on the wire at that instant can exist without Terraform having seen its id. The signal is
therefore sent once the VPC is created, as an operator's Ctrl-C lands while Terraform waits
on resources (a domain or MLflow create waits 25-45 min), not mid-request.
"""

from __future__ import annotations

import json
import os
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_support import (
    EMULATOR_CONFIG,
    TERRAFORM_TIMEOUT_S,
    WORKFLOW_TIMEOUT_S,
    Emulator,
    MotoServer,
    describe,
    start_moto,
    synthesized_emulator,
)
from support import require_terraform

from isolated_studio.config import PROJECT_ROOT
from isolated_studio.ops.workflow import EXIT_STOPPED, synthesize

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    require_terraform()
    with start_moto(tmp_path_factory.mktemp("moto-interrupts") / "moto.log") as server:
        yield server


@pytest.fixture(scope="module")
def emu(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Emulator:
    emu = synthesized_emulator(moto.endpoint, tmp_path_factory.mktemp("interrupts"))
    proc = emu.workflow("deploy", "--yes", "--stacks", "state", plans="bootstrap")
    assert proc.returncode == 0, describe(proc)
    return emu


def _start_workflow(emu: Emulator, *args: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "isolated_studio.ops.workflow",
        *args,
        "--no-synth",
        "--outdir",
        str(emu.outdir),
        "--timeout",
        str(TERRAFORM_TIMEOUT_S),
    ]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=emu.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], marker: str, timeout_s: float, line_with: str = "", seen: str = "") -> str:
    """Output (after ``seen``) up to a line that has ``marker`` and ``line_with``."""
    assert proc.stdout is not None
    start, deadline = len(seen), time.monotonic() + timeout_s
    while not any(marker in line and line_with in line for line in seen.splitlines()):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            raise AssertionError(f"no {marker!r} within {timeout_s} s:\n{seen}")
        ready, _, _ = select.select([proc.stdout], [], [], min(remaining, 1))
        if ready:
            seen += os.read(proc.stdout.fileno(), 65536).decode()
    return seen[start:]


def _managed(state: dict[str, Any], rtype: str) -> set[str]:
    return {
        instance["attributes"]["id"]
        for r in state.get("resources", [])
        if r["mode"] == "managed" and r["type"] == rtype
        for instance in r["instances"]
    }


def _states(emu: Emulator) -> list[dict[str, Any]]:
    bootstrap = json.loads((emu.root / emu.config.bootstrap_state_file).read_text())
    body = (
        emu.client("s3").get_object(Bucket=emu.config.state.bucket, Key=emu.config.state_key("network"))["Body"].read()
    )
    return [bootstrap, json.loads(body)]


def _vpcs_and_keys(emu: Emulator) -> tuple[set[str], set[str]]:
    vpcs = {v["VpcId"] for v in emu.client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]}
    return vpcs, {k["KeyId"] for k in emu.client("kms").list_keys()["Keys"]}


def test_sigterm_mid_apply_leaves_the_lock_free_and_everything_created_in_the_state(emu):
    vpcs_before, keys_before = _vpcs_and_keys(emu)
    proc = _start_workflow(
        emu, "deploy", "--yes", "--stacks", "network", "--plan-dir", str(emu.plan_dir("interrupted"))
    )
    try:
        # Mid-apply, once the VPC and the flow logs' key exist: subnets, route tables, endpoints
        # and the flow log are being created.
        before = _read_until(proc, "Creation complete", WORKFLOW_TIMEOUT_S, line_with="aws_vpc.")
        before += _read_until(proc, "Creation complete", WORKFLOW_TIMEOUT_S, line_with="aws_kms_key.", seen=before)
        assert "network: applying" in before
        proc.send_signal(signal.SIGTERM)  # to the workflow only, as `kill` or a CI cancel does
        after, _ = proc.communicate(timeout=WORKFLOW_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = before + after

    assert proc.returncode == EXIT_STOPPED, out
    assert "SIGTERM received: Terraform was asked to stop" in out
    # Terraform's own output after the interrupt is still shown: it stopped gracefully.
    assert "Interrupt received" in after and "[network]" in after
    assert "Changed in part (its apply did not finish): network" in out
    assert "network: state lock released" in out
    applied = (emu.plan_dir("interrupted") / "review.md").read_text().split("### Applied", 1)[1]
    assert "Changed in part (its apply did not finish): network" in applied
    # docs/operations.md: "run `make plan` after an interrupt"; the run says so, with the stack and the environment.
    assert f'Next:\n  1. `STUDIO_CONFIG={emu.env["STUDIO_CONFIG"]} make plan STACKS="network"`' in out
    assert 'make plan STACKS="network"' in applied.split("### Next", 1)[1]

    lock_id = f"{emu.config.state.bucket}/{emu.config.state_key('network')}"
    item = emu.client("dynamodb").get_item(TableName=emu.config.state.lock_table, Key={"LockID": {"S": lock_id}})
    assert "Item" not in item, item

    states = _states(emu)
    in_state_vpcs = set().union(*(_managed(s, "aws_vpc") for s in states))
    in_state_keys = set().union(*(_managed(s, "aws_kms_key") for s in states))
    # What this interrupted run created (the emulator under load can hold other strays).
    vpcs, keys = (after - before for after, before in zip(_vpcs_and_keys(emu), (vpcs_before, keys_before)))
    tracked = [sorted({r["type"] for r in state.get("resources", [])}) for state in states]
    assert vpcs <= in_state_vpcs, f"VPCs no state tracks: {vpcs - in_state_vpcs}; states: {tracked}\n{out}"
    assert keys <= in_state_keys, (
        f"KMS keys no state tracks: {keys - in_state_keys} (moto: {keys}, states: {in_state_keys})\n{out}"
    )
    assert len(vpcs) == 1 and len(keys) == 1, (vpcs, keys)  # the network's VPC and its flow logs' key


def _run(emu: Emulator, *args: str, env: dict[str, str] | None = None, outdir=None, plans: str | None = None):
    return emu.workflow(*args, env=env, outdir=outdir, plans=plans)


def test_bootstrap_state_and_saved_plans_are_owner_only(emu):
    bootstrap = emu.root / emu.config.bootstrap_state_file
    assert stat.S_IMODE(bootstrap.stat().st_mode) == 0o600
    assert stat.S_IMODE(bootstrap.parent.stat().st_mode) == 0o700
    plans = emu.plan_dir("bootstrap")
    assert stat.S_IMODE(plans.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in plans.iterdir()} == {
        "state.tfplan": 0o600,
        "state.plan.json": 0o600,
        "review.md": 0o600,
    }


# --------------------------------------------------------------------------- regions


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_a_shell_region_other_than_the_pinned_one_is_refused_with_advice_that_works(emu, variable):
    import re
    import shlex

    env = {**emu.env, variable: "us-east-1"}
    refused = _run(emu, "deploy", "--yes", "--stacks", "state", env=env, plans=f"region-{variable}")
    assert refused.returncode == 2, describe(refused)
    assert f"works in us-west-2 (from project.region), but {variable}=us-east-1" in refused.stderr
    assert not emu.plan_dir(f"region-{variable}").exists()

    advice = re.search(r"`export ([^`]+)`", refused.stderr).group(1)
    followed = {**env, **dict(item.split("=", 1) for item in shlex.split(advice))}
    proc = _run(emu, "deploy", "--yes", "--stacks", "state", env=followed, plans=f"advised-{variable}")
    assert proc.returncode == 0, describe(proc)
    assert "state: no changes" in proc.stdout


def test_one_file_deploys_to_two_regions_without_sharing_state(emu, tmp_path):
    """Unpinned, with {region} in the bucket name: each region its own bucket, state keys and
    bootstrap state; the second region's plan of the state stack only creates."""
    text = EMULATOR_CONFIG.read_text()
    text = text.replace('region = "us-west-2"\n', "")
    text = text.replace('bucket = "studio-emu-tfstate"', 'bucket = "studio-em2-tfstate-{region}"')
    # Another environment than the fixture's in us-west-2 (table and key alias are regional).
    text = text.replace('name_prefix = "studio-emu"', 'name_prefix = "studio-em2"')
    text = text.replace('lock_table = "studio-emu-tflock"', 'lock_table = "studio-em2-tflock"')
    text = text.replace(
        'bootstrap_state_path = "terraform-state/emulator/state.tfstate"',
        'bootstrap_state_path = "terraform-state/emulator/regions/state.tfstate"',
    )
    config_file = tmp_path / "regions.toml"
    config_file.write_text(text)
    outdirs = {}
    for region in ("us-west-2", "us-east-1"):
        env = {**emu.env, "STUDIO_CONFIG": str(config_file), "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
        outdirs[region] = (emu.root / f"regions-{region}.out", env)
        synthesize(outdirs[region][0], env, timeout_s=600)

    west_out, west_env = outdirs["us-west-2"]
    deployed = _run(emu, "deploy", "--yes", "--stacks", "state", env=west_env, outdir=west_out, plans="west")
    assert deployed.returncode == 0, describe(deployed)
    west_state = emu.root / "terraform-state/emulator/regions/us-west-2/state.tfstate"
    before = west_state.read_bytes()

    east_out, east_env = outdirs["us-east-1"]
    planned = _run(emu, "plan", "--stacks", "state", env=east_env, outdir=east_out, plans="east")
    assert planned.returncode == 0, describe(planned)
    actions = {
        tuple(rc["change"]["actions"])
        for rc in emu.plan_json("east", "state")["resource_changes"]
        if rc["mode"] == "managed"
    }
    assert actions == {("create",)}, "the second region planned against the first region's state"
    assert west_state.read_bytes() == before
    assert not (emu.root / "terraform-state/emulator/regions/us-east-1/state.tfstate").exists()
    network = json.loads((east_out / "stacks/network/cdk.tf.json").read_text())["terraform"]["backend"]["s3"]
    assert (network["bucket"], network["key"]) == (
        "studio-em2-tfstate-us-east-1",
        "isolated-studio/emulator/us-east-1/network.tfstate",
    )


# --------------------------------------------------------------------------- the emulator switch


def test_the_emulator_endpoint_with_a_real_environment_is_refused_before_anything_runs(emu):
    real_dev_state = PROJECT_ROOT / "terraform-state" / "dev"
    existed = real_dev_state.exists()
    env = {k: v for k, v in emu.env.items() if k != "STUDIO_CONFIG"}
    env["STUDIO_ENV"] = "dev"

    proc = _run(emu, "deploy", "--yes", env=env, plans="dev-in-emulator")

    assert proc.returncode == 2, describe(proc)
    assert "STUDIO_EMULATOR_ENDPOINT is set, but this configuration ('dev') has no [emulator] section" in proc.stderr
    assert not emu.plan_dir("dev-in-emulator").exists()
    assert real_dev_state.exists() == existed


# --------------------------------------------------------------------------- protection from what is deployed


def test_destroy_including_state_is_refused_while_the_deployed_state_stack_is_protected(emu, tmp_path):
    protected_file = tmp_path / "protected.toml"
    protected_file.write_text(EMULATOR_CONFIG.read_text().replace("protect = false", "protect = true"))
    protected_env = {**emu.env, "STUDIO_CONFIG": str(protected_file)}
    protected_out = emu.root / "protected.out"  # beside cdktf.out: the same bootstrap state
    synthesize(protected_out, protected_env, timeout_s=600)
    on = _run(emu, "deploy", "--yes", "--stacks", "state", env=protected_env, outdir=protected_out, plans="protect")
    assert on.returncode == 0, describe(on)
    table = emu.client("dynamodb").describe_table(TableName=emu.config.state.lock_table)["Table"]
    assert table["DeletionProtectionEnabled"] is True

    s3, bucket = emu.client("s3"), emu.config.state.bucket
    versions_before = s3.list_object_versions(Bucket=bucket).get("Versions", [])
    vpcs_before = [v["VpcId"] for v in emu.client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]]

    # emulator.toml says protect = false, but that is not applied yet.
    refused = _run(emu, "destroy", "--yes", "--include-state", plans="refused-destroy")
    assert refused.returncode == 2, describe(refused)
    assert "the deployed state stack is still protected" in refused.stderr
    assert "deploy --stacks state" in refused.stderr
    assert s3.list_object_versions(Bucket=bucket).get("Versions", []) == versions_before
    assert [v["VpcId"] for v in emu.client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]] == vpcs_before

    off = _run(emu, "deploy", "--yes", "--stacks", "state", plans="unprotect")
    assert off.returncode == 0, describe(off)
    table = emu.client("dynamodb").describe_table(TableName=emu.config.state.lock_table)["Table"]
    assert table["DeletionProtectionEnabled"] is False
