"""`make setup`'s install of the project gives a working `isolated-studio`: the Makefile's own pip
command, run into a fresh virtualenv over .venv's packages (never into the shared .venv),
offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow  # pip and a virtualenv: seconds


def makefile_install_command() -> list[str]:
    recipe = re.search(r"^\$\(PROJECT_STAMP\):.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), flags=re.M)
    assert recipe, "the Makefile has no $(PROJECT_STAMP) recipe"
    command = re.search(r"(\.venv/bin/python -m pip install [^)\n;]*)", recipe.group(1))
    assert command, recipe.group(1)
    words = command.group(1).split()
    assert {"--no-deps", "--no-index", "--no-build-isolation"} <= set(words), "the install must stay offline"
    return words


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # .venv's packages (pip and setuptools among them) under the fresh environment, as if synced into it.
    Path(site, "_project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    words = makefile_install_command()
    proc = subprocess.run(
        [str(python), *words[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv / "bin" / "isolated-studio"


def run(script: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("STUDIO_CONFIG", "STUDIO_ENV")}
    # Anywhere but the checkout: the installed command finds the project by itself.
    return subprocess.run(
        [str(script), *args], cwd=script.parent, capture_output=True, text=True, timeout=120, env={**environ, **env}
    )


def test_the_installed_command_shows_its_commands(installed):
    proc = run(installed, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "plan " in proc.stdout and "destroy " in proc.stdout and "drift " in proc.stdout


def test_the_installed_command_runs_a_real_command(installed):
    proc = run(installed, "aws-constraints", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_installed_command_keeps_the_workflows_refusals_and_exit_codes(installed):
    proc = run(installed, "plan", "--no-synth", STUDIO_ENV="no-such-environment")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no-such-environment.toml" in proc.stderr and "configuration file not found" in proc.stderr
    assert run(installed, "drift", "--no-synth", STUDIO_ENV="no-such-environment").returncode == 1


def test_the_installed_command_runs_the_emulator_on_loopback(installed):
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(installed), "emulator", "--port", str(port)],
        cwd=installed.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"the emulator exited with {server.returncode}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the emulator never answered"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
