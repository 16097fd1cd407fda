"""Connecting to the MLflow tracking server before anything is logged.

:func:`connect` is called before the data is read and before any run
exists: it checks the URI form, the SageMaker plugin for ARNs, and that the
server answers, with MLflow's HTTP retries turned down for that one call so
an unreachable server fails in seconds rather than after minutes of
backoff.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from pm_lab.errors import TrackingServerError

#: sagemaker-mlflow release matching mlflow 2.16 (also pinned in requirements.txt).
SAGEMAKER_MLFLOW_REQUIREMENT = "sagemaker-mlflow==0.1.0"
_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:mlflow-tracking-server/.+$")


def is_sagemaker_tracking_arn(uri: str) -> bool:
    """True for a SageMaker managed MLflow tracking server ARN."""
    return bool(_ARN.match(uri))


def require_sagemaker_mlflow() -> None:
    """Fail clearly when an ARN is used without the plugin that understands it."""
    if importlib.util.find_spec("sagemaker_mlflow") is None:
        raise TrackingServerError(
            "A SageMaker MLflow ARN is used as tracking URI but the sagemaker-mlflow "
            f"plugin is not installed: `pip install {SAGEMAKER_MLFLOW_REQUIREMENT}` "
            "(it is in requirements.txt), then restart the kernel."
        )


@contextmanager
def _quick_http(timeout_seconds: int, max_retries: int) -> Iterator[None]:
    """Temporarily lower MLflow's HTTP timeout and retries, restoring them afterwards."""
    settings = {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(timeout_seconds),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(max_retries),
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def connect(tracking_uri: str, *, timeout_seconds: int = 5, max_retries: int = 0) -> str:
    """Check that ``tracking_uri`` is a working MLflow server and make it the active one.

    Accepts ``http(s)://`` URIs and SageMaker tracking server ARNs. Returns
    the URI. Raises TrackingServerError, before any experiment or run is
    created, when the URI is malformed, the plugin is missing or the server
    does not answer.
    """
    uri = tracking_uri.strip()
    if is_sagemaker_tracking_arn(uri):
        require_sagemaker_mlflow()
    elif not uri.startswith(("http://", "https://")):
        raise TrackingServerError(
            f"tracking_uri {tracking_uri!r} must be an http(s):// MLflow server URL "
            "or a SageMaker MLflow tracking server ARN."
        )
    import mlflow
    from mlflow.tracking import MlflowClient

    try:
        with _quick_http(timeout_seconds, max_retries):
            MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as exc:  # any failure here means: nothing usable at that URI
        raise TrackingServerError(
            f"Cannot reach the MLflow tracking server at {uri} ({reason(exc, uri)}). "
            "Start it (see docs/lab.md) or fix tracking_uri; nothing has been logged."
        ) from exc
    mlflow.set_tracking_uri(uri)
    return uri


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def reason(exc: BaseException, uri: str = "") -> str:
    """The cause of a failed request in a few words, whole: ``connection refused to 127.0.0.1:5000``.

    MLflow wraps the socket error in requests' and urllib3's exceptions, whose messages run
    to several hundred characters; the innermost cause is what a user can act on. Connection
    errors are recognised in the chain and in urllib3's message (which keeps the errno text
    when the exception objects are not chained).
    """
    from urllib.parse import urlparse

    address = urlparse(uri).netloc if uri else ""
    where = f" to {address}" if address else ""
    chain = _chain(exc)
    text = " ".join(str(item) for item in chain)
    for item in chain:
        if isinstance(item, ConnectionRefusedError) or "Connection refused" in str(item):
            return f"connection refused{where}"
    for item in chain:
        if isinstance(item, TimeoutError) or "timed out" in str(item).lower():
            return f"no answer{where} within the timeout"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return f"unknown host {address}".strip()
    innermost = chain[-1]
    message = " ".join(str(innermost).split()) or "no details"
    return f"{type(innermost).__name__}: {message}"


def check_client_version(server_version: str, client_version: str) -> None:
    """Refuse an MLflow client whose major.minor differs from the tracking server's.

    ``server_version`` is the settings file's ``mlflow_version`` (``2.16``, the
    version the server was deployed with); empty means unknown (a laptop's
    own server) and is not checked.
    """
    if not server_version:
        return
    client = ".".join(client_version.split(".")[:2])
    server = ".".join(server_version.split(".")[:2])
    if client != server:
        raise TrackingServerError(
            f"This kernel has mlflow {client_version} but the tracking server runs MLflow "
            f"{server_version}: install requirements.txt (install_requirements = True) and "
            "restart the kernel, or deploy the server version requirements.txt pins."
        )
