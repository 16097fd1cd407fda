"""A real moto server and one emulated environment for the end-to-end tests.

Everything runs in subprocesses the way a user runs it (`python -m isolated_studio.ops.workflow`,
`terraform`), against `moto_server` from the project's virtualenv on a free port. Every
process is bounded by a timeout, and the server is always stopped by its fixture.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import port_from_log

from isolated_studio.base.terraform import terraform_env
from isolated_studio.config import CONFIG_DIR, EMULATOR_CREDENTIAL, PROJECT_ROOT, StudioConfig, load_config
from isolated_studio.ops.workflow import aws_client, synthesize

REGION = "us-west-2"
MOTO_ACCOUNT = "123456789012"  # moto answers every request as this account
EMULATOR_CONFIG = CONFIG_DIR / "emulator.toml"
# One workflow command. Bootstrapping state and applying the network take ~2.5 min on 2 cores,
# most of it the AWS provider waiting for the bucket lifecycle configuration to settle.
# Generous: on a shared 2-core machine under load one plan has taken over 3 minutes.
WORKFLOW_TIMEOUT_S = 900
TERRAFORM_TIMEOUT_S = 420

# What moto 5.2.5 cannot round-trip, so that a second plan of the network is not quite empty:
# it drops the description of security group rules whose target is another security group or
# a prefix list (it keeps descriptions only on CIDR rules). Against AWS the plan is empty.
MOTO_NETWORK_DRIFT = {
    ("aws_vpc_security_group_ingress_rule", "description"),
    ("aws_vpc_security_group_egress_rule", "description"),
}


@dataclass
class MotoServer:
    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path

    # `with start_moto(log) as server:` stops it however the block ends (a fixture's yield too).
    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_moto(log: Path, timeout_s: float = 30) -> MotoServer:
    """Start moto_server and wait until it answers; stop it if it never does.

    It binds port 0 and we read the port it got from its log: a port chosen here and
    released before the server binds it could be taken by another test's server meanwhile.
    """
    # The emulator `make emulator` runs: moto answering repeated requests as AWS does. MOTO_SERVER:
    # another environment's moto_server, whose interpreter runs it (the Studio-pinned environment
    # has no moto; test_lab_in_studio_env.py).
    moto_server = os.environ.get("MOTO_SERVER")
    python = Path(moto_server).with_name("python") if moto_server else Path(sys.executable)
    command = [str(python), "-m", "isolated_studio.ops.emulator_server", "-H", "127.0.0.1", "-p", "0"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    try:
        port = port_from_log(log, r"Running on http://127\.0\.0\.1:(\d+)", process, timeout_s)
    except RuntimeError:
        MotoServer("", process, log).stop()
        raise
    server = MotoServer(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=2):
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"moto_server did not answer on port {port} within {timeout_s} s:\n{log.read_text()}")


def emulator_env(endpoint: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of `STUDIO_ENV=emulator` runs: nothing from the user's AWS setup leaks in."""
    base = os.environ if base is None else base
    env = {k: v for k, v in base.items() if not k.startswith(("AWS_", "STUDIO_", "CDKTF_", "TF_"))}
    env.update(
        STUDIO_CONFIG=str(EMULATOR_CONFIG),
        STUDIO_EMULATOR_ENDPOINT=endpoint,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID=EMULATOR_CREDENTIAL,
        AWS_SECRET_ACCESS_KEY=EMULATOR_CREDENTIAL,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        # Go's collector at 4x its default target: the AWS provider starts ~30 % faster
        # (it starts several times per Terraform command) for ~150 MB more per process.
        GOGC="400",
    )
    mirror = base.get("STUDIO_PROVIDER_MIRROR")
    if mirror:
        env["STUDIO_PROVIDER_MIRROR"] = mirror
    return env


@dataclass
class Emulator:
    """One emulated environment: its synthesized stacks (under root/), config and clients."""

    root: Path
    outdir: Path
    endpoint: str
    config: StudioConfig
    env: dict[str, str]

    def client(self, service: str) -> Any:
        return aws_client(self.config, service)

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def plan_dir(self, name: str) -> Path:
        return self.root / "plans" / name

    def workflow(
        self,
        *args: str,
        plans: str | None = None,
        env: Mapping[str, str] | None = None,
        outdir: Path | None = None,
        timeout_s: float = WORKFLOW_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """`python -m isolated_studio.ops.workflow ARGS --no-synth --outdir <ours>` as a user runs it."""
        command = [
            sys.executable,
            "-m",
            "isolated_studio.ops.workflow",
            *args,
            "--no-synth",
            "--outdir",
            str(outdir or self.outdir),
            "--timeout",
            str(TERRAFORM_TIMEOUT_S),
        ]
        if plans:
            command += ["--plan-dir", str(self.plan_dir(plans))]
        return subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=dict(env or self.env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def terraform_env(self) -> dict[str, str]:
        return terraform_env(self.config.provider_mirror, base=self.env)

    def terraform(
        self, stack: str, *args: str, timeout_s: float = TERRAFORM_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["terraform", *args],
            cwd=self.stack_dir(stack),
            env=self.terraform_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def outputs(self, stack: str) -> dict[str, Any]:
        proc = self.terraform(stack, "output", "-json", "-no-color")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return {name: item["value"] for name, item in json.loads(proc.stdout).items()}

    def plan_json(self, plans: str, stack: str) -> dict[str, Any]:
        return json.loads((self.plan_dir(plans) / f"{stack}.plan.json").read_text())


def synthesized_emulator(endpoint: str, root: Path) -> Emulator:
    """An emulated environment under ``root``: the app synthesized once, as `workflow plan` does
    (python main.py), into <root>/cdktf.out.

    The state stack's local backend path is relative to its directory (../../../<path>), so
    with cdktf.out directly under the root the bootstrap state lands in <root>/terraform-state.
    """
    env = emulator_env(endpoint)
    synthesize(root / "cdktf.out", env, timeout_s=600)
    return Emulator(root, root / "cdktf.out", endpoint, load_config(EMULATOR_CONFIG, env=env), env)


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    """A failed step's command and output, for assertion messages."""
    return f"$ {' '.join(map(str, proc.args))}\nexit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def changes(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The resource changes of a plan JSON that do something (no no-op, no read)."""
    return [rc for rc in plan.get("resource_changes", []) if rc["change"]["actions"] not in (["no-op"], ["read"])]


def changed_attributes(change: Mapping[str, Any]) -> set[str]:
    before, after = change["change"].get("before") or {}, change["change"].get("after") or {}
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
