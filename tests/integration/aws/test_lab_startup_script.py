"""The JupyterLab start script, executed here with the real AWS CLI pointed at moto.

The script is rendered by the same function the workload stack uses, with plain values where
the stack has Terraform references, and run by bash as Studio runs it: as a user whose HOME
may be unset, against S3 (moto) holding the uploaded lab. CodeArtifact is not emulated: its
login fails against moto, which shows the script carries on and says so.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from emulator_support import start_moto

from isolated_studio.config import PROJECT_ROOT
from modules.studio_domain import AWS_CLI_BOUNDS, SETTINGS_PATH, jupyterlab_startup_script

AWSCLI_VENV = PROJECT_ROOT / ".venv-awscli"
AWSCLI_REQUIREMENTS = PROJECT_ROOT / "tests" / "requirements-awscli.txt"
BUCKET = "studio-dev-notebooks-123456789012-us-west-2"
SETTINGS = {
    "schema_version": 1,
    "region": "us-west-2",
    "account_id": "123456789012",
    "codeartifact_domain": "studio-dev",
    "codeartifact_domain_owner": "123456789012",
    "codeartifact_repository": "pip",
    "tracking_server_arn": "arn:aws:sagemaker:us-west-2:123456789012:mlflow-tracking-server/studio-dev-mlflow",
    "data_uri": f"s3://{BUCKET}/data/ai4i2020.csv",
    "subnet_ids": ["subnet-0a", "subnet-0b"],
}
pytestmark = pytest.mark.emulator  # a moto server and the real AWS CLI, seconds per call

# Studio stops an app whose start script runs longer than this.
STUDIO_START_LIMIT_S = 300


def _pinned_cli_version() -> str:
    return re.search(r"^awscli==(\S+)", AWSCLI_REQUIREMENTS.read_text(), re.M).group(1)


@pytest.fixture(scope="session")
def aws_cli_bin() -> Path:
    """The bin/ folder of the pinned AWS CLI: `make awscli-env` builds it, else this does (once)."""
    aws = AWSCLI_VENV / "bin" / "aws"
    version = _pinned_cli_version()
    if aws.exists():
        shown = subprocess.run([str(aws), "--version"], capture_output=True, text=True, timeout=60)
        if f"aws-cli/{version} " in shown.stdout + shown.stderr:
            return aws.parent
    shutil.rmtree(AWSCLI_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(AWSCLI_VENV)], check=True, timeout=120)
    subprocess.run(
        [
            str(AWSCLI_VENV / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(AWSCLI_REQUIREMENTS),
        ],
        check=True,
        timeout=600,
    )
    return aws.parent


@pytest.fixture()
def moto_s3(tmp_path: Path):
    server = start_moto(tmp_path / "moto.log")
    try:
        s3 = boto3.client(
            "s3",
            region_name="us-west-2",
            endpoint_url=server.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        yield server.endpoint, s3
    finally:
        server.stop()


def _script(default_home: Path, **extra) -> str:
    encoded = base64.b64encode(json.dumps(SETTINGS).encode()).decode()
    return jupyterlab_startup_script(
        region="us-west-2",
        codeartifact_domain="studio-dev",
        codeartifact_owner="123456789012",
        codeartifact_repository="pip",
        lab_bucket=BUCKET,
        lab_prefix="lab",
        settings_base64=encoded,
        default_home=str(default_home),
        **extra,
    )


def _run(script: Path, aws_bin: Path, endpoint: str, home: Path | None) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{aws_bin}:/usr/bin:/bin",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        # What `codeartifact login --tool pip` would change: keep it out of the real user's files.
        "PIP_CONFIG_FILE": str(script.parent / "pip.conf"),
    }
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=STUDIO_START_LIMIT_S)


def _upload(s3, files: dict[str, str]) -> None:
    for key, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"lab/{key}", Body=body.encode())


LAB_V1 = {
    "private-mlflow.ipynb": '{"cells": [], "v": 1}\n',
    "pm_lab/__init__.py": "__version__ = '1'\n",
    "pm_lab/steps.py": "STEPS = 1\n",
    "requirements.txt": "mlflow==2.16.2\n",
}


def test_start_script_without_home_writes_settings_copies_the_lab_and_builds_its_kernel(tmp_path, moto_s3, aws_cli_bin):
    endpoint, s3 = moto_s3
    _upload(s3, {**LAB_V1, "pm_lab/kernel.py": "# the lab's kernel module\n"})
    home = tmp_path / "sagemaker-user"
    python = tmp_path / "image-python"  # the image's Python: says how it was started
    # The record is written whole, then renamed: the build runs in the background, and a reader
    # that only waited for the file to exist could see it half written.
    python.write_text(
        "#!/bin/bash\n{ echo $*; pwd; cat requirements.txt; } > $HOME/build.record.part\n"
        "mv $HOME/build.record.part $HOME/build.record\n"
    )
    python.chmod(0o755)
    script = tmp_path / "start.sh"
    script.write_text(_script(home, image_python=str(python)))

    result = _run(script, aws_cli_bin, endpoint, home=None)  # HOME unset: the Studio user's default home

    assert result.returncode == 0, result.stderr
    assert json.loads((home / SETTINGS_PATH).read_text()) == SETTINGS
    for key, body in LAB_V1.items():
        assert (home / "lab" / key).read_text() == body
    # CodeArtifact is not emulated: the login fails, is reported, and the lab still arrives.
    assert "WARNING: CodeArtifact login failed" in result.stdout
    assert "WARNING: could not copy" not in result.stdout
    assert "unbound variable" not in result.stderr
    # The lab's kernel is built (in the background) from the lab the real CLI copied.
    deadline = time.monotonic() + 60  # a loaded machine; Studio gives the build far longer
    while not (home / "build.record").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (home / "build.record").read_text() == f"-m pm_lab.kernel install\n{home}/lab\nmlflow==2.16.2\n"


def test_redeploy_refreshes_pm_lab_and_keeps_what_the_user_edited(tmp_path, moto_s3, aws_cli_bin):
    endpoint, s3 = moto_s3
    _upload(s3, LAB_V1)
    home = tmp_path / "home"
    script = tmp_path / "start.sh"
    script.write_text(_script(home))
    assert _run(script, aws_cli_bin, endpoint, home=home).returncode == 0

    edited_notebook = '{"cells": ["my work"]}\n'
    (home / "lab" / "private-mlflow.ipynb").write_text(edited_notebook)
    _upload(
        s3,
        {
            "private-mlflow.ipynb": '{"cells": [], "v": 2}\n',
            "pm_lab/steps.py": "STEPS = 2\n",
            "pm_lab/settings.py": "NEW = True\n",
        },
    )

    result = _run(script, aws_cli_bin, endpoint, home=home)

    assert result.returncode == 0, result.stderr
    assert (home / "lab" / "pm_lab" / "steps.py").read_text() == "STEPS = 2\n"  # refreshed
    assert (home / "lab" / "pm_lab" / "settings.py").read_text() == "NEW = True\n"  # added
    assert (home / "lab" / "private-mlflow.ipynb").read_text() == edited_notebook  # kept
    assert "updated lab/pm_lab/steps.py" in result.stdout
    assert "kept your edited lab/private-mlflow.ipynb" in result.stdout
    assert (home / ".isolated-studio" / "lab" / "private-mlflow.ipynb").read_text() == '{"cells": [], "v": 2}\n'

    # Still the user's on the next start, even though the bucket did not change again.
    third = _run(script, aws_cli_bin, endpoint, home=home)
    assert (home / "lab" / "private-mlflow.ipynb").read_text() == edited_notebook
    assert "kept your edited lab/private-mlflow.ipynb" in third.stdout
    # A user who deletes the file gets the current version back.
    (home / "lab" / "private-mlflow.ipynb").unlink()
    _run(script, aws_cli_bin, endpoint, home=home)
    assert (home / "lab" / "private-mlflow.ipynb").read_text() == '{"cells": [], "v": 2}\n'


def test_unreachable_s3_is_reported_and_the_app_still_starts(tmp_path, aws_cli_bin):
    home = tmp_path / "home"
    script = tmp_path / "start.sh"
    script.write_text(_script(home))
    closed = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused
    result = _run(script, aws_cli_bin, closed, home=home)
    assert result.returncode == 0
    assert "WARNING: could not copy the lab from S3" in result.stdout
    assert json.loads((home / SETTINGS_PATH).read_text()) == SETTINGS


def test_every_aws_cli_call_is_bounded_within_the_studio_start_limit(tmp_path):
    from modules.studio_domain import BOOTSTRAP_CLI_BOUNDS, jupyterlab_bootstrap_script

    lines = [line.strip() for line in _script(tmp_path).splitlines()]
    calls = [line for line in lines if re.search(r"(^|\s)aws\s", line) and not line.startswith("#")]
    assert len(calls) == 3  # regional STS setting, CodeArtifact login, lab copy
    assert all(AWS_CLI_BOUNDS in line for line in calls)
    # The lifecycle configuration's bootstrap fetches the script first: Studio's limit covers both.
    bootstrap = [line.strip() for line in jupyterlab_bootstrap_script(region="us-west-2", bucket=BUCKET).splitlines()]
    fetch = [line for line in bootstrap if re.search(r"(^|\s)aws\s", line) and not line.startswith("#")]
    assert len(fetch) == 1 and BOOTSTRAP_CLI_BOUNDS in fetch[0]
    total = sum(int(re.search(r"timeout (\d+) aws", line).group(1)) for line in calls + fetch)
    assert total < STUDIO_START_LIMIT_S
    assert not any("$HOME" in line for line in lines)  # HOME is read with printenv, never expanded
    # The lab's kernel (pip from CodeArtifact: minutes the first time) is built outside that
    # limit, in a background job of its own, bounded too.
    (build,) = [line for line in lines if "pm_lab.kernel install" in line]
    assert re.fullmatch(
        r"\(cd \$home/lab && exec nohup timeout \d+ /opt/conda/bin/python -m pm_lab.kernel install\) "
        r"> \$home/\.isolated-studio/kernel-build\.log 2>&1 < /dev/null &",
        build,
    ), build


def test_the_bootstrap_fetches_the_start_script_with_the_real_cli_and_runs_it(tmp_path, moto_s3, aws_cli_bin):
    from modules.studio_domain import START_SCRIPT_KEY, jupyterlab_bootstrap_script

    endpoint, s3 = moto_s3
    _upload(s3, LAB_V1)
    home = tmp_path / "home"
    s3.put_object(Bucket=BUCKET, Key=START_SCRIPT_KEY, Body=_script(home).encode())
    bootstrap = tmp_path / "bootstrap.sh"
    bootstrap.write_text(jupyterlab_bootstrap_script(region="us-west-2", bucket=BUCKET, default_home=str(home)))

    result = _run(bootstrap, aws_cli_bin, endpoint, home=None)

    assert result.returncode == 0, result.stderr
    assert "could not fetch" not in result.stdout
    assert json.loads((home / SETTINGS_PATH).read_text()) == SETTINGS
    assert (home / "lab" / "private-mlflow.ipynb").read_text() == LAB_V1["private-mlflow.ipynb"]
