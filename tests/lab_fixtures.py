"""Fixtures for the predictive-maintenance lab tests.

``notebooks/`` is put on ``sys.path`` so the tests import ``pm_lab`` exactly
as the notebook does. The end-to-end fixtures start a real ``mlflow server``
on loopback and execute the real notebook with a real Jupyter kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
NOTEBOOK = NOTEBOOKS_DIR / "private-mlflow.ipynb"
if str(NOTEBOOKS_DIR) not in sys.path:
    sys.path.insert(0, str(NOTEBOOKS_DIR))

from support import port_from_log  # noqa: E402

from pm_lab import synthetic  # noqa: E402  (needs the sys.path entry above)

SERVER_START_TIMEOUT_S = 90
#: Interpreter of the test MLflow server, when not this one.
SERVER_PYTHON_ENV = "PM_LAB_MLFLOW_SERVER_PYTHON"
NOTEBOOK_CELL_TIMEOUT_S = 180

_ACCOUNT = "111122223333"
#: The shape stacks/workload_studio.py's lab_settings writes (test_lab_settings.py checks the keys);
#: the settings file of the lab tests of every tier.
TERRAFORM_SETTINGS = {
    "schema_version": 1,
    "region": "eu-west-1",
    "account_id": _ACCOUNT,
    "codeartifact_domain": "isolated-studio",
    "codeartifact_domain_owner": _ACCOUNT,
    "codeartifact_repository": "pypi-store",
    "tracking_server_arn": f"arn:aws:sagemaker:eu-west-1:{_ACCOUNT}:mlflow-tracking-server/isolated-studio-mlflow",
    "mlflow_version": "2.16",
    "notebooks_bucket": f"isolated-studio-notebooks-{_ACCOUNT}",
    "data_uri": f"s3://isolated-studio-notebooks-{_ACCOUNT}/data/ai4i2020.csv",
    "remote_s3_root_uri": f"s3://isolated-studio-notebooks-{_ACCOUNT}/remote-functions",
    "kms_key_arn": f"arn:aws:kms:eu-west-1:{_ACCOUNT}:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    "subnet_ids": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
    "security_group_ids": ["sg-0studio000000001"],
    "execution_role_arn": f"arn:aws:iam::{_ACCOUNT}:role/isolated-studio-execution",
}


@pytest.fixture(scope="session")
def generated_frame() -> pd.DataFrame:
    """10,000 generated AI4I rows with the default seed; treat as read-only."""
    return synthetic.generate(rows=10_000, seed=42)


@pytest.fixture()
def ai4i_csv(tmp_path: Path, generated_frame: pd.DataFrame) -> Path:
    """The generated data written as ``ai4i2020.csv`` in a temporary folder."""
    return synthetic.write_csv(generated_frame, tmp_path / "ai4i2020.csv")


@pytest.fixture()
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region so boto3 clients build; Stubber answers every call."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture()
def unreachable_tracking_uri() -> Iterator[str]:
    """An http URL on loopback where no server listens (connection refused at once).

    The port stays bound (never listening) while the test runs, so no other server can
    take it meanwhile and make it reachable.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``/health`` until it answers OK, the server dies, or the timeout passes."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server not healthy after {SERVER_START_TIMEOUT_S}s:\n{log.read_text()}")


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and its gunicorn worker: SIGTERM to the group, SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` (sqlite + local artifact store) on loopback; yields its URL."""
    root = tmp_path_factory.mktemp("mlflow-server")
    log = root / "server.log"
    command = [
        # The server stands for the managed tracking server, not for anything Studio installs:
        # the Studio-environment run (test_lab_in_studio_env.py) names the dev environment's
        # interpreter here, since the client pins leave the server's SQLAlchemy unpinned.
        os.environ.get(SERVER_PYTHON_ENV) or sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        "0",  # gunicorn binds a port the OS picks and logs it: no race for a free port
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    try:
        port = port_from_log(log, r"Listening at: http://127\.0\.0\.1:(\d+)", process, SERVER_START_TIMEOUT_S)
        url = f"http://127.0.0.1:{port}"
        _wait_for_health(url, process, log)
        yield url
    finally:
        _stop_process_group(process)


def _kernel_spec_dir(root: Path) -> Path:
    """A kernelspec that starts ipykernel with this interpreter (the project's venv)."""
    spec_dir = root / "kernels" / "pm-lab-python"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "pm-lab test kernel",
                "language": "python",
            }
        )
    )
    return spec_dir.parent


def inject_parameters(notebook: Any, parameters: dict[str, Any]) -> Any:
    """Papermill-style: add a cell assigning ``parameters`` right after the parameters cell."""
    index = next(
        position
        for position, cell in enumerate(notebook.cells)
        if "parameters" in cell.get("metadata", {}).get("tags", [])
    )
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(index + 1, cell)
    return notebook


@pytest.fixture()
def run_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Execute a copy of the lab folder's notebook top to bottom with the given parameters.

    The notebook, ``pm_lab`` and ``requirements.txt`` are copied to a
    temporary folder that becomes the kernel's working directory, as after
    ``aws s3 cp`` in Studio; nothing is written into the repository. The
    kernel's HOME is a fresh folder, holding ``~/.isolated-studio/settings.json``
    when ``settings`` are given (as the JupyterLab start script writes it);
    with no parameters nothing is injected (the notebook as a user opens it).
    Raises ``nbclient.exceptions.CellExecutionError`` when a cell fails.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    workdir = tmp_path / "lab"
    workdir.mkdir()
    shutil.copy2(NOTEBOOK, workdir / NOTEBOOK.name)
    shutil.copy2(NOTEBOOKS_DIR / "requirements.txt", workdir / "requirements.txt")
    shutil.copytree(NOTEBOOKS_DIR / "pm_lab", workdir / "pm_lab", ignore=shutil.ignore_patterns("__pycache__"))
    kernels = _kernel_spec_dir(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # the kernel inherits it: no settings file of the developer's

    def execute(parameters: dict[str, Any], settings: dict[str, Any] | None = None) -> Any:
        if settings is not None:
            path = home / ".isolated-studio" / "settings.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        notebook = nbformat.read(workdir / NOTEBOOK.name, as_version=4)
        if parameters:
            notebook = inject_parameters(notebook, parameters)
        manager = KernelManager(
            kernel_name="pm-lab-python",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
        )
        client = NotebookClient(
            notebook,
            km=manager,
            timeout=NOTEBOOK_CELL_TIMEOUT_S,
            startup_timeout=60,
            resources={"metadata": {"path": str(workdir)}},
        )
        client.execute()
        return notebook

    execute.workdir = workdir  # type: ignore[attr-defined]
    execute.home = home  # type: ignore[attr-defined]
    return execute
