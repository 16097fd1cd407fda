"""The JupyterLab start script, run with bash, read by the real SageMaker SDK and botocore.

The SDK user configuration is loaded by `sagemaker.config.load_sagemaker_config` of the
pinned SDK (.venv-studio), which validates it against the SDK's own schema; the regional
STS setting is read back by the pinned botocore. No provider bindings are imported here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import run_studio_python

from modules.studio_domain import (
    AWS_CLI_BOUNDS,
    SDK_CONFIG_PATH,
    codeartifact_login,
    jupyterlab_startup_script,
    sagemaker_sdk_config,
    to_yaml,
)

ACCOUNT = "111122223333"
BUCKET = f"studio-dev-notebooks-{ACCOUNT}-us-west-2"
KEY = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/studio-dev-studio-execution"
SUBNETS = ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"]
SGS = ["sg-0123456789abcdef0"]
LOGIN = codeartifact_login(region="us-west-2", domain="studio-dev", owner=ACCOUNT, repository="pip")

LOAD_SDK_CONFIG = """
import json, sys
from sagemaker.config import load_sagemaker_config
print(json.dumps(load_sagemaker_config(additional_config_paths=[sys.argv[1]])))
"""


def sdk_config() -> dict:
    return sagemaker_sdk_config(
        bucket=BUCKET,
        kms_key_arn=KEY,
        subnet_ids=SUBNETS,
        security_group_ids=SGS,
        execution_role_arn=ROLE,
        pre_execution_commands=[LOGIN],
    )


def script() -> str:
    return jupyterlab_startup_script(
        region="us-west-2",
        codeartifact_domain="studio-dev",
        codeartifact_owner=ACCOUNT,
        codeartifact_repository="pip",
        lab_bucket=BUCKET,
        lab_prefix="lab",
        settings_base64="e30=",
        sdk_config=sdk_config(),
    )


def sdk_reads(path: Path) -> dict:
    # No defaults from the machine running the tests: only the file under test.
    env = {**os.environ, "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(path), "SAGEMAKER_USER_CONFIG_OVERRIDE": str(path)}
    return json.loads(run_studio_python(LOAD_SDK_CONFIG, str(path), env=env).splitlines()[-1])  # SDK logs first


@pytest.mark.slow  # the SDK and botocore of .venv-studio
def test_sdk_configuration_passes_the_sdks_schema_and_keeps_every_value(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(to_yaml(sdk_config()) + "\n")
    assert sdk_reads(path) == sdk_config()
    # The schema is enforced: a misspelt key would be refused, not ignored.
    path.write_text(to_yaml(sdk_config()).replace("S3RootUri", "S3RootURI") + "\n")
    with pytest.raises(AssertionError, match="ValidationError|Additional properties"):
        sdk_reads(path)


def test_sdk_configuration_keeps_the_sdk_out_of_its_own_default_bucket():
    modules = sdk_config()["SageMaker"]["PythonSDK"]["Modules"]
    assert modules["Session"]["DefaultS3Bucket"] == BUCKET
    remote = modules["RemoteFunction"]
    assert remote["S3RootUri"] == f"s3://{BUCKET}/remote-functions"
    assert remote["S3KmsKeyId"] == remote["VolumeKmsKeyId"] == KEY
    assert remote["VpcConfig"] == {"Subnets": SUBNETS, "SecurityGroupIds": SGS}
    assert remote["PreExecutionCommands"] == [LOGIN]
    assert modules["TelemetryOptOut"] is True  # no usage reports from the isolated network


def test_yaml_quotes_every_string_without_double_quotes():
    text = to_yaml({"a": "it's", "b": ["x: y", "#z"], "c": True, "d": {}})
    assert '"' not in text
    assert text == "a: 'it''s'\nb:\n  - 'x: y'\n  - '#z'\nc: true\nd: {}"


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


@pytest.mark.slow  # the SDK and botocore of .venv-studio
def test_startup_script_writes_the_sdk_configuration_the_sdk_reads(tmp_path, fake_aws):
    home, _ = run_script(tmp_path, fake_aws)
    assert sdk_reads(home / SDK_CONFIG_PATH) == sdk_config()


STS_ENDPOINT = """
import boto3, os, sys
session = boto3.session.Session(region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
print(session.client("sts").meta.endpoint_url)
"""


@pytest.mark.slow  # the SDK and botocore of .venv-studio
def test_startup_script_sends_sts_to_the_regional_endpoint(tmp_path, fake_aws):
    """botocore before 1.36 goes to the global sts.amazonaws.com, which the VPC cannot reach.

    The lab's pin is now the Studio image's botocore 1.43, regional by default; the setting
    still decides for any older botocore in the app (the AWS CLI's, a user's own venv).
    """
    home, calls = run_script(tmp_path, fake_aws)
    assert ["configure", "set", "default.sts_regional_endpoints", "regional"] in calls
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    before = run_studio_python(STS_ENDPOINT, env={**clean, "AWS_CONFIG_FILE": str(tmp_path / "none")}).strip()
    after = run_studio_python(STS_ENDPOINT, env={**clean, "AWS_CONFIG_FILE": str(home / ".aws" / "config")}).strip()
    assert before in ("https://sts.amazonaws.com", "https://sts.us-west-2.amazonaws.com")
    assert after == "https://sts.us-west-2.amazonaws.com"


def test_startup_script_logs_pip_in_before_copying_the_lab(tmp_path, fake_aws):
    _, calls = run_script(tmp_path, fake_aws)
    commands = [" ".join(call[:2]) for call in calls]
    assert commands.index("codeartifact login") < commands.index("s3 cp")
    assert ["codeartifact", "login", *LOGIN.split()[3:]] in calls
