"""Signals, exit codes and the end-of-run summary, with a stand-in Terraform (a shell script).

The real thing against moto is tests/e2e/emulator/test_emulator_interrupts.py; these pin the mechanics in
seconds: Terraform in its own process group, signals forwarded as SIGINT, output streamed
after the interrupt, no kill timer, a second signal escalating with a warning.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from isolated_studio.config import PROJECT_ROOT

# Like Terraform: the first SIGINT starts a graceful stop that takes a while (in-flight work
# finishing), a second one exits at once. SIGTERM or SIGHUP reaching it directly is recorded:
# it would mean the signal was not forwarded as an interrupt.
FAKE_TERRAFORM = """\
#!/bin/sh
interrupts=0
on_int() {
  interrupts=$((interrupts + 1))
  if [ "$interrupts" -ge 2 ]; then echo "Two interrupts received. Exiting immediately."; exit 1; fi
  echo "Interrupt received. Gracefully shutting down..."
}
trap on_int INT
trap 'echo "got TERM directly"; exit 143' TERM
trap 'echo "got HUP directly"; exit 129' HUP
echo "pid $$ pgid $(ps -o pgid= -p $$ | tr -d ' ')"
echo "Creating..."
i=0
while [ $i -lt 600 ]; do
  if [ "$interrupts" -ge 1 ]; then
    # `wait` (not a bare sleep) so that a second interrupt is handled at once, as Terraform does.
    sleep ${GRACE:-0.5} >/dev/null 2>&1 & wait $!
    echo "in-flight create finished; state written; lock released"; exit 1
  fi
  sleep 0.1; i=$((i + 1))
done
echo "Apply complete!"
"""

DRIVER = """\
import sys
from pathlib import Path
from isolated_studio.ops.runner import Terraform
from isolated_studio.ops.signals import Interrupted, Interrupts

interrupts = Interrupts().install()
tf = Terraform({"network": Path(sys.argv[1])}, dict(__import__("os").environ), say=lambda l: print(l, flush=True),
               timeout_s=float(__import__("os").environ.get("TIMEOUT_S", "600")), interrupts=interrupts)
print("driver pid", __import__("os").getpid(), flush=True)
try:
    tf.apply("network", Path("network.tfplan"))
except Interrupted as error:
    print("INTERRUPTED:", str(error).splitlines()[0], "stack", error.stack, flush=True)
    sys.exit(3)
print("DONE", flush=True)
"""


@pytest.fixture
def fake_terraform(tmp_path: Path) -> dict[str, str]:
    binary = tmp_path / "bin" / "terraform"
    binary.parent.mkdir()
    binary.write_text(FAKE_TERRAFORM)
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "network").mkdir()
    env = {**os.environ, "PATH": f"{binary.parent}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(PROJECT_ROOT)}
    return env


def _drive(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    return subprocess.Popen(
        [sys.executable, str(driver), str(tmp_path / "network")],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(proc: subprocess.Popen[str], marker: str, timeout_s: float = 30) -> str:
    assert proc.stdout is not None
    seen, deadline = "", time.monotonic() + timeout_s
    while marker not in seen and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
    assert marker in seen, seen
    return seen


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_reaches_terraform_as_one_interrupt_and_its_output_keeps_streaming(tmp_path, fake_terraform, signum):
    proc = _drive(tmp_path, fake_terraform)
    before = _wait_for(proc, "Creating...")
    driver_pid = int(before.split("driver pid ")[1].split()[0])
    terraform_pgid = int(before.split(" pgid ")[1].split()[0])
    assert terraform_pgid != os.getpgid(driver_pid), "Terraform must run in its own process group"

    proc.send_signal(signum)
    after, _ = proc.communicate(timeout=60)

    assert proc.returncode == 3, before + after
    assert "Interrupt received. Gracefully shutting down..." in after
    # Output after the interrupt is still shown, and Terraform was allowed to finish its work.
    assert "in-flight create finished; state written; lock released" in after
    assert "directly" not in after and "Exiting immediately" not in after
    assert f"{signal.Signals(signum).name} received: Terraform was asked to stop" in after
    assert "INTERRUPTED: terraform apply in stack network was interrupted" in after and "stack network" in after


def test_there_is_no_kill_timer_after_an_interrupt(tmp_path, fake_terraform):
    # A graceful stop may take 45 min. The only timer the runner has is the command's timeout
    # (the old one also killed Terraform 60 s after an interrupt): here the stop outlasts it
    # and still ends with Terraform's own exit, not with a second interrupt.
    proc = _drive(tmp_path, {**fake_terraform, "GRACE": "3", "TIMEOUT_S": "1.5"})
    _wait_for(proc, "Creating...")
    proc.send_signal(signal.SIGTERM)
    after, _ = proc.communicate(timeout=60)
    assert "in-flight create finished" in after, after
    assert "Exiting immediately" not in after and "did not finish within" not in after, after


def test_a_second_signal_escalates_with_a_warning(tmp_path, fake_terraform):
    proc = _drive(tmp_path, {**fake_terraform, "GRACE": "30"})
    _wait_for(proc, "Creating...")
    proc.send_signal(signal.SIGTERM)
    _wait_for(proc, "Gracefully shutting down")
    proc.send_signal(signal.SIGINT)
    after, _ = proc.communicate(timeout=60)

    assert "Two interrupts received. Exiting immediately." in after
    assert "WARNING: SIGINT again: Terraform stops at once" in after
    assert "in-flight create finished" not in after


def test_after_an_interrupt_no_further_terraform_command_starts(tmp_path):
    from isolated_studio.ops.runner import Terraform
    from isolated_studio.ops.signals import Interrupted, Interrupts

    interrupts = Interrupts()
    interrupts.received.append("SIGTERM")
    runner = Terraform({"network": tmp_path}, dict(os.environ), say=print, interrupts=interrupts)
    with pytest.raises(Interrupted, match="SIGTERM received: terraform plan in stack network not started"):
        runner.plan("network", tmp_path / "network.tfplan")


def test_a_signal_at_a_confirmation_prompt_ends_it_as_a_no(monkeypatch):
    from isolated_studio.ops import guard
    from isolated_studio.ops.signals import Interrupts

    interrupts = Interrupts().install()
    try:

        def ask(_prompt: str) -> str:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
            return "yes"

        with pytest.raises(guard.Aborted, match="no confirmation given"), interrupts.prompting():
            guard.confirm("Apply?", expected="yes", assume_yes=False, input_fn=ask, interactive=True)
    finally:
        interrupts.restore()
    assert interrupts.received == ["SIGTERM"]
