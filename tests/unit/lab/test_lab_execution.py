"""Local vs remote execution of the job functions (the real SDK: test_lab_remote_sdk.py)."""

from __future__ import annotations

import sys

import pytest

from pm_lab.errors import RemoteExecutionError
from pm_lab.execution import RemoteSettings, default_s3_root_uri, job_image_uri, make_runner
from pm_lab.preprocessing import preprocess

KEY = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
SETTINGS = RemoteSettings(
    subnets=("subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"),
    security_group_ids=("sg-0studio000000001",),
    dependencies="/home/sagemaker-user/notebooks/requirements.txt",
    pre_execution_commands=(
        "aws codeartifact login --tool pip --domain isolated-studio --domain-owner 111122223333 --repository pypi-team",
    ),
    s3_root_uri="s3://isolated-studio-notebooks-111122223333/remote-functions",
)


def test_local_mode_calls_the_function_in_process() -> None:
    runner = make_runner("local")
    assert runner(preprocess) is preprocess


def test_unknown_mode_lists_the_choices() -> None:
    with pytest.raises(RemoteExecutionError, match=r"one of \['local', 'remote'\], got 'cloud'"):
        make_runner("cloud")


def test_remote_mode_without_the_sagemaker_sdk_explains_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes the import fail, as when the SDK is not installed.
    monkeypatch.setitem(sys.modules, "sagemaker", None)
    monkeypatch.setitem(sys.modules, "sagemaker.remote_function", None)
    with pytest.raises(RemoteExecutionError, match="needs the SageMaker Python SDK 2.x.*execution_mode='local'"):
        make_runner("remote", SETTINGS)


def test_remote_mode_needs_settings() -> None:
    with pytest.raises(RemoteExecutionError, match="needs RemoteSettings"):
        make_runner("remote", None)


def test_remote_jobs_must_have_vpc_settings() -> None:
    no_network = RemoteSettings(subnets=(), security_group_ids=(), dependencies="requirements.txt")
    with pytest.raises(RemoteExecutionError, match="subnets and security groups"):
        no_network.remote_kwargs()


def test_remote_kwargs_pass_every_setting_explicitly() -> None:
    settings = RemoteSettings(
        **{
            **SETTINGS.__dict__,
            "image_uri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/dist:2",
            "kms_key_arn": KEY,
            "keep_alive_period_in_seconds": 600,
            "role": "arn:aws:iam::111122223333:role/studio-execution",
        }
    )
    assert settings.remote_kwargs() == {
        "instance_type": "ml.m5.large",
        "keep_alive_period_in_seconds": 600,
        "environment_variables": {"AWS_STS_REGIONAL_ENDPOINTS": "regional"},
        "subnets": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
        "security_group_ids": ["sg-0studio000000001"],
        "dependencies": "/home/sagemaker-user/notebooks/requirements.txt",
        "pre_execution_commands": [
            "aws codeartifact login --tool pip --domain isolated-studio "
            "--domain-owner 111122223333 --repository pypi-team"
        ],
        "include_local_workdir": True,
        "job_name_prefix": "pm-lab",
        "s3_root_uri": "s3://isolated-studio-notebooks-111122223333/remote-functions",
        "role": "arn:aws:iam::111122223333:role/studio-execution",
        "image_uri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/dist:2",
        "s3_kms_key": KEY,
        "volume_kms_key": KEY,
    }


@pytest.mark.parametrize("seconds", [-1, 3601])
def test_warm_pool_period_outside_what_sagemaker_accepts_is_refused(seconds: int) -> None:
    settings = RemoteSettings(**{**SETTINGS.__dict__, "keep_alive_period_in_seconds": seconds})
    with pytest.raises(RemoteExecutionError, match="between 0 .no warm pool. and 3600"):
        settings.remote_kwargs()


def test_job_image_is_the_parameter_else_the_studio_image() -> None:
    studio = {
        "SAGEMAKER_INTERNAL_IMAGE_URI": "542918446943.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-distribution-prod:2"
    }
    assert job_image_uri("", studio) == studio["SAGEMAKER_INTERNAL_IMAGE_URI"]
    assert job_image_uri("my.ecr/image:1", studio) == "my.ecr/image:1"


def test_no_job_image_known_says_what_to_set() -> None:
    with pytest.raises(RemoteExecutionError, match="No image for the remote jobs: set remote_image_uri"):
        job_image_uri("", {})


def test_remote_jobs_stage_their_data_in_the_bucket_that_holds_the_input() -> None:
    assert (
        default_s3_root_uri("s3://isolated-studio-notebooks-111122223333/data/ai4i2020.csv")
        == "s3://isolated-studio-notebooks-111122223333/remote-functions"
    )
    assert default_s3_root_uri("data/ai4i2020.csv") is None
