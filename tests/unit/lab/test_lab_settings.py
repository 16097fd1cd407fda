"""The lab settings file: what fills the notebook's empty parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lab_fixtures import TERRAFORM_SETTINGS

from pm_lab import settings, tracking
from pm_lab.errors import TrackingServerError

ACCOUNT = TERRAFORM_SETTINGS["account_id"]
EMPTY = dict.fromkeys(settings.PARAMETER_SOURCES, "")


def write(home: Path, document: object) -> Path:
    path = home / ".isolated-studio" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def test_every_empty_parameter_is_filled_from_the_terraform_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path, TERRAFORM_SETTINGS)
    loaded = settings.load()
    assert loaded is not None and loaded.subnet_ids == ("subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f")
    filled = settings.fill(loaded, **EMPTY)
    assert filled == {
        "tracking_server_arn": TERRAFORM_SETTINGS["tracking_server_arn"],
        "data_path": TERRAFORM_SETTINGS["data_uri"],
        "region": "eu-west-1",
        "codeartifact_domain": "isolated-studio",
        "codeartifact_repository": "pypi-store",
        "codeartifact_domain_owner": ACCOUNT,
        "remote_s3_root_uri": TERRAFORM_SETTINGS["remote_s3_root_uri"],
    }
    # tracking_uri stays empty: Terraform does not write one, the ARN above is resolved instead.
    assert "tracking_uri" not in filled
    assert "data_path = 's3://isolated-studio-notebooks-111122223333/data/ai4i2020.csv'  (settings data_uri)" in (
        settings.describe(loaded, filled)
    )


def test_a_parameter_set_in_the_notebook_is_never_overridden(tmp_path: Path) -> None:
    loaded = settings.load(write(tmp_path, TERRAFORM_SETTINGS))
    filled = settings.fill(loaded, **{**EMPTY, "data_path": "../data/mine.csv", "region": "us-west-2"})
    assert "data_path" not in filled and "region" not in filled


def test_without_a_settings_file_only_the_local_defaults_apply(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings.load() is None
    assert settings.fill(None, **EMPTY) == {"data_path": "../data/ai4i2020.csv"}
    assert "no lab settings file at" in settings.describe(None, {})


def test_home_unset_means_the_studio_users_home(monkeypatch) -> None:
    monkeypatch.delenv("HOME", raising=False)
    assert settings.default_path() == Path("/home/sagemaker-user/.isolated-studio/settings.json")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "are not JSON"),
        ([1, 2], "must be a JSON object"),
        ({"schema_version": 2}, "schema_version 2"),
        ({"region": 5, "subnet_ids": "subnet-1"}, "region must be a string.*subnet_ids must be a list"),
    ],
)
def test_an_unusable_settings_file_is_refused_with_the_reason(tmp_path: Path, document, message: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(settings.LabSettingsError, match=message):
        settings.load(path)


def test_lab_settings_match_the_stack(tmp_path: Path) -> None:
    """The keys the stack writes are the keys this module reads (and nothing is lost)."""
    import re

    source = (Path(__file__).resolve().parents[3] / "stacks" / "workload_studio.py").read_text()
    start = source.index("def lab_settings(")
    block = source[start : source.index("\ndef ", start + 1)]
    written = set(re.findall(r'^\s*"([a-z0-9_]+)":', block, flags=re.MULTILINE))
    assert written == set(TERRAFORM_SETTINGS)
    loaded = settings.load(write(tmp_path, TERRAFORM_SETTINGS))
    assert loaded is not None and loaded.extra == {}


def test_client_mlflow_must_match_the_servers_major_minor() -> None:
    tracking.check_client_version("2.16", "2.16.2")
    tracking.check_client_version("", "2.17.0")  # unknown server version (a laptop): not checked
    with pytest.raises(TrackingServerError, match="mlflow 2.17.0 but the tracking server runs MLflow 2.16"):
        tracking.check_client_version("2.16", "2.17.0")


def test_nothing_pinned_is_imported_before_the_lab_kernel_check(tmp_path: Path) -> None:
    """The setup cell checks the kernel's pins before MLflow, boto3, pandas ... are imported."""
    import subprocess
    import sys

    import nbformat

    notebook = nbformat.read(Path(__file__).resolve().parents[3] / "notebooks" / "private-mlflow.ipynb", as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert "setup.start(globals())" in code[1]  # the first cell after the parameters
    before = "\n".join(
        line
        for line in code[1].splitlines()
        if not line.startswith("%") and "setup.start" not in line and "lab.job" not in line
    )
    script = (
        code[0]
        + "\n"
        + before
        + """
import sys
from pm_lab import kernel, studio
class Checked(Exception):
    pass
def check(requirements, build):
    print(sorted(m for m in ('boto3', 'botocore', 'sagemaker', 'mlflow', 'numpy', 'pandas', 'sklearn', 'xgboost')
                 if m in sys.modules))
    raise Checked
kernel.require_lab_kernel = check
studio.pip_login = lambda repository: None
execution_mode = "remote"
codeartifact_domain, codeartifact_repository, codeartifact_domain_owner = "lab", "pypi", "111122223333"
try:
    setup.start(globals())
except Checked:
    pass
"""
    )
    notebooks = Path(__file__).resolve().parents[3] / "notebooks"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(notebooks)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=notebooks, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
