"""The JupyterLab start script as the tests render it (tests/unit/modules/test_studio_startup.py and
test_studio_startup_paths.py, tests/integration/modules/test_studio_startup_sdk.py): its values, the
SageMaker SDK configuration it writes, and a fake `aws` that records its calls, to run it with bash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modules.studio_domain import (
    AWS_CLI_BOUNDS,
    codeartifact_login,
    jupyterlab_startup_script,
    sagemaker_sdk_config,
)

ACCOUNT = "111122223333"
BUCKET = f"studio-dev-notebooks-{ACCOUNT}-us-west-2"
KEY = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/studio-dev-studio-execution"
SUBNETS = ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"]
SGS = ["sg-0123456789abcdef0"]
LOGIN = codeartifact_login(region="us-west-2", domain="studio-dev", owner=ACCOUNT, repository="pip")


def sdk_config() -> dict:
    return sagemaker_sdk_config(
        bucket=BUCKET,
        kms_key_arn=KEY,
        subnet_ids=SUBNETS,
        security_group_ids=SGS,
        execution_role_arn=ROLE,
        pre_execution_commands=[LOGIN],
    )


def script(**changes: str) -> str:
    """The start script with the test values; ``changes`` override or add arguments."""
    return jupyterlab_startup_script(
        **{
            "region": "us-west-2",
            "codeartifact_domain": "studio-dev",
            "codeartifact_owner": ACCOUNT,
            "codeartifact_repository": "pip",
            "lab_bucket": BUCKET,
            "lab_prefix": "lab",
            "settings_base64": "e30=",
            "sdk_config": sdk_config(),
            **changes,
        }
    )


@pytest.fixture()
def fake_aws(tmp_path) -> Path:
    """An `aws` on PATH that records its arguments; `configure set` edits the config file
    the way the AWS CLI does ([default] section of $AWS_CONFIG_FILE or ~/.aws/config)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(
        textwrap.dedent(f"""\
        #!{sys.executable}
        import configparser, json, os, sys
        from pathlib import Path
        with open(os.environ["FAKE_AWS_LOG"], "a") as log:
            log.write(json.dumps(sys.argv[1:]) + "\\n")
        args = sys.argv[1:]
        while args and args[0].startswith("--cli-"):  # global options, e.g. --cli-read-timeout 30
            args = args[2:]
        if args[0:2] == ["configure", "set"]:
            profile, _, key = args[2].rpartition(".")
            path = Path(os.environ.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config")
            path.parent.mkdir(parents=True, exist_ok=True)
            config = configparser.ConfigParser()
            config.read(path)
            section = "default" if profile in ("", "default") else f"profile {{profile}}"
            if not config.has_section(section):
                config.add_section(section)
            config[section][key] = args[3]
            with path.open("w") as out:
                config.write(out)
        """)
    )
    aws.chmod(0o755)
    return bin_dir


def run_script(tmp_path: Path, fake_aws: Path) -> tuple[Path, list[list[str]]]:
    home = tmp_path / "home"
    home.mkdir()
    path = tmp_path / "lcc.sh"
    path.write_text(script())
    log = tmp_path / "aws.log"
    env = {"HOME": str(home), "PATH": f"{fake_aws}:{os.environ['PATH']}", "FAKE_AWS_LOG": str(log)}
    result = subprocess.run(["bash", str(path)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # Every call carries the same bounds (tests/integration/aws/test_lab_startup_script.py); compare without them.
    bounds = AWS_CLI_BOUNDS.split()[3:]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert all(call[: len(bounds)] == bounds for call in calls)
    return home, [call[len(bounds) :] for call in calls]
