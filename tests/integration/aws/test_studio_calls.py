"""Every AWS call the notebook's Studio code path makes is covered by an access scenario.

tests/studio_path_driver.py runs that path with the real SageMaker SDK (.venv-studio) and the
real AWS CLI's CodeArtifact login (.venv-awscli), against this module's moto server for S3, STS
and CloudWatch Logs and stubbed SageMaker and CodeArtifact answers, recording every (service,
operation) botocore sends. A call that no scenario of policy/access-scenarios.toml names in its
``covers`` fails here: add the scenario (and the grant), so the IAM policies follow the code.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from emulator_support import start_moto
from support import require_awscli_python, require_studio_python

from isolated_studio.checks import access, perimeter
from modules.studio_domain import codeartifact_login, sagemaker_sdk_config, to_yaml

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[3]
DRIVER = ROOT / "tests" / "studio_path_driver.py"
ACCOUNT = "123456789012"  # moto answers every request as this account
BUCKET = f"studio-dev-notebooks-{ACCOUNT}-us-west-2"
WORLD = access.World(account=ACCOUNT)
KEY = WORLD.key_arn
ROLE = f"arn:aws:iam::{ACCOUNT}:role/studio-dev-studio-execution"
# Calls IAM never authorizes: "No permissions are required to perform this operation" (AWS STS
# API Reference, GetCallerIdentity; an explicit deny cannot refuse it either).
NO_PERMISSION_NEEDED = {("sts", "GetCallerIdentity")}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict:
    """Both drivers' output: the notebook path and the AWS CLI login it runs."""
    studio_python = require_studio_python()
    awscli_python = require_awscli_python()
    tmp = tmp_path_factory.mktemp("studio-calls")
    # The SDK configuration the JupyterLab start script writes (modules/studio_domain.py).
    config = tmp / "config.yaml"
    config.write_text(
        to_yaml(
            sagemaker_sdk_config(
                bucket=BUCKET,
                kms_key_arn=KEY,
                subnet_ids=list(WORLD.subnets),
                security_group_ids=list(WORLD.security_groups),
                execution_role_arn=ROLE,
                pre_execution_commands=[
                    codeartifact_login(region="us-west-2", domain="studio-dev", owner=ACCOUNT, repository="pip")
                ],
            )
        )
        + "\n"
    )
    data = tmp / "ai4i2020.csv"
    subprocess.run(
        [str(studio_python), "-m", "pm_lab.synthetic", "--rows", "400", "--seed", "7", "--out", str(data)],
        cwd=ROOT / "notebooks",
        check=True,
        timeout=120,
        capture_output=True,
    )
    with start_moto(tmp / "moto.log") as server:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp),
            "AWS_CONFIG_FILE": str(tmp / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "aws-credentials"),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-west-2",
            "AWS_DEFAULT_REGION": "us-west-2",
            "AWS_STS_REGIONAL_ENDPOINTS": "regional",
            "AWS_ENDPOINT_URL_S3": server.endpoint,
            "AWS_ENDPOINT_URL_STS": server.endpoint,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": server.endpoint,
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
            "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(config),
            # Set in every Studio app: @remote jobs run the app's image.
            "SAGEMAKER_INTERNAL_IMAGE_URI": "542918446943.dkr.ecr.us-west-2.amazonaws.com/sagemaker-distribution-prod:2-cpu",
            "DRIVER_ACCOUNT": ACCOUNT,
        }

        def drive(python: Path, *args: str) -> dict:
            out = tmp / f"{args[0]}.json"
            result = subprocess.run(
                [str(python), str(DRIVER), *args, "--out", str(out)],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert result.returncode == 0, f"driver {args[0]} failed:\n{result.stderr[-6000:]}"
            return json.loads(out.read_text())

        notebook = drive(
            studio_python,
            "notebook",
            "--bucket",
            BUCKET,
            "--data",
            str(data),
            "--workdir",
            str(tmp),
            "--kms-key",
            KEY,
            "--role",
            ROLE,
        )
        cli = drive(awscli_python, "cli", "--argv-json", json.dumps(notebook["login"][1:]))
    calls = {tuple(c) for c in notebook["calls"]} | {tuple(c) for c in cli["calls"]}
    return {"calls": calls, "notebook": notebook, "cli": cli}


def _covered(mode: str) -> dict[tuple[str, str], list[str]]:
    covered: dict[tuple[str, str], list[str]] = {}
    for scenario in access.load_scenarios():
        if scenario.principal == "execution" and mode in scenario.modes:
            for call in scenario.covers:
                service, _, operation = call.partition(":")
                covered.setdefault((service, operation), []).append(scenario.id)
    return covered


@pytest.mark.parametrize("mode", access.MODES)
def test_every_call_of_the_studio_path_is_covered_by_a_scenario(recorded, mode):
    covered = _covered(mode)
    missing = sorted(c for c in recorded["calls"] - NO_PERMISSION_NEEDED if c not in covered)
    assert not missing, (
        f"the notebook's Studio path calls {missing}, which no {mode} scenario of "
        "policy/access-scenarios.toml covers: add the scenario (and the grant)"
    )


# Recorded calls the perimeter refuses, as the lab expects: (call, mode) -> why.
REFUSED_AS_EXPECTED = {
    (("iam", "GetRole"), "least-privilege"): "only without a settings file; no endpoint of the VPC serves IAM",
    (("s3", "ListBuckets"), "least-privilege"): "the SDK takes the AccessDenied as 'not found' and uses HeadBucket",
}


@pytest.mark.parametrize("mode", access.MODES)
def test_every_call_of_the_studio_path_passes_every_layer_of_the_perimeter(recorded, mode):
    """Not only the identity layer: each recorded call is a perimeter scenario (network, endpoint
    policy, identity, resource policy) that AWS allows, but for the refusals the lab expects."""
    scenarios = [s for s in perimeter.load_scenarios() if mode in s.modes]
    missing, refused = [], []
    for call in sorted(recorded["calls"]):
        covering = [s for s in scenarios if f"{call[0]}:{call[1]}" in s.covers]
        if not covering:
            missing.append(call)
        for s in covering:
            if not s.allowed and (call, mode) not in REFUSED_AS_EXPECTED:
                refused.append((call, s.id))
    assert not missing, f"calls no {mode} perimeter scenario covers: {missing} (policy/perimeter-scenarios.toml)"
    assert not refused, f"calls the perimeter refuses in {mode} mode: {refused}"


def test_the_path_really_ran(recorded):
    """The recording is the whole path: lookup, CodeArtifact, the data, and one @remote job."""
    for call in [
        ("sagemaker", "DescribeMlflowTrackingServer"),
        ("codeartifact", "GetRepositoryEndpoint"),
        ("sagemaker", "CreatePresignedMlflowTrackingServerUrl"),
        ("codeartifact", "GetAuthorizationToken"),
        ("s3", "GetObject"),
        ("sagemaker", "DescribeDomain"),
        ("sagemaker", "CreateTrainingJob"),
        ("sagemaker", "DescribeTrainingJob"),
        ("s3", "PutObject"),
    ]:
        assert call in recorded["calls"], call
    assert "pip config set global.index-url https://aws:" in recorded["cli"]["printed"]
    # No look-up of the tracking server by tag any more (the server has no domain-id tag).
    assert not {("sagemaker", "ListMlflowTrackingServers"), ("sagemaker", "ListTags")} & recorded["calls"]


def test_the_sdk_never_touches_its_own_default_bucket(recorded):
    """The job stages everything in our bucket, and no CreateBucket is ever sent."""
    assert ("s3", "CreateBucket") not in recorded["calls"]
    assert recorded["notebook"]["job"]["OutputDataConfig"]["S3OutputPath"].startswith(
        f"s3://{BUCKET}/remote-functions/"
    )


def test_the_job_request_matches_the_scenarios_request_context(recorded):
    """What the SDK sends is what remote-create-training-job evaluates: our subnets and security
    group, our key for outputs and volumes, the execution role."""
    job = recorded["notebook"]["job"]
    scenario = next(s for s in access.load_scenarios() if s.id == "remote-create-training-job")
    context = {k: WORLD.fill(v) for k, v in scenario.context.items()}
    assert job["VpcConfig"] == {
        "Subnets": context["sagemaker:VpcSubnets"],
        "SecurityGroupIds": context["sagemaker:VpcSecurityGroupIds"],
    }
    assert job["OutputDataConfig"]["KmsKeyId"] == context["sagemaker:OutputKmsKey"] == KEY
    assert recorded["notebook"]["job_volume_kms"] == context["sagemaker:VolumeKmsKey"] == KEY
    assert job["RoleArn"] == ROLE


def test_a_call_no_scenario_covers_fails_the_check(recorded):
    covered = _covered("least-privilege")
    invented = recorded["calls"] | {("sagemaker", "CreateHyperParameterTuningJob")}
    assert sorted(c for c in invented - NO_PERMISSION_NEEDED if c not in covered) == [
        ("sagemaker", "CreateHyperParameterTuningJob")
    ]
