"""The notebook's remote mode in the Studio-pinned environment, through the real SageMaker SDK.

Run by ``test_lab_remote_sdk.py`` with ``.venv-studio``'s interpreter, in a copy of the lab
folder, with HOME holding the lab settings and the SDK configuration the start script writes
and AWS_ENDPOINT_URL pointing at a moto server (S3, STS, CloudWatch Logs). It plays the
kernel: it builds the ``@remote`` decorator with pm_lab exactly as the notebook does, defines
the notebook's own job functions (the cells tagged ``job-function``) and calls them. The SDK
validates the job settings, uploads the function, arguments, workspace and pre-execution
script to S3 (moto) and sends CreateTrainingJob, which botocore's Stubber answers; the
request is recorded, and the job is then run the way the job's container runs it (the SDK's
``sagemaker.remote_function.invoke_function`` with the request's arguments and environment,
in the uploaded workspace) against the real MLflow server. DescribeTrainingJob answers
Completed, and the SDK reads the job's result back from S3. Prints one JSON line.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timezone
from pathlib import Path

args = json.loads(sys.argv[1])
workdir = Path(args["workdir"])
os.chdir(workdir)
sys.path.insert(0, str(workdir))

import boto3  # noqa: E402
import mlflow  # noqa: E402
import nbformat  # noqa: E402
import sagemaker.telemetry.telemetry_logging as telemetry  # noqa: E402
from botocore.stub import Stubber  # noqa: E402

telemetry_sent: list[str] = []
telemetry._send_telemetry_request = lambda *a, **k: telemetry_sent.append(repr(a[-1]))  # would go to AWS

from pm_lab import settings  # noqa: E402

lab = settings.load()
assert lab is not None, "no settings file in HOME"
boto_session = boto3.Session(region_name=lab.region)
sagemaker_client = boto_session.client("sagemaker")
stubber = Stubber(sagemaker_client)
requests: list[dict] = []
jobs_run: list[dict] = []
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _s3_bucket_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def run_job_locally(request: dict) -> None:
    """What the job's container does after its bootstrap: invoke_function in the workspace."""
    s3 = boto_session.client("s3")
    bucket, prefix = _s3_bucket_key(request["OutputDataConfig"]["S3OutputPath"])
    job_dir = workdir.parent / "job" / request["TrainingJobName"]
    job_dir.mkdir(parents=True)
    workspace = s3.get_object(Bucket=bucket, Key=f"{prefix}/sm_rf_user_ws/workspace.zip")["Body"].read()
    archive = zipfile.ZipFile(io.BytesIO(workspace))
    archive.extractall(job_dir)
    # job_driver.sh changes into the unpacked workspace before invoking the function.
    job_workspace = job_dir / "sagemaker_remote_function_workspace"
    environment = {
        **os.environ,
        **request["Environment"],
        "TRAINING_JOB_NAME": request["TrainingJobName"],  # SageMaker sets it in every training container
        "PYTHONPATH": str(job_workspace),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sagemaker.remote_function.invoke_function",
            *request["AlgorithmSpecification"]["ContainerArguments"],
        ],
        cwd=job_workspace,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    jobs_run.append(
        {
            "name": request["TrainingJobName"],
            "returncode": result.returncode,
            "stderr": result.stderr[-3000:],
            "workspace": sorted(name.split("/", 1)[1] for name in archive.namelist() if "/" in name),
            "pre_exec": archive.read("sagemaker_remote_function_workspace/pre_exec.sh").decode(),
        }
    )
    stubber.add_response(
        "create_training_job",
        {
            "TrainingJobArn": f"arn:aws:sagemaker:{lab.region}:"
            f"{lab.account_id}:training-job/{request['TrainingJobName']}"
        },
    )
    status = "Completed" if result.returncode == 0 else "Failed"
    stubber.add_response(
        "describe_training_job",
        {
            "TrainingJobName": request["TrainingJobName"],
            "TrainingJobArn": f"arn:aws:sagemaker:{lab.region}:{lab.account_id}:training-job/{request['TrainingJobName']}",
            "ModelArtifacts": {"S3ModelArtifacts": request["OutputDataConfig"]["S3OutputPath"]},
            "TrainingJobStatus": status,
            "SecondaryStatus": status,
            "AlgorithmSpecification": request["AlgorithmSpecification"],
            "ResourceConfig": request["ResourceConfig"],
            "StoppingCondition": request["StoppingCondition"],
            "OutputDataConfig": request["OutputDataConfig"],
            "Environment": request["Environment"],
            "RoleArn": request["RoleArn"],
            "CreationTime": NOW,
            **({"FailureReason": "job failed: " + result.stderr[-500:]} if status == "Failed" else {}),
        },
    )


def record(params: dict, **kwargs) -> None:
    requests.append(json.loads(json.dumps(params, default=str)))
    run_job_locally(params)


sagemaker_client.meta.events.register("provide-client-params.sagemaker.CreateTrainingJob", record)
stubber.activate()

# The notebook itself, cell by cell, as a kernel in Studio runs it with execution_mode = "remote"
# and nothing else set (install_requirements off: no CodeArtifact here), IPython magics dropped.
real_session_class = boto3.session.Session


class StudioSession(real_session_class):
    """boto3's session with the one client moto lacks answered by the Stubber above."""

    def client(self, service_name, *args, **kwargs):
        if service_name == "sagemaker":
            return sagemaker_client
        return super().client(service_name, *args, **kwargs)


boto3.session.Session = StudioSession
notebook = nbformat.read(workdir / "private-mlflow.ipynb", as_version=4)
namespace: dict = {"__name__": "__main__"}
for cell in notebook.cells:
    if cell.cell_type != "code":
        continue
    source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
    if "parameters" in cell.metadata.get("tags", []):
        source += "\nexecution_mode = 'remote'"
        source += f"\nn_estimators = {args['n_estimators']}"
        source += f"\nremote_keep_alive_period_in_seconds = {args['keep_alive']}"
        # No CodeArtifact here: the setup builds the repository settings (the jobs' login) but
        # neither logs pip in nor builds the lab's kernel; this interpreter is that kernel.
        source += "\ninstall_requirements = False"
    exec(compile(source, "<notebook cell>", "exec"), namespace)
stubber.assert_no_pending_responses()

runs = {
    run.info.run_name: run.info.run_id
    for run in mlflow.search_runs(experiment_names=[namespace["experiment_name"]], output_format="list")
}
print(
    "PM-LAB-REPORT "
    + json.dumps(
        {
            "requests": requests,
            "jobs": jobs_run,
            "telemetry": telemetry_sent,
            "runs": runs,
            "result": {
                "sizes": namespace["prepared"].splits.sizes(),
                "threshold": namespace["trained"].decision_threshold,
                "steps": [name for name, _ in namespace["fitted"].model.pipeline.steps],
                "trials": len(namespace["trials"]),
                "alias": namespace["promotion"].alias,
                "test_metrics": namespace["evaluation"].metrics,
                "registered": namespace["trained"].registry_uri,
            },
        }
    )
)
