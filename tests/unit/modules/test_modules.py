"""Module inputs are validated before any resource is created, all problems at once."""

import json
from pathlib import Path

import pytest
from cdktf import App, TerraformStack
from matchers import Testing

from modules.emulator_guard import EmulatorGuardProps
from modules.exclusive_role_policies import ExclusiveRolePoliciesProps
from modules.flow_log import FlowLog, FlowLogProps
from modules.isolated_vpc import IsolatedVpc, IsolatedVpcProps
from modules.lab_content import LabContentProps
from modules.mlflow_server import MlflowServerProps
from modules.props import ModuleInputError
from modules.pypi_mirror import PypiMirrorProps
from modules.secure_bucket import SecureBucketProps
from modules.studio_domain import StudioDomainProps
from modules.studio_roles import StudioRolesProps
from modules.user_profiles import UserProfilesProps
from modules.vpc_endpoints import VpcEndpointsProps


def test_invalid_vpc_props_report_every_problem_and_create_nothing():
    stack = TerraformStack(App(), "s")
    props = IsolatedVpcProps(
        name="", cidr="10.0.0.0/16", availability_zone_ids=["usw2-az1"], subnet_cidrs=["10.0.0.0/24", "10.0.0.0/25"]
    )
    with pytest.raises(ModuleInputError) as info:
        IsolatedVpc(stack, "vpc", props=props)
    message = str(info.value)
    assert message.startswith("IsolatedVpc: invalid inputs:")
    for fragment in ("name: must not be empty", "availability_zone_ids: 1 given for 2 subnets"):
        assert fragment in message
    assert "resource" not in json.loads(Testing.synth(stack))


def test_overlapping_and_outside_subnets_are_named():
    problems = IsolatedVpcProps(name="n", cidr="10.0.0.0/16", subnet_cidrs=["10.0.0.0/24", "10.1.0.0/24"]).problems()
    assert problems == ["subnet_cidrs: 10.1.0.0/24 is outside 10.0.0.0/16"]
    problems = IsolatedVpcProps(name="n", cidr="10.0.0.0/16", subnet_cidrs=["10.0.0.0/24", "10.0.0.0/25"]).problems()
    assert problems == ["subnet_cidrs: 10.0.0.0/24 overlaps 10.0.0.0/25"]


def test_flow_log_rejects_retention_the_service_does_not_accept():
    with pytest.raises(ModuleInputError, match="retention_days: 10"):
        FlowLog(
            TerraformStack(App(), "s"),
            "fl",
            props=FlowLogProps(name="n", vpc_id="v", region="us-west-2", retention_days=10),
        )


@pytest.mark.parametrize(
    "props, fragment",
    [
        (
            VpcEndpointsProps(
                name="n",
                vpc_id="v",
                vpc_cidr="10.0.0.0/16",
                subnet_ids=[],
                route_table_ids=[],
                interface_services={"x": "sqs"},
                s3_gateway_service="com.amazonaws.us-west-2.s3",
            ),
            "is not an AWS service name",
        ),
        (
            SecureBucketProps(bucket_name="Bad_Name", kms_key_arn=None, access_log_bucket=None, cors_origins=["*"]),
            "must be a specific https origin",
        ),
        (
            StudioRolesProps(
                name="n",
                mode="admin",
                partition="aws",
                region="us-west-2",
                account_id="1",
                lab_bucket_names=[],
                mlflow_bucket_name="b",
                kms_key_arn="k",
                mlflow_server_name="m",
                codeartifact_domain="d",
                codeartifact_repository="r",
            ),
            "mode: 'admin'",
        ),
        (
            StudioRolesProps(
                name="n",
                mode="least-privilege",
                partition="aws",
                region="us-west-2",
                account_id="1",
                lab_bucket_names=["b"],
                mlflow_bucket_name="b",
                kms_key_arn="k",
                mlflow_server_name="m",
                codeartifact_domain="d",
                codeartifact_repository="r",
            ),
            "the guardrails pin SageMaker jobs to the VPC",
        ),
        (
            StudioDomainProps(
                name="n",
                vpc_id="v",
                subnet_ids=["s"],
                security_group_ids=[],
                execution_role_arn="r",
                kms_key_arn="k",
                lifecycle_script="echo",
                docker_trusted_accounts=["12"],
            ),
            "security_group_ids: VpcOnly apps need at least one security group",
        ),
        (
            UserProfilesProps(
                domain_id="d", names=["a", "a", "bad name"], execution_role_arn="r", security_group_ids=["sg"]
            ),
            "names: duplicates ['a']",
        ),
        (
            MlflowServerProps(
                name="m",
                artifact_bucket="b",
                artifact_prefix="p",
                role_arn="r",
                size="Huge",
                maintenance_window="Sunday",
            ),
            "size: 'Huge'",
        ),
        (
            PypiMirrorProps(domain_name="d", repository="pip", upstream_repository="pip", kms_key_arn="k"),
            "upstream_repository: must differ from repository",
        ),
        (
            LabContentProps(bucket="b", directory=Path("/nonexistent"), prefix="/lab/"),
            "directory: /nonexistent does not exist",
        ),
        (ExclusiveRolePoliciesProps(role_name="", policy_names=["a", "a"]), "role_name: must not be empty"),
        (ExclusiveRolePoliciesProps(role_name="r", policy_names=["a", "a"]), "policy_names: listed twice: ['a']"),
        (
            EmulatorGuardProps(stack="workload", cannot_create="", instead="make deploy."),
            "cannot_create: must not be empty",
        ),
        (
            EmulatorGuardProps(stack="workload", cannot_create="x", instead="make deploy."),
            "instead: a command, without a final period",
        ),
    ],
)
def test_module_props_name_the_problem(props, fragment):
    assert any(fragment in p for p in props.problems()), props.problems()


def _roles_props(**changes) -> StudioRolesProps:
    base = dict(
        name="studio-dev",
        mode="least-privilege",
        partition="aws",
        region="us-west-2",
        account_id="1",
        lab_bucket_names=["b"],
        mlflow_bucket_name="b",
        kms_key_arn="k",
        mlflow_server_name="m",
        codeartifact_domain="d",
        codeartifact_repository="r",
        subnet_ids=["subnet-1"],
        security_group_ids=["sg-1"],
    )
    return StudioRolesProps(**{**base, **changes})


def test_roles_props_report_each_problem_exactly():
    assert _roles_props().problems() == []
    assert _roles_props(name="n" * 40).problems() == []
    pinned = "subnet_ids/security_group_ids: the guardrails pin SageMaker jobs to the VPC and need both"
    assert _roles_props(mode="managed", subnet_ids=()).problems() == [pinned]  # both modes: the guardrails
    assert _roles_props(subnet_ids=()).problems() == [pinned]
    assert _roles_props(security_group_ids=()).problems() == [pinned]
    assert _roles_props(lab_bucket_names=[], mode="admin", name="n" * 41, security_group_ids=()).problems() == [
        "mode: 'admin' must be one of ['managed', 'least-privilege']",
        "lab_bucket_names: the execution role needs at least one bucket",
        pinned,
        f"name: {'n' * 41!r} is too long for IAM role names (40 characters at most)",
    ]


def test_a_policy_document_is_refused_unless_rendered_as_written():
    """A misspelt key would be dropped by the data source (an `Efect` statement would default to
    Allow) and a wrong effect is refused only at plan time: both fail at synthesis, together."""
    from modules.policy_document import document_blocks

    good = {
        "Sid": "A",
        "Effect": "Deny",
        "Action": "s3:GetObject",
        "NotResource": ["arn:aws:s3:::b/*"],
        "Principal": {"AWS": "*"},
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert document_blocks({"Version": "2012-10-17", "Statement": [good]}) == {
        "version": "2012-10-17",
        "statement": [
            {
                "sid": "A",
                "effect": "Deny",
                "actions": ["s3:GetObject"],
                "resources": None,
                "not_resources": ["arn:aws:s3:::b/*"],
                "principals": [{"type": "AWS", "identifiers": ["*"]}],
                "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
            }
        ],
    }
    bad = {
        "version": "2012-10-17",
        "Statement": [
            {"Efect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "allow", "Action": "s3:GetObject", "Resource": "*"},
        ],
    }
    with pytest.raises(ValueError) as error:
        document_blocks(bad)
    assert str(error.value) == (
        "policy document: unsupported document keys ['version']; "
        "statement 0: unsupported keys ['Efect']; "
        "statement 1: Effect 'allow' must be one of ['Allow', 'Deny']"
    )
