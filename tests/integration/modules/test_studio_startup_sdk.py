"""The JupyterLab start script, run with bash, read by the real SageMaker SDK and botocore.

The SDK user configuration is loaded by `sagemaker.config.load_sagemaker_config` of the
pinned SDK (.venv-studio), which validates it against the SDK's own schema; the regional
STS setting is read back by the pinned botocore. No provider bindings are imported here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from studio_startup import fake_aws, run_script, sdk_config  # fake_aws: a fixture
from support import run_studio_python

from modules.studio_domain import SDK_CONFIG_PATH, to_yaml

LOAD_SDK_CONFIG = """
import json, sys
from sagemaker.config import load_sagemaker_config
print(json.dumps(load_sagemaker_config(additional_config_paths=[sys.argv[1]])))
"""


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
