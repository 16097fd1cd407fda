"""Run the notebook's Studio code path and record every AWS API call it makes.

Two modes, each run by tests/integration/aws/test_studio_calls.py with the interpreter that has the code:

* ``notebook`` (``.venv-studio``: the SageMaker SDK, boto3 and the lab's pins): the cells of
  ``notebooks/private-mlflow.ipynb`` in Studio with ``execution_mode = "remote"``, through
  ``pm_lab`` as the cells call it: the settings file the start script writes, the CodeArtifact
  repository and the pip login command, the tracking server (by the settings' ARN, and by the
  domain tag as without settings), the MLflow UI link, the data set read from S3, the job network
  (the settings', and the domain's), and one ``@remote`` job (``pm_lab.preprocessing.preprocess``)
  through the real SDK, which also reads the SDK configuration the start script writes
  (``SAGEMAKER_USER_CONFIG_OVERRIDE``). The MLflow logging itself is not botocore: its
  ``sagemaker-mlflow`` actions are scenarios of their own.
* ``cli`` (``.venv-awscli``): the AWS CLI's ``codeartifact login --tool pip --dry-run`` with the
  notebook's own arguments, in process.

S3, STS and CloudWatch Logs are the moto server at ``--moto`` (``AWS_ENDPOINT_URL_*``, set by
the test). SageMaker and CodeArtifact, which moto does not emulate, get stubbed responses: a
``before-call`` handler answers them, after botocore has validated the request against the
service model. The training job's runtime is the SDK's own (``StoredFunction.load_and_invoke``
on the uploaded function and arguments), run when the stub sees ``CreateTrainingJob``; its calls
are not the kernel's and are not recorded.

Every botocore session created in the process gets the recorder, so the calls of clients the
SDK and the notebook create themselves are recorded. Output (``--out``): JSON with ``calls``,
the sorted (service, operation) pairs, and ``login`` (the pip login argv the notebook runs).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import botocore.session

RECORDED: set[tuple[str, str]] = set()
STATE: dict[str, Any] = {"recording": True, "jobs": {}}
WORLD = {
    "region": "us-west-2",
    "domain_id": "d-abcdefghij12",
    "server": "studio-dev-mlflow",
    "subnets": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
    "security_groups": ["sg-0123456789abcdef0"],
}


def _account() -> str:
    return os.environ.get("DRIVER_ACCOUNT", "123456789012")  # moto answers as this account


def _server_arn() -> str:
    return f"arn:aws:sagemaker:{WORLD['region']}:{_account()}:mlflow-tracking-server/{WORLD['server']}"


def _sagemaker(operation: str, params: dict) -> dict:
    now = time.time()
    if operation == "DescribeMlflowTrackingServer":
        return {
            "TrackingServerArn": _server_arn(),
            "TrackingServerName": params["TrackingServerName"],
            "TrackingServerStatus": "Created",
            "IsActive": "Active",
            "TrackingServerUrl": f"https://t-1.{WORLD['region']}.experiments.sagemaker.aws",
        }
    if operation == "CreatePresignedMlflowTrackingServerUrl":
        return {"AuthorizedUrl": f"https://t-1.{WORLD['region']}.experiments.sagemaker.aws/auth?authToken=x"}
    if operation == "DescribeDomain":
        return {
            "DomainId": params["DomainId"],
            "VpcId": "vpc-0123456789abcdef0",
            "SubnetIds": WORLD["subnets"],
            "DefaultUserSettings": {"SecurityGroups": WORLD["security_groups"]},
            "Status": "InService",
        }
    if operation == "CreateTrainingJob":
        STATE["jobs"][params["TrainingJobName"]] = params
        _run_job(params)
        return {
            "TrainingJobArn": f"arn:aws:sagemaker:{WORLD['region']}:{_account()}:training-job/"
            f"{params['TrainingJobName']}"
        }
    if operation == "DescribeTrainingJob":
        request = STATE["jobs"][params["TrainingJobName"]]
        return {
            **{
                k: request[k]
                for k in (
                    "TrainingJobName",
                    "RoleArn",
                    "OutputDataConfig",
                    "ResourceConfig",
                    "StoppingCondition",
                    "AlgorithmSpecification",
                    "Environment",
                )
            },
            "TrainingJobArn": f"arn:aws:sagemaker:{WORLD['region']}:{_account()}:training-job/"
            f"{params['TrainingJobName']}",
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "CreationTime": now,
            "TrainingStartTime": now,
            "TrainingEndTime": now,
            "ModelArtifacts": {"S3ModelArtifacts": ""},
        }
    raise AssertionError(f"the driver has no stubbed answer for sagemaker:{operation}; add one")


def _codeartifact(operation: str, params: dict) -> dict:
    if operation == "GetRepositoryEndpoint":
        return {
            "repositoryEndpoint": f"https://{params['domain']}-{params['domainOwner']}.d.codeartifact."
            f"{WORLD['region']}.amazonaws.com/pypi/{params['repository']}/"
        }
    if operation == "GetAuthorizationToken":
        return {"authorizationToken": "token", "expiration": time.time() + 3600}
    raise AssertionError(f"the driver has no stubbed answer for codeartifact:{operation}; add one")


STUBS = {"sagemaker": _sagemaker, "codeartifact": _codeartifact}


def _remember_params(params: dict, context: dict, **_: Any) -> None:
    context["driver_api_params"] = dict(params)


def _answer(model: Any, context: dict, **_: Any):
    """Record the call; answer it when moto does not emulate the service."""
    prefix = model.service_model.signing_name  # the IAM service prefix: sagemaker, s3, sts, ...
    if STATE["recording"]:
        RECORDED.add((prefix, model.name))
    stub = STUBS.get(prefix)
    if stub is None:
        return None
    import botocore.awsrequest

    body = stub(model.name, context.get("driver_api_params", {}))
    return botocore.awsrequest.AWSResponse("https://stub.invalid", 200, {}, None), body


_original_init = botocore.session.Session.__init__


def _init(self, *args: Any, **kwargs: Any) -> None:
    """Every botocore session of the process (boto3's, the SDK's, the notebook's) records."""
    _original_init(self, *args, **kwargs)
    self.register("provide-client-params", _remember_params)
    self.register("before-call", _answer)


botocore.session.Session.__init__ = _init


def _run_job(request: dict) -> None:
    """The job's runtime, as the SDK's own container entry point does it (not recorded)."""
    from sagemaker.remote_function.core.stored_function import StoredFunction
    from sagemaker.session import Session

    STATE["recording"] = False
    try:
        StoredFunction(
            sagemaker_session=Session(),
            s3_base_uri=request["OutputDataConfig"]["S3OutputPath"],
            hmac_key=request["Environment"]["REMOTE_FUNCTION_SECRET_KEY"],
        ).load_and_invoke()
    finally:
        STATE["recording"] = True


def notebook(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebooks"))
    import boto3

    from pm_lab import execution, settings, studio
    from pm_lab.data import load_dataset
    from pm_lab.preprocessing import preprocess

    # The world the notebook meets: our bucket with the data set, and the settings file the
    # JupyterLab start script writes (set up, not recorded).
    STATE["recording"] = False
    s3 = boto3.session.Session(region_name=WORLD["region"]).client("s3")
    s3.create_bucket(Bucket=args.bucket, CreateBucketConfiguration={"LocationConstraint": WORLD["region"]})
    s3.put_object(Bucket=args.bucket, Key="data/ai4i2020.csv", Body=Path(args.data).read_bytes())
    settings.default_path().parent.mkdir(parents=True, exist_ok=True)
    settings.default_path().write_text(
        json.dumps(
            {
                "schema_version": 1,
                "region": WORLD["region"],
                "account_id": _account(),
                "codeartifact_domain": "studio-dev",
                "codeartifact_domain_owner": _account(),
                "codeartifact_repository": "pip",
                "tracking_server_arn": _server_arn(),
                "mlflow_version": "2.16",
                "notebooks_bucket": args.bucket,
                "data_uri": f"s3://{args.bucket}/data/ai4i2020.csv",
                "remote_s3_root_uri": f"s3://{args.bucket}/remote-functions",
                "kms_key_arn": args.kms_key,
                "subnet_ids": WORLD["subnets"],
                "security_group_ids": WORLD["security_groups"],
                "execution_role_arn": args.role,
            }
        )
    )
    STATE["recording"] = True

    # Cell 3: the parameters left empty, filled from the settings file.
    lab_settings = settings.load()
    p = settings.fill(
        lab_settings,
        tracking_uri="",
        tracking_server_arn="",
        data_path="",
        region="",
        codeartifact_domain="",
        codeartifact_repository="",
        codeartifact_domain_owner="",
        remote_s3_root_uri="",
    )
    domain_id = WORLD["domain_id"]
    # Cell 5: CodeArtifact and the pip login (its AWS CLI calls: the `cli` mode).
    repository = studio.codeartifact_repository(
        domain=p["codeartifact_domain"],
        repository=p["codeartifact_repository"],
        owner=p["codeartifact_domain_owner"],
        region=p["region"],
        sts_client_factory=studio.cli_sts_client,
    )
    login: list[list[str]] = []
    studio.pip_login(repository, run=lambda argv, **_: login.append(list(argv)) or _Done())
    # Cell 7: the tracking server from the settings (without them there is none to look up: the
    # server carries no domain tag).
    session = boto3.session.Session(region_name=p["region"])
    tracking_uri = studio.resolve_tracking_uri(
        tracking_uri="",
        tracking_server_arn=p["tracking_server_arn"],
        on_aws=True,
        sagemaker_client_factory=lambda: session.client("sagemaker"),
    )
    # Without settings the owner is the caller's account and the pip endpoint is checked first.
    studio.codeartifact_pypi_endpoint(session.client("codeartifact"), repository)
    # Cell 9: the MLflow UI link.
    studio.mlflow_ui_url(tracking_uri, lambda: session.client("sagemaker"))
    # Cell 11: the data set from S3.
    frame = load_dataset(p["data_path"], s3_client=session.client("s3"))
    # Cell 13: @remote in the VPC of the settings (without them, the domain's).
    network = studio.job_network(
        subnet_ids=lab_settings.subnet_ids,
        security_group_ids=lab_settings.security_group_ids,
        domain_id=domain_id,
        sagemaker_client_factory=lambda: session.client("sagemaker"),
    )
    studio.job_network(
        subnet_ids=(),
        security_group_ids=(),
        domain_id=domain_id,
        sagemaker_client_factory=lambda: session.client("sagemaker"),
    )
    requirements = Path(args.workdir) / "requirements.txt"
    requirements.write_text("pandas\n")
    remote_settings = execution.RemoteSettings(
        subnets=network.subnets,
        security_group_ids=network.security_groups,
        dependencies=str(requirements),
        pre_execution_commands=(studio.codeartifact_login_shell(repository),),
        s3_root_uri=p["remote_s3_root_uri"] or execution.default_s3_root_uri(p["data_path"]),
        role=lab_settings.execution_role_arn or None,
        image_uri=execution.job_image_uri(""),
        kms_key_arn=lab_settings.kms_key_arn or None,
        keep_alive_period_in_seconds=0,
    )
    job = execution.make_runner("remote", remote_settings, session=execution.sagemaker_session(session))
    # Cells 15-16: one job (the preprocessing step's function), through the real SDK.
    result = job(preprocess)(frame, 42)
    assert sum(result.splits.sizes().values()) == len(frame), "the job's result did not come back"
    request = next(iter(STATE["jobs"].values()))
    return {
        "login": login[0],
        "job": {k: request.get(k) for k in ("VpcConfig", "OutputDataConfig", "RoleArn")},
        "job_volume_kms": request["ResourceConfig"].get("VolumeKmsKeyId"),
    }


class _Done:
    returncode = 0
    stdout = stderr = ""


def cli(args: argparse.Namespace) -> dict:
    """The AWS CLI's codeartifact login, in process, with its own botocore."""
    from awscli.clidriver import create_clidriver

    driver = create_clidriver()
    out = io.StringIO()
    stdout, sys.stdout = sys.stdout, out
    try:
        rc = driver.main([*json.loads(args.argv_json), "--dry-run"])
    finally:
        sys.stdout = stdout
    if rc != 0:
        raise AssertionError(f"aws {args.argv_json} exited {rc}: {out.getvalue()}")
    return {"printed": out.getvalue()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["notebook", "cli"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--bucket", default="")
    parser.add_argument("--data", default="")
    parser.add_argument("--workdir", default=".")
    parser.add_argument("--kms-key", default="")
    parser.add_argument("--role", default="")
    parser.add_argument("--argv-json", default="[]", help="cli mode: the command's arguments after 'aws', as JSON")
    args = parser.parse_args()
    time.sleep = lambda seconds: None  # the SDK polls the (stubbed) job every few seconds
    result = notebook(args) if args.mode == "notebook" else cli(args)
    Path(args.out).write_text(json.dumps({"calls": sorted(RECORDED), **result}, indent=1))


if __name__ == "__main__":
    main()
