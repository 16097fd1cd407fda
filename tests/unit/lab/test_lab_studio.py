"""Studio helpers against botocore Stubber with responses shaped like the real APIs."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from pm_lab import studio
from pm_lab.errors import StudioError, TrackingServerError

ACCOUNT = "111122223333"
REGION = "eu-west-1"
DOMAIN_ID = "d-7xkzq4mlmrbs"
OUR_SERVER = "isolated-studio-mlflow"
OUR_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/{OUR_SERVER}"
OTHER_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/team-b-mlflow"
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture()
def sagemaker(aws_credentials: None):
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def describe_response(status: str = "Created", active: str = "Active") -> dict:
    return {
        "TrackingServerArn": OUR_ARN,
        "TrackingServerName": OUR_SERVER,
        "ArtifactStoreUri": f"s3://isolated-studio-mlflow-artifacts-{ACCOUNT}/mlflow",
        "TrackingServerSize": "Small",
        "MlflowVersion": "2.16",
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/isolated-studio-mlflow",
        "TrackingServerStatus": status,
        "IsActive": active,
        "TrackingServerUrl": f"https://t-abc123.{REGION}.experiments.sagemaker.aws",
        "WeeklyMaintenanceWindowStart": "Tue:03:30",
        "AutomaticModelRegistration": False,
        "CreationTime": NOW,
    }


def test_a_stopped_server_is_reported_with_the_start_command(sagemaker) -> None:
    client, stubber = sagemaker
    stubber.add_response(
        "describe_mlflow_tracking_server",
        describe_response(status="Stopped", active="Inactive"),
        {"TrackingServerName": OUR_SERVER},
    )
    with pytest.raises(
        TrackingServerError,
        match=f"is Inactive \\(status Stopped\\).*start-mlflow-tracking-server --tracking-server-name {OUR_SERVER}",
    ):
        studio.describe_tracking_server(client, OUR_ARN)


def test_configured_arn_is_described_by_its_name(sagemaker) -> None:
    client, stubber = sagemaker
    stubber.add_response("describe_mlflow_tracking_server", describe_response(), {"TrackingServerName": OUR_SERVER})
    assert studio.describe_tracking_server(client, OUR_ARN).arn == OUR_ARN


def test_configured_arn_that_does_not_exist(sagemaker) -> None:
    client, stubber = sagemaker
    stubber.add_client_error(
        "describe_mlflow_tracking_server",
        service_error_code="ResourceNotFound",
        service_message=f"Tracking server {OUR_SERVER} does not exist",
        http_status_code=400,
    )
    with pytest.raises(
        TrackingServerError, match=f"Cannot describe MLflow tracking server {OUR_SERVER}.*ResourceNotFound"
    ):
        studio.describe_tracking_server(client, OUR_ARN)


@pytest.mark.parametrize(
    "bad",
    [
        "isolated-studio-mlflow",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{DOMAIN_ID}",
        f"arn:aws:sagemaker:{REGION}:12345:mlflow-tracking-server/x",
    ],
)
def test_malformed_arns_are_rejected_before_any_call(bad: str) -> None:
    with pytest.raises(TrackingServerError, match="is not a SageMaker MLflow tracking server ARN"):
        studio.parse_tracking_server_arn(bad)


def test_tracking_uri_resolution_order(sagemaker) -> None:
    client, stubber = sagemaker

    def no_aws():
        raise AssertionError("AWS must not be called")

    explicit = studio.resolve_tracking_uri(
        tracking_uri=" http://mlflow.internal:5000 ",
        tracking_server_arn=OUR_ARN,
        on_aws=True,
        sagemaker_client_factory=no_aws,
    )
    assert explicit == "http://mlflow.internal:5000"
    laptop = studio.resolve_tracking_uri(
        tracking_uri="",
        tracking_server_arn="",
        on_aws=False,
        sagemaker_client_factory=no_aws,
    )
    assert laptop == studio.DEFAULT_LOCAL_TRACKING_URI == "http://127.0.0.1:5000"
    stubber.add_response("describe_mlflow_tracking_server", describe_response(), {"TrackingServerName": OUR_SERVER})
    by_arn = studio.resolve_tracking_uri(
        tracking_uri="",
        tracking_server_arn=OUR_ARN,
        on_aws=True,
        sagemaker_client_factory=lambda: client,
    )
    assert by_arn == OUR_ARN
    # No look-up by tag (the infrastructure tags the server with no domain id): without an ARN
    # on AWS the notebook says where the ARN comes from, and calls nothing.
    with pytest.raises(
        TrackingServerError, match=r"no tracking_server_arn.*settings\.json.*mlflow_tracking_server_arn"
    ):
        studio.resolve_tracking_uri(
            tracking_uri="",
            tracking_server_arn=" ",
            on_aws=True,
            sagemaker_client_factory=no_aws,
        )


def domain_response(user_groups: list[str], domain_groups: list[str]) -> dict:
    return {
        "DomainArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{DOMAIN_ID}",
        "DomainId": DOMAIN_ID,
        "DomainName": "isolated-studio",
        "HomeEfsFileSystemId": "fs-0a1b2c3d4e5f67890",
        "Status": "InService",
        "CreationTime": NOW,
        "AuthMode": "IAM",
        "DefaultUserSettings": {
            "ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/isolated-studio-execution",
            "SecurityGroups": user_groups,
        },
        "DomainSettings": {"SecurityGroupIds": domain_groups},
        "AppNetworkAccessType": "VpcOnly",
        "SubnetIds": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
        "Url": f"https://{DOMAIN_ID}.studio.{REGION}.sagemaker.aws",
        "VpcId": "vpc-0123456789abcdef0",
    }


def test_remote_jobs_get_the_domains_subnets_and_security_group(sagemaker) -> None:
    client, stubber = sagemaker
    stubber.add_response("describe_domain", domain_response(["sg-0studio000000001"], []), {"DomainId": DOMAIN_ID})
    network = studio.domain_network(client, DOMAIN_ID)
    assert network.subnets == ("subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f")
    assert network.security_groups == ("sg-0studio000000001",)
    assert network.vpc_id == "vpc-0123456789abcdef0"


def test_domain_level_security_group_is_the_fallback(sagemaker) -> None:
    client, stubber = sagemaker
    stubber.add_response("describe_domain", domain_response([], ["sg-0domain000000002"]), {"DomainId": DOMAIN_ID})
    assert studio.domain_network(client, DOMAIN_ID).security_groups == ("sg-0domain000000002",)


def test_domain_without_security_group_cannot_host_remote_jobs(sagemaker) -> None:
    client, stubber = sagemaker
    stubber.add_response("describe_domain", domain_response([], []), {"DomainId": DOMAIN_ID})
    with pytest.raises(StudioError, match="remote jobs need both"):
        studio.domain_network(client, DOMAIN_ID)


def test_domain_id_is_required_for_remote_jobs(sagemaker) -> None:
    client, _ = sagemaker
    with pytest.raises(StudioError, match="set domain_id"):
        studio.domain_network(client, "")


REPO = studio.CodeArtifactRepository(domain="isolated-studio", repository="pypi-team", owner=ACCOUNT, region=REGION)


def test_codeartifact_login_command_matches_the_aws_cli() -> None:
    assert studio.codeartifact_login_command(REPO) == [
        "aws",
        "codeartifact",
        "login",
        "--tool",
        "pip",
        "--domain",
        "isolated-studio",
        "--domain-owner",
        ACCOUNT,
        "--repository",
        "pypi-team",
        "--region",
        REGION,
    ]
    shell = studio.codeartifact_login_shell(REPO)
    assert shlex.split(shell) == studio.codeartifact_login_command(REPO)


def test_domain_owner_defaults_to_the_current_account(aws_credentials: None) -> None:
    client = boto3.client("sts", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_caller_identity",
            {
                "UserId": "AROAEXAMPLEID:SageMaker",
                "Account": ACCOUNT,
                "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/isolated-studio-execution/SageMaker",
            },
            {},
        )
        assert studio.resolve_domain_owner(client) == ACCOUNT


def test_repository_endpoint_is_checked_before_login(aws_credentials: None) -> None:
    client = boto3.client("codeartifact", region_name=REGION)
    endpoint = f"https://isolated-studio-{ACCOUNT}.d.codeartifact.{REGION}.amazonaws.com/pypi/pypi-team/"
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_repository_endpoint",
            {"repositoryEndpoint": endpoint},
            {"domain": "isolated-studio", "domainOwner": ACCOUNT, "repository": "pypi-team", "format": "pypi"},
        )
        stubber.add_client_error(
            "get_repository_endpoint",
            service_error_code="ResourceNotFoundException",
            service_message="Repository not found",
            http_status_code=404,
        )
        assert studio.codeartifact_pypi_endpoint(client, REPO) == endpoint
        with pytest.raises(StudioError, match="isolated-studio/pypi-team .* is not usable.*ResourceNotFoundException"):
            studio.codeartifact_pypi_endpoint(client, REPO)


def test_codeartifact_settings_must_be_filled_in_before_any_aws_call() -> None:
    def no_aws():
        raise AssertionError("AWS must not be called")

    with pytest.raises(StudioError, match="CodeArtifact domain, repository not set"):
        studio.codeartifact_repository(domain="", repository="", owner="", region=REGION, sts_client_factory=no_aws)
    with pytest.raises(StudioError, match="CodeArtifact owner not set"):
        studio.CodeArtifactRepository(domain="isolated-studio", repository="pypi-team", owner="")


def test_empty_owner_means_the_current_account(aws_credentials: None) -> None:
    client = boto3.client("sts", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_response("get_caller_identity", {"Account": ACCOUNT}, {})
        repository = studio.codeartifact_repository(
            domain="isolated-studio",
            repository="pypi-team",
            owner="",
            region=REGION,
            sts_client_factory=lambda: client,
        )
    assert repository == REPO


def fake_aws_cli(folder: Path, exit_code: int) -> Path:
    """An ``aws`` executable that records its arguments and exits with ``exit_code``."""
    folder.mkdir(exist_ok=True)
    script = folder / "aws"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{folder}/args"\n'
        'echo "An error occurred (AccessDeniedException) when calling the GetAuthorizationToken operation" >&2\n'
        f"exit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def test_pip_login_runs_the_cli_and_reports_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    working = fake_aws_cli(tmp_path / "ok", 0)
    monkeypatch.setenv("PATH", f"{working}{os.pathsep}{os.environ['PATH']}")
    studio.pip_login(REPO)
    assert (working / "args").read_text().split() == studio.codeartifact_login_command(REPO)[1:]

    failing = fake_aws_cli(tmp_path / "denied", 255)
    monkeypatch.setenv("PATH", f"{failing}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(StudioError, match="CodeArtifact login failed: .*AccessDeniedException"):
        studio.pip_login(REPO)


def test_pip_login_without_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StudioError, match="AWS CLI"):
        studio.pip_login(REPO)


def test_studio_is_recognised_by_its_metadata_file(tmp_path: Path) -> None:
    metadata = tmp_path / "resource-metadata.json"
    assert not studio.running_in_studio(metadata)
    assert studio.studio_domain_id(metadata) is None
    metadata.write_text(
        json.dumps(
            {
                "AppType": "JupyterLab",
                "DomainId": DOMAIN_ID,
                "SpaceName": "lab-space",
                "ResourceArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/{DOMAIN_ID}/lab-space/JupyterLab/default",
            }
        )
    )
    assert studio.running_in_studio(metadata)
    assert studio.studio_domain_id(metadata) == DOMAIN_ID


def test_pip_output_is_shown_and_a_failed_install_stops(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("boto3==1.35.49\n")
    conflict = (
        "ERROR: pip's dependency resolver does not currently take into account all the packages "
        "that are installed. This behaviour is the source of the following dependency conflicts.\n"
        "sagemaker 2.232.2 requires boto3<2.0,>=1.35.36, but you have boto3 1.34.0 which is incompatible."
    )
    shown: list[str] = []
    commands: list[list[str]] = []

    def pip(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, stdout="Successfully installed boto3-1.35.49\n", stderr=conflict)

    studio.pip_install_requirements(requirements, run=pip, echo=shown.append)
    assert "--quiet" not in commands[0] and commands[0][-2:] == ["-r", str(requirements)]
    assert "dependency conflicts" in shown[0] and "Successfully installed" in shown[0]

    failing = lambda command, **kwargs: subprocess.CompletedProcess(
        command, 1, stdout="", stderr="ERROR: No matching distribution found for boto3==1.35.49"
    )
    with pytest.raises(StudioError, match="failed .exit 1.; pip's output is above"):
        studio.pip_install_requirements(requirements, run=failing, echo=shown.append)
    assert "No matching distribution" in shown[-1]


def test_domain_owner_from_the_cli_when_boto3_is_not_installed_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "aws"
    script.write_text(f'#!/bin/sh\necho "$@" > "{folder}/args"\necho {ACCOUNT}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    assert studio.caller_account_id() == ACCOUNT
    assert (folder / "args").read_text().split() == [
        "sts",
        "get-caller-identity",
        "--query",
        "Account",
        "--output",
        "text",
    ]


def test_presigned_mlflow_ui_url_for_the_tracking_server(sagemaker) -> None:
    client, stubber = sagemaker
    url = f"https://t-abc123.{REGION}.experiments.sagemaker.aws/auth?authToken=token"
    stubber.add_response(
        "create_presigned_mlflow_tracking_server_url",
        {"AuthorizedUrl": url},
        {"TrackingServerName": OUR_SERVER, "ExpiresInSeconds": 300, "SessionExpirationDurationInSeconds": 43200},
    )
    assert studio.mlflow_ui_url(OUR_ARN, lambda: client) == url
    assert studio.mlflow_ui_url("http://127.0.0.1:5000", lambda: pytest.fail("no AWS call")) == "http://127.0.0.1:5000"


def test_jobs_use_the_settings_network_without_describing_the_domain() -> None:
    network = studio.job_network(
        subnet_ids=("subnet-0aaa1111bbbb2222c",),
        security_group_ids=("sg-0studio000000001",),
        domain_id=DOMAIN_ID,
        sagemaker_client_factory=lambda: pytest.fail("no AWS call"),
    )
    assert network.subnets == ("subnet-0aaa1111bbbb2222c",) and network.security_groups == ("sg-0studio000000001",)
