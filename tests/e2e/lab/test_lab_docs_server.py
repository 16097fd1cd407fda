"""docs/lab.md's commands that start and stop the laptop's MLflow server, run as written.

`mlflow server` runs gunicorn, whose master and workers are processes of their own: killing
`mlflow server`'s process left them serving the port. The documented stop must leave nothing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "lab.md"
pytestmark = pytest.mark.lab_e2e


def _bash_blocks(text: str) -> list[str]:
    return [re.sub(r"^ {3}", "", block, flags=re.M) for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(args.strip())
    return found


def test_the_documented_stop_ends_the_server_and_all_its_workers(tmp_path):
    blocks = _bash_blocks(DOC.read_text())
    [start] = [b for b in blocks if "mlflow server" in b]
    [stop] = [b for b in blocks if "gunicorn.pid" in b and "kill" in b]
    # The documented port, moved to a free one: tests run side by side and never assume a port.
    port = _free_port()
    start = start.replace("--port 5000", f"--port {port}")
    assert f"--port {port}" in start
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run(["bash", "-c", start], cwd=ROOT, env=env, check=True, timeout=60)
    health = f"http://127.0.0.1:{port}/health"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(health, timeout=2) as answer:
                if answer.status == 200 and (tmp_path / "pm-lab-mlflow" / "gunicorn.pid").is_file():
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            log = tmp_path / "pm-lab-mlflow" / "server.log"
            pytest.fail(f"the documented server did not come up:\n{log.read_text() if log.exists() else ''}")
        time.sleep(0.5)
    running = _processes_mentioning(str(tmp_path))
    assert any("gunicorn" in p for p in running) and any("mlflow server" in p for p in running), running
    try:
        subprocess.run(["bash", "-c", stop], cwd=ROOT, env=env, check=True, timeout=30)
        deadline = time.monotonic() + 30
        while _processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_mentioning(str(tmp_path)) == [], "processes outlived the documented stop"
        with pytest.raises(OSError):
            urllib.request.urlopen(health, timeout=2)
    finally:
        if _processes_mentioning(str(tmp_path)):  # never leave a server behind a failed test
            subprocess.run(["pkill", "-f", str(tmp_path)], check=False)
