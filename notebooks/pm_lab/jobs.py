"""Logging to the notebook's MLflow run from inside a job.

The notebook opens each run in the kernel and hands the job function a
:class:`RunHandle` (tracking URI and run id: plain strings that travel
pickled to a SageMaker job). Inside the job, :func:`resume` makes that run
the active MLflow run again, so the job's ``mlflow.log_*`` calls land in the
same run as the kernel's. In a SageMaker job the tracking URI is the
tracking server's ARN, reached from the private subnets through the VPC's
``experiments`` endpoint with the job's role; that the logging arrives at
all proves the path works. In local mode the job function runs in the
kernel while the run is already active there; :func:`resume` then only
adds the tags.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: Set by SageMaker in every training job's container (what @remote jobs are).
JOB_NAME_ENV = "TRAINING_JOB_NAME"
JOB_NAME_TAG = "pm_lab.job_name"
EXECUTED_IN_TAG = "pm_lab.executed_in"
#: MLflow's limit on metrics per log_batch request.
BATCH_LIMIT = 1000


@dataclass(frozen=True)
class RunHandle:
    """What a job needs to log to an existing MLflow run."""

    tracking_uri: str
    run_id: str


def handle(run: Any) -> RunHandle:
    """The handle of an active run (``mlflow.start_run()``'s result), for the job function."""
    import mlflow

    return RunHandle(tracking_uri=mlflow.get_tracking_uri(), run_id=run.info.run_id)


def current_job_name() -> str | None:
    """The SageMaker training job this code runs in, or None in the kernel."""
    return os.environ.get(JOB_NAME_ENV) or None


@contextmanager
def resume(run: RunHandle) -> Iterator[Any]:
    """Make ``run`` the active MLflow run for the ``mlflow.log_*`` calls inside the block.

    In a job: connects to ``run.tracking_uri`` and resumes the run by id,
    tagged with the job's name; the run is ended (FINISHED, or FAILED on an
    exception) when the block ends, and the kernel's own block ends it again
    afterwards. In the kernel (local mode) the run is already active and is
    left to the kernel's ``with`` block.
    """
    import mlflow

    job_name = current_job_name()
    tags = {EXECUTED_IN_TAG: "sagemaker-job" if job_name else "notebook-kernel"}
    if job_name:
        tags[JOB_NAME_TAG] = job_name
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run.run_id:
        mlflow.set_tags(tags)
        yield active
        return
    mlflow.set_tracking_uri(run.tracking_uri)
    with mlflow.start_run(run_id=run.run_id) as resumed:
        mlflow.set_tags(tags)
        yield resumed


def log_metric_history(history: dict[str, list[float]]) -> None:
    """Log per-round values as MLflow metric history (step = round) on the active run.

    One ``log_batch`` request per 1,000 values instead of one request per
    value: from a job behind a VPC endpoint, 600 single calls take long.
    """
    import time

    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    run_id = mlflow.active_run().info.run_id
    now = int(time.time() * 1000)
    metrics = [
        Metric(key=name, value=float(value), timestamp=now, step=step)
        for name, values in history.items()
        for step, value in enumerate(values)
    ]
    client = MlflowClient()
    for start in range(0, len(metrics), BATCH_LIMIT):
        client.log_batch(run_id, metrics=metrics[start : start + BATCH_LIMIT])
