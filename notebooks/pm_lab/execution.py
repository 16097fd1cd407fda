"""Running the notebook's job functions in-process or as SageMaker jobs.

``local`` calls the functions directly. ``remote`` wraps them with the
SageMaker SDK's ``@remote`` decorator (``sagemaker.remote_function.remote``):
each call becomes a SageMaker training job in the private subnets with the
Studio security group, with the CodeArtifact login as a pre-execution
command so the job can ``pip install`` the lab's requirements without
internet. Arguments and results travel pickled through S3 (encrypted with
the lab's key); the job functions log to the kernel's MLflow run from inside
the job (:mod:`pm_lab.jobs`).

Every setting is passed to ``@remote`` explicitly, from the lab settings
file: the SDK's own configuration file (written at app start) is only a
backstop. SDK telemetry is switched off for the decorator's session.

The SageMaker SDK is only imported in remote mode: it is not part of the
local environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pm_lab.errors import RemoteExecutionError

EXECUTION_MODES: tuple[str, ...] = ("local", "remote")
#: Set in Studio apps to the app's image (SageMaker Distribution): the image with the
#: kernel's Python and libraries, which the SDK would also pick by itself.
STUDIO_IMAGE_ENV = "SAGEMAKER_INTERNAL_IMAGE_URI"
#: botocore before 1.36 sends STS to the global endpoint, which the VPC has no endpoint for
#: (the image's 1.43 is regional by default; the job may run an older one, so it is set).
JOB_ENVIRONMENT = {"AWS_STS_REGIONAL_ENDPOINTS": "regional"}

#: Turns a job function into the callable the notebook invokes (same signature).
Runner = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass(frozen=True)
class RemoteSettings:
    """What ``@remote`` needs to run a job inside the isolated VPC.

    ``include_local_workdir`` uploads the notebook folder's Python files,
    which is how the job imports ``pm_lab``; ``dependencies`` is the pinned
    requirements file so the job unpickles with the same library versions
    as the kernel. ``image_uri`` is the job's container image (see
    :func:`job_image_uri`); ``keep_alive_period_in_seconds`` > 0 keeps the
    instance as a warm pool for the next matching job (billable, and needs
    a warm-pool quota for the instance type).
    """

    subnets: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    dependencies: str
    pre_execution_commands: tuple[str, ...] = ()
    instance_type: str = "ml.m5.large"
    s3_root_uri: str | None = None
    role: str | None = None
    job_name_prefix: str = "pm-lab"
    image_uri: str | None = None
    kms_key_arn: str | None = None
    keep_alive_period_in_seconds: int = 0

    def remote_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``sagemaker.remote_function.remote``."""
        if not self.subnets or not self.security_group_ids:
            raise RemoteExecutionError("Remote jobs need the domain's subnets and security groups to run in the VPC.")
        if not 0 <= self.keep_alive_period_in_seconds <= 3600:
            raise RemoteExecutionError(
                "keep_alive_period_in_seconds must be between 0 (no warm pool) and 3600, "
                f"got {self.keep_alive_period_in_seconds}."
            )
        kwargs: dict[str, Any] = {
            "instance_type": self.instance_type,
            "keep_alive_period_in_seconds": self.keep_alive_period_in_seconds,
            "environment_variables": dict(JOB_ENVIRONMENT),
            "subnets": list(self.subnets),
            "security_group_ids": list(self.security_group_ids),
            "dependencies": self.dependencies,
            "pre_execution_commands": list(self.pre_execution_commands),
            "include_local_workdir": True,
            "job_name_prefix": self.job_name_prefix,
        }
        if self.s3_root_uri:
            kwargs["s3_root_uri"] = self.s3_root_uri
        if self.role:
            kwargs["role"] = self.role
        if self.image_uri:
            kwargs["image_uri"] = self.image_uri
        if self.kms_key_arn:
            kwargs["s3_kms_key"] = self.kms_key_arn
            kwargs["volume_kms_key"] = self.kms_key_arn
        return kwargs


def job_image_uri(image_uri: str = "", environ: dict[str, str] | None = None) -> str:
    """The jobs' image: the explicit parameter, else this Studio app's image.

    The Studio image has the kernel's Python and libraries, which the job
    needs to unpickle the kernel's objects. Outside Studio there is no such
    default (the SDK would fall back to a base image of another Python
    version), so an explicit image is required.
    """
    environ = os.environ if environ is None else environ
    chosen = image_uri.strip() or environ.get(STUDIO_IMAGE_ENV, "").strip()
    if not chosen:
        raise RemoteExecutionError(
            f"No image for the remote jobs: set remote_image_uri in the parameters cell "
            f"(an ECR image with Python {_python_version()} and requirements.txt's libraries), "
            f"or run in a Studio JupyterLab app, where {STUDIO_IMAGE_ENV} names the app's image."
        )
    return chosen


def _python_version() -> str:
    import sys

    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def sagemaker_session(boto_session: Any = None, sagemaker_client: Any = None) -> Any:
    """A SageMaker SDK session with the SDK's configuration files and telemetry switched off.

    The SDK 2.232 ``@remote`` decorator reports usage to an AWS endpoint
    unless ``SageMaker.PythonSDK.Modules.TelemetryOptOut`` is true in the
    session's configuration: from an isolated network that is a request the
    lab has no reason to make.
    """
    import sagemaker
    from sagemaker.config import load_sagemaker_config

    config = load_sagemaker_config() or {}
    modules = config.setdefault("SageMaker", {}).setdefault("PythonSDK", {}).setdefault("Modules", {})
    modules["TelemetryOptOut"] = True
    config.setdefault("SchemaVersion", "1.0")
    return sagemaker.Session(boto_session=boto_session, sagemaker_client=sagemaker_client, sagemaker_config=config)


def default_s3_root_uri(data_path: str) -> str | None:
    """Stage job data next to the input data when it is on S3.

    Without ``s3_root_uri`` the SDK uses (and may try to create) the
    account's ``sagemaker-<region>-<account>`` bucket; the notebooks bucket
    that holds the data is already readable and writable by the execution
    role, so jobs use a ``remote-functions/`` prefix there instead.
    """
    if not data_path.startswith("s3://"):
        return None
    bucket = data_path[len("s3://") :].split("/", 1)[0]
    return f"s3://{bucket}/remote-functions" if bucket else None


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is a known execution mode, else raise with the choices."""
    if mode not in EXECUTION_MODES:
        raise RemoteExecutionError(f"execution_mode must be one of {list(EXECUTION_MODES)}, got {mode!r}.")
    return mode


def load_remote_decorator() -> Callable[..., Any]:
    """Import ``sagemaker.remote_function.remote``, explaining how to get it if missing."""
    try:
        from sagemaker.remote_function import remote
    except ImportError as exc:
        raise RemoteExecutionError(
            "execution_mode='remote' needs the SageMaker Python SDK 2.x "
            "(`pip install -r requirements.txt` in Studio installs it); "
            "use execution_mode='local' to run the steps in this kernel."
        ) from exc
    return remote


def make_runner(mode: str, settings: RemoteSettings | None = None, session: Any = None) -> Runner:
    """The decorator the notebook puts on its job functions.

    Local mode returns the function unchanged; remote mode returns it
    wrapped by ``@remote`` with the VPC settings and a telemetry-free
    ``session`` (default: :func:`sagemaker_session`), so calling it starts a
    job and blocks until its result is back. Job functions take positional
    or keyword parameters only: SDK 2.232 fails on keyword-only ones.
    """
    if check_mode(mode) == "local":
        return lambda function: function
    if settings is None:
        raise RemoteExecutionError("execution_mode='remote' needs RemoteSettings.")
    remote = load_remote_decorator()
    kwargs = settings.remote_kwargs()
    kwargs["sagemaker_session"] = session if session is not None else sagemaker_session()
    return lambda function: remote(function, **kwargs)
