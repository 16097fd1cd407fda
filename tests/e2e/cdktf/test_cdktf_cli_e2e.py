"""docs/operations.md's cdktf commands ("Deploy with the cdktf CLI"), run with the pinned CLI (node_modules) against a moto server.

Nothing is exported for the CLI: no TF_CLI_CONFIG_FILE, no --skip-provider-lock. On a
machine with a provider mirror, `python main.py` (the app cdktf runs) links the mirror into
every stack directory and writes the lock file from it, so cdktf neither asks the registry
to lock providers nor downloads one; without a mirror the same commands use the registry.

    bootstrap -> cdktf deploy state --auto-approve
    deploy    -> cdktf deploy state network --auto-approve
    diff      -> cdktf diff network            (only the documented emulator quirk)
    outputs   -> cdktf output network --outputs-file ...
    destroyed -> cdktf destroy network --auto-approve --ignore-missing-stack-dependencies

cdktf runs `terraform init` in every selected stack before it deploys the first, so on a
fresh environment the network's S3 backend (the bucket the state stack creates) cannot be
initialized yet: the state stack is bootstrapped on its own first, as docs/operations.md says.

This module starts its own moto server, so it runs beside the other emulator modules.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emulator_support import (
    EMULATOR_CONFIG,
    MOTO_NETWORK_DRIFT,
    REGION,
    MotoServer,
    describe,
    emulator_env,
    start_moto,
)
from support import IN_CI, require_terraform

from isolated_studio.base.terraform import LOCK_FILE, PROVIDER_VERSION
from isolated_studio.config import PROJECT_ROOT, load_config
from isolated_studio.ops.workflow import aws_client

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

CDKTF = PROJECT_ROOT / "node_modules" / ".bin" / "cdktf"
CLI_TIMEOUT_S = 600
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Cli:
    root: Path
    outdir: Path
    env: dict[str, str]
    config: Any

    def run(self, *args: str, timeout_s: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        # The app of cdktf.json is `pipenv run python main.py`; the test already runs inside
        # that environment, so it names the same interpreter.
        # `npx cdktf`, as docs/operations.md writes it: npm applies the project's .npmrc (the preload that
        # keeps cdktf from calling home).
        command = [
            "npx",
            "--no-install",
            "cdktf",
            *args,
            "--app",
            f"{sys.executable} main.py",
            "--output",
            str(self.outdir),
        ]
        return subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def client(self, service: str) -> Any:
        return aws_client(self.config, service)


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    require_terraform()
    if not CDKTF.exists():
        if IN_CI:
            pytest.fail("node_modules/.bin/cdktf is missing: `make cli` installs the pinned cdktf CLI")
        pytest.skip("the cdktf CLI is not installed (make cli)")
    with start_moto(tmp_path_factory.mktemp("moto-cli") / "moto.log") as server:
        yield server


@pytest.fixture(scope="module")
def cli(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    root = tmp_path_factory.mktemp("cdktf-cli")
    env = emulator_env(moto.endpoint)
    # emulator_env already drops every TF_* variable: the CLI gets no configuration from us.
    assert not any(key.startswith("TF_") for key in env)
    env.pop("CHECKPOINT_DISABLE", None)  # the project turns cdktf's telemetry off by itself
    env.update(CI="true")
    return Cli(root, root / "cdktf.out", env, load_config(EMULATOR_CONFIG, env=env))


@pytest.fixture(scope="module")
def bootstrap(cli: Cli) -> subprocess.CompletedProcess[str]:
    proc = cli.run("deploy", "state", "--auto-approve")
    if proc.returncode != 0:
        pytest.fail(f"cdktf deploy state failed:\n{describe(proc)}")
    return proc


@pytest.fixture(scope="module")
def deploy(cli: Cli, bootstrap) -> subprocess.CompletedProcess[str]:
    proc = cli.run("deploy", "state", "network", "--auto-approve")
    if proc.returncode != 0:
        pytest.fail(f"cdktf deploy failed:\n{describe(proc)}")
    return proc


@pytest.fixture(scope="module")
def diff(cli: Cli, deploy) -> subprocess.CompletedProcess[str]:
    return cli.run("diff", "network")


@pytest.fixture(scope="module")
def outputs(cli: Cli, deploy) -> dict[str, Any]:
    target = cli.root / "outputs.json"
    proc = cli.run("output", "network", "--outputs-file", str(target), "--skip-synth")
    assert proc.returncode == 0, describe(proc)
    return json.loads(target.read_text())


@pytest.fixture(scope="module")
def deployed(cli: Cli, deploy, outputs) -> dict[str, Any]:
    """What the emulator holds after the deploy, read before any test may destroy it (random order)."""
    net = _network_outputs(outputs)
    ec2 = cli.client("ec2")
    return {
        "vpcs": ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [net["vpc_id"]]}])["Vpcs"],
        "subnets": ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [net["vpc_id"]]}])["Subnets"],
        "state_object": cli.client("s3").head_object(
            Bucket=cli.config.state.bucket, Key=cli.config.state_key("network")
        ),
    }


def _held_locks(cli: Cli) -> dict[str, dict[str, Any]]:
    """The state locks in the lock table: state path -> Terraform's lock info (the digests have none)."""
    items = cli.client("dynamodb").scan(TableName=cli.config.state.lock_table)["Items"]
    return {item["LockID"]["S"]: json.loads(item["Info"]["S"]) for item in items if "Info" in item}


@pytest.fixture(scope="module")
def whole_workload(cli: Cli, deploy, diff) -> dict[str, Any]:
    """docs/emulator.md's `cdktf deploy network workload` against the emulator, and the lock table right after it.

    After the diff: the network's apply here updates the rule descriptions moto dropped on
    create, and the diff's test is of the quirk a fresh deploy shows.

    cdktf applies the network first (the workload depends on it), then plans the workload, which
    the guard refuses. Once in CI (2 cores, four workers) the network's apply exited 1 with its
    own lock still held and the workload never started ("1 Stack done 1 Stack waiting"): a
    failure of the run before the refusal, which cdktf's output did not show (it drops
    Terraform's last lines). A lock planted before the command gives exactly that line, and the
    plan before it (cdktf diff) had locked and unlocked the network: consistent with Terraform's
    S3 backend, whose Lock writes the item with a conditional PutItem and returns on any error
    without deleting it, so a PutItem the SDK retries after moto applied it fails on Terraform's
    own lock. What the refusal must not do is leave a lock, so a run whose
    network apply failed that way is recorded, its lock released as docs/operations.md says
    (terraform force-unlock with the lock's ID), and the command run once more: the refusal's
    assertions hold for that run, and a second such failure fails the test.
    """
    network_lock = f"{cli.config.state.bucket}/{cli.config.state_key('network')}"
    attempts: list[dict[str, Any]] = []
    for _ in range(2):
        proc = cli.run("deploy", "network", "workload", "--auto-approve", "--skip-synth", timeout_s=400)
        locks = _held_locks(cli)
        attempts.append({"proc": proc, "locks": locks})
        out = ANSI.sub("", proc.stdout + proc.stderr)
        network_failed_first = set(locks) == {network_lock} and "Resource precondition failed" not in out
        if not network_failed_first:
            break
        (cli.root / f"whole-workload-attempt-{len(attempts)}.log").write_text(
            f"{describe(proc)}\n--- locks\n{json.dumps(locks, indent=2)}\n"
        )
        unlock = subprocess.run(
            ["terraform", "force-unlock", "-force", locks[network_lock]["ID"]],
            cwd=cli.outdir / "stacks" / "network",
            env=cli.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert unlock.returncode == 0, describe(unlock)
    last = attempts[-1]
    return {"proc": last["proc"], "locks": sorted(last["locks"]), "attempts": attempts}


@pytest.fixture(scope="module")
def destroyed(cli: Cli, outputs, deployed, diff, whole_workload) -> subprocess.CompletedProcess[str]:
    # Destroy only after what the other tests read was taken: they may run in any order.
    return cli.run("destroy", "network", "--auto-approve", "--ignore-missing-stack-dependencies", "--skip-synth")


def _network_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    # cdktf writes {"<stack>": {"<output>": value}}; output names are the construct ids.
    return outputs["network"]


def test_deploy_of_state_and_network_needs_no_registry_and_no_exported_configuration(cli, bootstrap, deploy):
    for proc in (bootstrap, deploy):
        out = proc.stdout + proc.stderr
        assert "Could not retrieve providers for locking" not in out
        assert "providers lock" not in out
    for stack in ("state", "network"):
        stack_dir = cli.outdir / "stacks" / stack
        lock = (stack_dir / LOCK_FILE).read_text()
        assert f'version     = "{PROVIDER_VERSION}"' in lock
        if cli.config.provider_mirror:
            # The provider came from the mirror: Terraform linked it from the implied mirror.
            installed = stack_dir / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws"
            targets = [os.path.realpath(p) for p in installed.glob("*/*")]
            assert targets and all(t.startswith(os.path.realpath(cli.config.provider_mirror)) for t in targets)


def test_deployed_network_and_state_backend_exist(cli, deployed, outputs):
    net = _network_outputs(outputs)
    [vpc] = deployed["vpcs"]
    assert vpc["CidrBlock"] == cli.config.network.vpc_cidr
    assert sorted(s["SubnetId"] for s in deployed["subnets"]) == sorted(net["private_subnet_ids"])
    # The network's state is in the bucket the state stack created (S3 backend with locking).
    assert deployed["state_object"]["ContentLength"] > 0
    # The bootstrap state stayed beside this cdktf.out, not in the repository.
    assert (cli.root / cli.config.bootstrap_state_file).is_file()


def test_diff_of_the_network_shows_only_the_documented_emulator_quirk(cli, diff):
    assert diff.returncode == 0, describe(diff)
    out = ANSI.sub("", diff.stdout)
    assert re.search(r"Plan: 0 to add, \d+ to change, 0 to destroy", out), out[-3000:]
    assert "must be replaced" not in out and "will be destroyed" not in out
    updated = set(re.findall(r"# (aws_[a-z0-9_]+)\.\S+ \([^)]*\) will be updated in-place", out))
    assert updated, out[-3000:]
    assert updated <= {rtype for rtype, _ in MOTO_NETWORK_DRIFT}, updated
    changed_attrs = set(re.findall(r"^\s*[~+-] (\w+)\s+=", out, flags=re.M)) - {"resource"}
    assert changed_attrs <= {attribute for _, attribute in MOTO_NETWORK_DRIFT}, changed_attrs


def test_outputs_file_has_the_network_outputs(cli, outputs):
    net = _network_outputs(outputs)
    assert {"vpc_id", "private_subnet_ids", "studio_security_group_id", "vpc_cidr"} <= set(net)
    assert net["vpc_cidr"] == cli.config.network.vpc_cidr
    # moto's zones for the region: the subnets went into zones the account (moto) has available.
    assert len(net["availability_zones"]) == cli.config.network.az_count
    assert all(z.startswith(cli.config.region) for z in net["availability_zones"])


def test_a_deploy_of_the_whole_workload_is_refused_at_once_with_the_way_out(cli, whole_workload):
    """moto cannot create Studio, MLflow or CodeArtifact: the stack's guard refuses the plan (it
    waited 9+ minutes on CodeArtifact before), and no state lock is left behind."""
    proc = whole_workload["proc"]
    out = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode != 0, out[-3000:]
    assert "Creating..." not in out  # refused before anything was applied
    assert whole_workload["locks"] == [], describe(proc)
    if "Resource precondition failed" not in out:
        # cdktf 0.21 sometimes drops the last lines Terraform printed before it exited (seen on
        # fresh clones: the plan, then only "Invoking Terraform CLI failed with exit code 1").
        # Which refusal it was is then asked of Terraform itself, in the directory cdktf ran.
        stack = cli.outdir / "stacks" / "workload"
        plan = subprocess.run(
            ["terraform", "plan", "-input=false", "-lock=false", "-no-color"],
            cwd=stack,
            env=cli.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert plan.returncode != 0, plan.stdout[-2000:]
        out = plan.stdout + plan.stderr
    assert "Resource precondition failed" in out, out[-3000:]
    flat = " ".join(out.replace("│", " ").split())
    assert (
        "The emulator (moto) cannot create SageMaker domains, user profiles, lifecycle configurations, "
        "MLflow tracking servers or CodeArtifact"
    ) in flat, out[-3000:]
    assert 'STUDIO_ENV=emulator make deploy ARGS="--yes --emulator-scope"' in flat, out[-3000:]


def test_no_command_prints_an_error_for_the_telemetry_a_machine_without_internet_cannot_send(
    bootstrap, deploy, diff, whole_workload
):
    """cdktf sends telemetry to checkpoint-api.hashicorp.com unless CHECKPOINT_DISABLE is set; the
    project's .npmrc preloads isolated_studio/node/cdktf-env, which sets it, so nobody has to."""
    for proc in (bootstrap, deploy, diff, whole_workload["proc"]):
        out = ANSI.sub("", proc.stdout + proc.stderr)
        assert "checkpoint-api.hashicorp.com" not in out and "telemetry" not in out.lower(), out[-2000:]


def test_destroy_of_the_network_leaves_the_state_backend_and_nothing_in_the_vpc(cli, outputs, destroyed):
    assert destroyed.returncode == 0, describe(destroyed)
    net = _network_outputs(outputs)
    ec2 = cli.client("ec2")
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [net["vpc_id"]]}])["Vpcs"] == []
    assert ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [net["vpc_id"]]}])["Subnets"] == []

    s3, bucket = cli.client("s3"), cli.config.state.bucket
    state = json.loads(s3.get_object(Bucket=bucket, Key=cli.config.state_key("network"))["Body"].read())
    assert [r for r in state.get("resources", []) if r["mode"] == "managed"] == []
    # The state stack was not part of the destroy: its bucket and lock table are still there.
    s3.head_bucket(Bucket=bucket)
    assert cli.config.state.lock_table in cli.client("dynamodb").list_tables()["TableNames"]
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:  # pragma: no cover - the assertion above already failed
        pytest.fail(f"state bucket gone: {error}")
    assert REGION == cli.config.region
