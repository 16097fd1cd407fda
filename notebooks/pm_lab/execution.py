"""Running the preprocessing and training functions in-process or as SageMaker jobs.

``local`` calls the functions directly. ``remote`` wraps them with the
SageMaker SDK's ``@remote`` decorator (``sagemaker.remote_function.remote``):
each call becomes a SageMaker training job in the domain's private subnets,
with the CodeArtifact login as a pre-execution command so the job can
``pip install`` the lab's requirements without internet. Arguments and
results travel pickled through S3, which is why the job functions are pure
and the MLflow logging stays in the notebook kernel.

The SageMaker SDK is only imported in remote mode: it is not part of the
local environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pm_lab.errors import RemoteExecutionError

EXECUTION_MODES: tuple[str, ...] = ("local", "remote")

#: Turns a job function into the callable the notebook invokes (same signature).
Runner = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass(frozen=True)
class RemoteSettings:
    """What ``@remote`` needs to run a job inside the isolated VPC.

    ``include_local_workdir`` uploads the notebook folder's Python files,
    which is how the job imports ``pm_lab``; ``dependencies`` is the pinned
    requirements file so the job unpickles with the same library versions
    as the kernel.
    """

    subnets: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    dependencies: str
    pre_execution_commands: tuple[str, ...] = ()
    instance_type: str = "ml.m5.large"
    s3_root_uri: str | None = None
    role: str | None = None
    job_name_prefix: str = "pm-lab"

    def remote_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``sagemaker.remote_function.remote``."""
        if not self.subnets or not self.security_group_ids:
            raise RemoteExecutionError(
                "Remote jobs need the domain's subnets and security groups to run in the VPC."
            )
        kwargs: dict[str, Any] = {
            "instance_type": self.instance_type,
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
        return kwargs


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
        raise RemoteExecutionError(
            f"execution_mode must be one of {list(EXECUTION_MODES)}, got {mode!r}."
        )
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


def make_runner(mode: str, settings: RemoteSettings | None = None) -> Runner:
    """A function that turns a job function into the callable the notebook invokes.

    Local mode returns the function unchanged; remote mode returns it
    wrapped by ``@remote`` with the VPC settings, so calling it starts a job
    and blocks until its result is back.
    """
    if check_mode(mode) == "local":
        return lambda function: function
    if settings is None:
        raise RemoteExecutionError("execution_mode='remote' needs RemoteSettings.")
    remote = load_remote_decorator()
    kwargs = settings.remote_kwargs()
    return lambda function: remote(function, **kwargs)
