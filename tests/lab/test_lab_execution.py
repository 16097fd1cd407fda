"""Local vs remote execution of the preprocessing and training functions."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from pm_lab.errors import RemoteExecutionError
from pm_lab.execution import RemoteSettings, default_s3_root_uri, make_runner
from pm_lab.preprocessing import preprocess

SETTINGS = RemoteSettings(
    subnets=("subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"),
    security_group_ids=("sg-0studio000000001",),
    dependencies="/home/sagemaker-user/notebooks/requirements.txt",
    pre_execution_commands=(
        "aws codeartifact login --tool pip --domain isolated-studio "
        "--domain-owner 111122223333 --repository pypi-team",
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


def test_remote_mode_wraps_functions_with_sagemaker_remote_in_the_vpc(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK is not installed locally: a stand-in module records what @remote receives."""
    calls: list[tuple[Any, dict[str, Any]]] = []

    def remote(function: Any = None, **kwargs: Any) -> Any:
        calls.append((function, kwargs))
        return lambda *args, **kw: ("ran remotely", function(*args, **kw))

    package = types.ModuleType("sagemaker")
    module = types.ModuleType("sagemaker.remote_function")
    module.remote = remote  # type: ignore[attr-defined]
    package.remote_function = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sagemaker", package)
    monkeypatch.setitem(sys.modules, "sagemaker.remote_function", module)

    def double(value: int) -> int:
        return value * 2

    runner = make_runner("remote", SETTINGS)
    runner(double)

    (function, kwargs), = calls
    assert function is double  # the user's own function goes to @remote, unwrapped
    assert kwargs == {
        "instance_type": "ml.m5.large",
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
    }


def test_remote_jobs_stage_their_data_in_the_bucket_that_holds_the_input() -> None:
    assert (
        default_s3_root_uri("s3://isolated-studio-notebooks-111122223333/data/ai4i2020.csv")
        == "s3://isolated-studio-notebooks-111122223333/remote-functions"
    )
    assert default_s3_root_uri("data/ai4i2020.csv") is None


REMOTE_SIGNATURE = """
import inspect, json, sys
from sagemaker.remote_function import remote
inspect.signature(remote).bind(None, **json.loads(sys.argv[1]))  # TypeError on an unknown argument
print("ok")
"""


def test_remote_arguments_are_accepted_by_the_real_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """What make_runner passes to @remote, bound to the signature of the pinned SDK's decorator."""
    import json

    from support import run_studio_python

    calls: list[dict[str, Any]] = []
    module = types.ModuleType("sagemaker.remote_function")
    module.remote = lambda function=None, **kwargs: calls.append(kwargs) or function  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sagemaker", types.ModuleType("sagemaker"))
    monkeypatch.setitem(sys.modules, "sagemaker.remote_function", module)
    make_runner("remote", SETTINGS)(lambda value: value)

    (kwargs,) = calls
    assert run_studio_python(REMOTE_SIGNATURE, json.dumps(kwargs)).strip().endswith("ok")
