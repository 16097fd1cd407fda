"""Terraform commands in the synthesized stack directories, as the workflow runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isolated_studio.ops.errors import WorkflowError
from isolated_studio.ops.terraform import find_terraform

DEFAULT_TIMEOUT_S = 7200.0  # one Terraform command; a Studio domain plus MLflow take ~30 min
INTERRUPT_GRACE_S = 60.0  # after SIGINT Terraform stops cleanly and releases its state lock

Say = Callable[[str], None]


@dataclass
class Terraform:
    """Terraform commands in synthesized stack directories, each bounded by a timeout.

    On timeout (or Ctrl-C) Terraform gets SIGINT first, so that it stops cleanly and
    releases its state lock, and is killed only if it does not stop within a grace period.
    """

    dirs: Mapping[str, Path]
    env: Mapping[str, str]
    say: Say
    timeout_s: float = DEFAULT_TIMEOUT_S
    lock_timeout: str = "0s"
    _initialized: set[str] = field(default_factory=set)

    def run(self, stack: str, args: Sequence[str], *, echo: bool = False,
            ok: Iterable[int] = (0,)) -> subprocess.CompletedProcess[str]:
        binary = find_terraform()
        if binary is None:
            raise WorkflowError("terraform is not on PATH (Terraform >= 1.10 is required)")
        command = [binary, *args]
        proc = subprocess.Popen(
            command, cwd=self.dirs[stack], env=dict(self.env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT if echo else subprocess.PIPE, text=True,
        )
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            _interrupt(proc)

        timer = threading.Timer(self.timeout_s, expire)
        timer.daemon = True
        timer.start()
        try:
            stdout, stderr = self._collect(proc, stack, echo)
        except KeyboardInterrupt:
            # Terraform got the same Ctrl-C from the terminal: a second SIGINT would make it
            # exit at once, lock and all, so only wait for it to stop.
            _wait_or_kill(proc)
            raise
        finally:
            timer.cancel()
        result = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
        what = f"terraform {' '.join(args[:1])} in stack {stack}"
        if timed_out.is_set():
            raise WorkflowError(
                f"{what} did not finish within {self.timeout_s:.0f} s and was interrupted; if its "
                f"state is still locked, `terraform force-unlock` in {self.dirs[stack]} releases it"
            )
        if result.returncode not in tuple(ok):
            raise WorkflowError(f"{what} failed (exit {result.returncode}):\n{tail(stdout + stderr)}")
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
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode",
                f"-lock-timeout={self.lock_timeout}", f"-out={plan_file}"]
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
        self.run(stack, ["apply", "-input=false", "-no-color", f"-lock-timeout={self.lock_timeout}",
                         str(plan_file)], echo=True)

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


def _interrupt(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        _wait_or_kill(proc)


def _wait_or_kill(proc: subprocess.Popen[str]) -> None:
    try:
        proc.wait(timeout=INTERRUPT_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tail(text: str, lines: int = 40) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join(kept)

