"""Remote mode through the real SageMaker SDK 2.232 (``.venv-studio``), up to CreateTrainingJob and back.

``remote_sdk_kernel.py`` plays the Studio kernel: pm_lab builds the ``@remote`` decorator from
the lab settings file, the notebook's own job functions are decorated with it and called.
AWS is a moto server (S3, STS, CloudWatch Logs) and botocore's Stubber for SageMaker, which
moto does not emulate. The CreateTrainingJob requests are checked for what the isolated VPC
needs; the job is then executed the way its container does it (the SDK's invoke_function,
from the workspace the SDK uploaded) against a real MLflow server, and its logging is read
back from that server.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import mlflow
import pytest
from emulator_support import start_moto
from lab_fixtures import TERRAFORM_SETTINGS
from mlflow.tracking import MlflowClient
from support import run_studio_python

REPO_ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = REPO_ROOT / "notebooks"
REGION = TERRAFORM_SETTINGS["region"]
STUDIO_IMAGE = "885854791233.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-distribution-prod:2.1-cpu"
KEEP_ALIVE = 900
ROUNDS = 150


@pytest.fixture(scope="module")
def remote_execution(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[dict[str, Any]]:
    from modules.studio_domain import codeartifact_login, sagemaker_sdk_config, to_yaml
    from pm_lab import synthetic

    root = tmp_path_factory.mktemp("remote-sdk")
    workdir = root / "lab"
    shutil.copytree(NOTEBOOKS, workdir, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    data_csv = synthetic.write_csv(synthetic.generate(rows=10_000, seed=42), root / "ai4i2020.csv")
    home = root / "home"
    (home / ".isolated-studio").mkdir(parents=True)
    # The settings the start script writes, pointing at the test's MLflow server instead of the ARN.
    settings = {**TERRAFORM_SETTINGS, "tracking_uri": mlflow_server}
    (home / ".isolated-studio" / "settings.json").write_text(json.dumps(settings))
    # The SDK configuration the JupyterLab start script writes (modules/studio_domain.py).
    sdk_config = sagemaker_sdk_config(
        bucket=TERRAFORM_SETTINGS["notebooks_bucket"],
        kms_key_arn=TERRAFORM_SETTINGS["kms_key_arn"],
        subnet_ids=TERRAFORM_SETTINGS["subnet_ids"],
        security_group_ids=TERRAFORM_SETTINGS["security_group_ids"],
        execution_role_arn=TERRAFORM_SETTINGS["execution_role_arn"],
        pre_execution_commands=[
            codeartifact_login(
                region=REGION,
                domain=TERRAFORM_SETTINGS["codeartifact_domain"],
                owner=TERRAFORM_SETTINGS["account_id"],
                repository=TERRAFORM_SETTINGS["codeartifact_repository"],
            )
        ],
    )
    (home / ".config" / "sagemaker").mkdir(parents=True)
    (home / ".config" / "sagemaker" / "config.yaml").write_text(to_yaml(sdk_config) + "\n")
    with start_moto(root / "moto.log") as moto:
        s3 = boto3.client(
            "s3", region_name=REGION, endpoint_url=moto.endpoint, aws_access_key_id="test", aws_secret_access_key="test"
        )
        s3.create_bucket(
            Bucket=TERRAFORM_SETTINGS["notebooks_bucket"], CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        # What deploy uploads: the notebook reads its data_uri from there.
        s3.upload_file(str(data_csv), TERRAFORM_SETTINGS["notebooks_bucket"], "data/ai4i2020.csv")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SAGEMAKER_", "MLFLOW_"))}
        env.update(
            {
                "HOME": str(home),
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL": moto.endpoint,  # every service but SageMaker (stubbed) goes to moto
                "SAGEMAKER_INTERNAL_IMAGE_URI": STUDIO_IMAGE,  # what a Studio JupyterLab app sets
            }
        )
        arguments = json.dumps({"workdir": str(workdir), "keep_alive": KEEP_ALIVE, "n_estimators": ROUNDS})
        output = run_studio_python(
            (Path(__file__).parent / "remote_sdk_kernel.py").read_text(), arguments, env=env, timeout=900
        )
        marker = "PM-LAB-REPORT "
        assert marker in output, output[-3000:]
        report = json.loads(output.rsplit(marker, 1)[1].strip().splitlines()[0])
        report["s3_keys"] = [
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=TERRAFORM_SETTINGS["notebooks_bucket"])
            for item in page.get("Contents", [])
        ]
    report["mlflow"] = MlflowClient(tracking_uri=mlflow_server)
    previous_uri = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server)  # proxied artifacts resolve against the global URI
    try:
        yield report
    finally:
        mlflow.set_tracking_uri(previous_uri)


def test_jobs_run_in_the_vpc_with_our_role_key_image_and_warm_pool(remote_execution: dict[str, Any]) -> None:
    requests = remote_execution["requests"]
    assert len(requests) == 3  # preprocessing, tuning, then training
    key = TERRAFORM_SETTINGS["kms_key_arn"]
    root = TERRAFORM_SETTINGS["remote_s3_root_uri"]
    for request in requests:
        name = request["TrainingJobName"]
        assert name.startswith("pm-lab-")
        assert request["VpcConfig"] == {
            "Subnets": TERRAFORM_SETTINGS["subnet_ids"],
            "SecurityGroupIds": TERRAFORM_SETTINGS["security_group_ids"],
        }
        assert request["RoleArn"] == TERRAFORM_SETTINGS["execution_role_arn"]
        assert request["AlgorithmSpecification"]["TrainingImage"] == STUDIO_IMAGE
        assert request["OutputDataConfig"] == {"S3OutputPath": f"{root}/{name}", "KmsKeyId": key}
        assert request["ResourceConfig"]["VolumeKmsKeyId"] == key
        assert request["ResourceConfig"]["InstanceType"] == "ml.m5.large"
        assert request["ResourceConfig"]["KeepAlivePeriodInSeconds"] == KEEP_ALIVE
        assert request["Environment"]["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"
        channels = [channel["DataSource"]["S3DataSource"]["S3Uri"] for channel in request["InputDataConfig"]]
        assert channels and all(uri.startswith(f"{root}/{name}/") for uri in channels)
        arguments = request["AlgorithmSpecification"]["ContainerArguments"]
        assert arguments[arguments.index("--s3_kms_key") + 1] == key
    # Everything the SDK staged is under the lab's remote-functions/ prefix: no default bucket.
    staged = [key for key in remote_execution["s3_keys"] if key != "data/ai4i2020.csv"]
    assert staged and all(key.startswith("remote-functions/") for key in staged)


def test_jobs_log_in_to_codeartifact_first_and_carry_the_lab_package(remote_execution: dict[str, Any]) -> None:
    login = (
        f"aws codeartifact login --tool pip --domain {TERRAFORM_SETTINGS['codeartifact_domain']} "
        f"--domain-owner {TERRAFORM_SETTINGS['codeartifact_domain_owner']} "
        f"--repository {TERRAFORM_SETTINGS['codeartifact_repository']} --region {REGION}"
    )
    for job in remote_execution["jobs"]:
        assert login in job["pre_exec"]
        assert {"pm_lab/jobs.py", "pm_lab/training.py", "requirements.txt"} <= set(job["workspace"])


def test_sdk_telemetry_is_off(remote_execution: dict[str, Any]) -> None:
    assert remote_execution["telemetry"] == []


def test_the_job_logs_to_the_kernels_run_and_returns_its_result(remote_execution: dict[str, Any]) -> None:
    for job in remote_execution["jobs"]:
        assert job["returncode"] == 0, job["stderr"]
    client: MlflowClient = remote_execution["mlflow"]
    (preprocessing_job, tuning_job, training_job) = [
        request["TrainingJobName"] for request in remote_execution["requests"]
    ]

    preprocessing = client.get_run(remote_execution["runs"]["preprocessing"])
    assert preprocessing.data.tags["pm_lab.job_name"] == preprocessing_job
    assert preprocessing.data.tags["pm_lab.executed_in"] == "sagemaker-job"
    assert preprocessing.data.metrics["train_rows"] == 8000
    assert [a.path for a in client.list_artifacts(preprocessing.info.run_id, "preprocessing")] == [
        "preprocessing/features.json"
    ]

    training = client.get_run(remote_execution["runs"]["training"])
    assert training.data.tags["pm_lab.job_name"] == training_job
    assert len(client.get_metric_history(training.info.run_id, "validation_roc_auc")) == ROUNDS
    assert len(client.get_metric_history(training.info.run_id, "validation_log_loss")) == ROUNDS
    assert {a.path for a in client.list_artifacts(training.info.run_id, "training")} == {
        "training/feature_importance.json",
        "training/feature_importance.png",
        "training/training_curves.png",
        "training/reliability.png",
    }
    # The tuning job opened one nested run per candidate from inside the job.
    tuning = client.get_run(remote_execution["runs"]["tuning"])
    assert tuning.data.tags["pm_lab.job_name"] == tuning_job
    trials = client.search_runs(
        [tuning.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{tuning.info.run_id}'"
    )
    assert len(trials) == remote_execution["result"]["trials"] == 8
    threshold = remote_execution["result"]["threshold"]
    assert float(training.data.params["decision_threshold"]) == pytest.approx(threshold)
    assert training.data.metrics["validation_recall"] >= 0.85
    # What the job returned came back to the kernel through S3.
    assert remote_execution["result"]["sizes"] == {"train": 8000, "validation": 1000, "test": 1000}
    assert remote_execution["result"]["steps"] == ["features", "preprocess", "classifier"]
    assert {run.info.status for run in (preprocessing, training)} == {"FINISHED"}


def test_the_notebook_in_remote_mode_runs_to_the_end_with_only_the_settings_file(
    remote_execution: dict[str, Any],
) -> None:
    """execution_mode = "remote" and nothing else: data from S3, jobs, model, evaluation."""
    client: MlflowClient = remote_execution["mlflow"]
    assert {"preprocessing", "baselines", "tuning", "training", "evaluation"} <= set(remote_execution["runs"])
    evaluation = client.get_run(remote_execution["runs"]["evaluation"])
    raw = client.get_run(remote_execution["runs"]["preprocessing"]).inputs.dataset_inputs[0].dataset
    assert TERRAFORM_SETTINGS["data_uri"] in raw.source  # read from the bucket, as in Studio
    metrics = remote_execution["result"]["test_metrics"]
    assert metrics["recall"] >= 0.8 and metrics["roc_auc"] > 0.95
    assert evaluation.data.metrics["test_recall"] == pytest.approx(metrics["recall"])
    assert remote_execution["result"]["registered"] == "models:/predictive-maintenance-xgboost/1"
    assert remote_execution["result"]["alias"] == "champion"
