"""Connecting to MLflow: bad URIs and dead servers fail fast, before anything is logged."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import mlflow
import pytest

import pm_lab
from pm_lab import tracking
from pm_lab.errors import TrackingServerError

ARN = "arn:aws:sagemaker:eu-west-1:111122223333:mlflow-tracking-server/isolated-studio-mlflow"


def test_unreachable_server_fails_within_seconds_and_restores_http_settings(
    monkeypatch: pytest.MonkeyPatch, unreachable_tracking_uri: str
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    from mlflow.utils import rest_utils

    # What the HTTP layer was told (not how long it took on a loaded machine): one attempt
    # with a 5 s timeout, where MLflow's defaults retry for minutes.
    sent: list[tuple[int, int]] = []
    real = rest_utils._get_http_response_with_retries

    def recording(method, url, max_retries, *args, **kwargs):
        sent.append((max_retries, kwargs.get("timeout")))
        return real(method, url, max_retries, *args, **kwargs)

    monkeypatch.setattr(rest_utils, "_get_http_response_with_retries", recording)
    uri = unreachable_tracking_uri
    with pytest.raises(
        TrackingServerError, match=f"Cannot reach the MLflow tracking server at {uri}.*nothing has been logged"
    ):
        tracking.connect(uri)
    assert sent == [(0, 5)]
    # The cause, whole and short, instead of urllib3's several hundred characters cut mid-word.
    with pytest.raises(TrackingServerError) as failure:
        tracking.connect(uri)
    address = uri.removeprefix("http://")
    assert f"(connection refused to {address})" in str(failure.value)
    assert len(str(failure.value)) < 200
    # The quick settings applied to the check only; the user's own settings are back.
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "7"
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ
    assert mlflow.get_tracking_uri() != uri


@pytest.mark.parametrize("uri", ["file:///tmp/mlruns", "sqlite:///mlflow.db", "127.0.0.1:5000", ""])
def test_only_http_urls_and_sagemaker_arns_are_accepted(uri: str) -> None:
    with pytest.raises(
        TrackingServerError,
        match="must be an http\\(s\\):// MLflow server URL or a SageMaker MLflow tracking server ARN",
    ):
        tracking.connect(uri)


def test_arns_are_recognised() -> None:
    assert tracking.is_sagemaker_tracking_arn(ARN)
    assert not tracking.is_sagemaker_tracking_arn("https://t-abc.eu-west-1.experiments.sagemaker.aws")


def test_arn_without_the_sagemaker_plugin_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def without_plugin(name: str, *args):
        return None if name == "sagemaker_mlflow" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_plugin)
    with pytest.raises(
        TrackingServerError, match="sagemaker-mlflow plugin is not installed: `pip install sagemaker-mlflow==0.1.0`"
    ):
        tracking.connect(ARN)


def test_requirements_pin_the_plugin_the_error_message_names() -> None:
    requirements = (Path(pm_lab.__file__).parents[1] / "requirements.txt").read_text().split()
    assert tracking.SAGEMAKER_MLFLOW_REQUIREMENT in requirements
    assert f"mlflow=={mlflow.__version__}" in requirements
