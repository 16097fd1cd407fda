"""Terraform commands in the synthesized stack directories, as the workflow runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isolated_studio.base.terraform import find_terraform
from isolated_studio.ops.errors import WorkflowError
from isolated_studio.ops.signals import Interrupted, Interrupts

MINIMUM_VERSION = (1, 10)  # use_lockfile (S3 native state locking) came with Terraform 1.10
DEFAULT_TIMEOUT_S = 7200.0  # one Terraform command; a Studio domain plus MLflow take ~30 min

Say = Callable[[str], None]


@dataclass
class Terraform:
    """Terraform commands in synthesized stack directories, each bounded by a timeout.

    Each Terraform runs in its own process group (a new session): signals reach it only as
    :class:`~isolated_studio.ops.signals.Interrupts` forwards them, as SIGINT, so that it
    stops cleanly and releases its state lock. A command that overruns its timeout gets the
    same SIGINT. Nothing kills Terraform: only a second interrupt makes it stop at once.
    """

    dirs: Mapping[str, Path]
    env: Mapping[str, str]
    say: Say
    timeout_s: float = DEFAULT_TIMEOUT_S
    lock_timeout: str = "0s"
    interrupts: Interrupts = field(default_factory=Interrupts)
    _initialized: set[str] = field(default_factory=set)

    def run(
        self, stack: str, args: Sequence[str], *, echo: bool = False, ok: Iterable[int] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        binary = find_terraform()
        if binary is None:
            raise WorkflowError("terraform is not on PATH (Terraform >= 1.10 is required)")
        command = [binary, *args]
        what = f"terraform {' '.join(args[:1])} in stack {stack}"
        self.interrupts.check(what)
        proc = subprocess.Popen(
            command,
            cwd=self.dirs[stack],
            env=dict(self.env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if echo else subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def expire() -> None:
            # Once an operator's signal asked Terraform to stop, its graceful stop may take as
            # long as what is in flight (a domain create: 25-45 min); a timeout interrupt now
            # would be a second interrupt, which makes Terraform drop what it was doing.
            if self.interrupts.interrupted or proc.poll() is not None:
                return
            timed_out.set()
            os.killpg(proc.pid, signal.SIGINT)

        timer = threading.Timer(self.timeout_s, expire)
        timer.daemon = True
        with self.interrupts.child(proc):
            timer.start()
            try:
                stdout, stderr = self._collect(proc, stack, echo)
            finally:
                timer.cancel()
        result = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
        if self.interrupts.interrupted and result.returncode not in tuple(ok):
            raise Interrupted(
                f"{what} was interrupted ({self.interrupts.received[0]}); "
                f"Terraform exited with {proc.returncode}:\n{tail(stdout + stderr, 12)}",
                stack=stack,
            )
        if timed_out.is_set():
            raise WorkflowError(
                f"{what} did not finish within {self.timeout_s:.0f} s and was interrupted; if its "
                f"state is still locked, `terraform force-unlock` in {self.dirs[stack]} releases it"
            )
        if result.returncode not in tuple(ok):
            output = stdout + stderr
            raise WorkflowError(
                f"{what} failed (exit {result.returncode}):\n{tail(output)}" + next_step(output, self.dirs[stack])
            )
        return result

    def _collect(self, proc: subprocess.Popen[str], stack: str, echo: bool) -> tuple[str, str]:
        if not echo:
            stdout, stderr = proc.communicate()
            return stdout, stderr
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            self.say(f"  [{stack}] {line.rstrip()}")
        proc.wait()
        return "".join(lines), ""

    def init(self, stack: str) -> None:
        """``terraform init`` with the stack's real backend (once per run).

        ``-reconfigure``: the backend always comes from the synthesized configuration of the
        selected environment, so a stack directory last used with another endpoint or
        environment switches to this one instead of offering to migrate state into it.
        """
        if stack in self._initialized:
            return
        self.run(stack, ["init", "-input=false", "-no-color", "-reconfigure"])
        self._initialized.add(stack)

    def plan(self, stack: str, plan_file: Path, *, destroy: bool = False, targets: Sequence[str] = ()) -> bool:
        """Save a plan; True when it changes something (``-detailed-exitcode`` 2)."""
        args = [
            "plan",
            "-input=false",
            "-no-color",
            "-detailed-exitcode",
            f"-lock-timeout={self.lock_timeout}",
            f"-out={plan_file}",
        ]
        if destroy:
            args.append("-destroy")
        args += [f"-target={target}" for target in targets]
        return self.run(stack, args, ok=(0, 2)).returncode == 2

    def show_json(self, stack: str, plan_file: Path) -> str:
        return self.run(stack, ["show", "-json", "-no-color", str(plan_file)]).stdout

    def show_text(self, stack: str, plan_file: Path) -> str:
        return self.run(stack, ["show", "-no-color", str(plan_file)]).stdout

    def apply(self, stack: str, plan_file: Path) -> None:
        """Apply a saved plan exactly; Terraform refuses it if the state moved on since."""
        self.run(
            stack,
            ["apply", "-input=false", "-no-color", f"-lock-timeout={self.lock_timeout}", str(plan_file)],
            echo=True,
        )

    def outputs(self, stack: str) -> dict[str, Any]:
        raw = json.loads(self.run(stack, ["output", "-json", "-no-color"]).stdout or "{}")
        return {name: item.get("value") for name, item in raw.items()}

    def resources(self, stack: str) -> list[str]:
        """Addresses of everything in the stack's state (managed and data)."""
        proc = self.run(stack, ["state", "list", "-no-color"], ok=(0, 1))
        if proc.returncode == 0:
            return proc.stdout.split()
        if "No state file was found" in proc.stdout + proc.stderr:
            return []  # never applied: the backend has no state object for this stack yet
        raise WorkflowError(f"terraform state list in stack {stack} failed:\n{tail(proc.stdout + proc.stderr)}")


def check_version(env: Mapping[str, str]) -> str:
    """Terraform's version; refused when older than the S3 backend's ``use_lockfile`` needs."""
    binary = find_terraform()
    if binary is None:
        raise TooOld("terraform is not on PATH (Terraform >= 1.10 is required)")
    proc = subprocess.run(
        [binary, "version", "-json"],
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        version = json.loads(proc.stdout)["terraform_version"]
    except (ValueError, KeyError):
        raise WorkflowError(
            f"`terraform version -json` printed no version:\n{tail(proc.stdout + proc.stderr)}"
        ) from None
    if _version_tuple(version) < MINIMUM_VERSION:
        raise TooOld(
            f"Terraform {version} is too old: this project needs Terraform >= "
            f"{'.'.join(map(str, MINIMUM_VERSION))} (the S3 backend's use_lockfile); install a "
            "newer terraform on PATH (https://developer.hashicorp.com/terraform/install)"
        )
    return version


class TooOld(WorkflowError):
    """The installed Terraform cannot run these stacks."""


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0])[:3])


_LOCK_ID = re.compile(r"Lock Info:\s+ID:\s+(\S+)")


def next_step(output: str, directory: Path) -> str:
    """What to do about the Terraform failures an operator meets, as a line after its output."""
    if "Saved plan is stale" in output:
        return (
            "\nThe saved plan is stale: the state changed after it was planned, so Terraform refuses "
            "it. Plan again (`make plan`), review, and deploy that plan."
        )
    if "Error acquiring the state lock" in output:
        match = _LOCK_ID.search(output)
        lock_id = match.group(1) if match else "<ID above>"
        return (
            "\nAnother run holds the state lock (see Lock Info above). Wait for it to finish, or retry "
            "with --lock-timeout=10m; if that run died, release the lock with "
            f"`terraform -chdir={directory} force-unlock -force {lock_id}`."
        )
    return ""


def tail(text: str, lines: int = 40) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join(kept)
