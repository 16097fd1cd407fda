"""IAM roles of the lab: the Studio execution role and the MLflow tracking server's role.

Two modes. ``managed`` keeps the seed's AmazonSageMakerFullAccess for a quick start;
``least-privilege`` attaches no AWS-managed policy and grants only what the lab does.
Both modes share the scoped grants (our buckets and key, our MLflow server, our
CodeArtifact repository): nothing here uses ``codeartifact:*`` or an unscoped MLflow grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from isolated_studio.config import IAM_MODES
from modules.encryption_key import DATA_ACTIONS
from modules.policy_document import policy_document
from modules.props import name_tags, raise_for
from modules.secure_bucket import READ_WRITE_ACTIONS

MODES = IAM_MODES
# Every sagemaker-mlflow action that supports resource-level permissions, as prefixes:
# `sagemaker-mlflow:*` on the server ARN would also name AccessUI, which takes only "*"
# (Service Authorization Reference) and so would silently not be granted.
MLFLOW_SERVER_ACTIONS = [
    f"sagemaker-mlflow:{verb}*"
    for verb in ("Create", "Delete", "End", "Get", "List", "Log", "Rename", "Restore", "Search", "Set",
                 "Start", "Transition", "Update")
]
OBJECT_ACTIONS = READ_WRITE_ACTIONS
BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation"]


def _doc(*statements: Mapping) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(sid: str, actions: Sequence[str] | str, resources: Sequence[str] | str, condition: Mapping | None = None) -> dict:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


@dataclass(frozen=True)
class StudioRolesProps:
    """Inputs of :class:`StudioRoles`.

    ARNs are built from names (not resource attributes) so that buckets and the MLflow
    server can reference the roles without a dependency cycle.
    lab_bucket_names: buckets the execution role reads and writes (notebooks/data, MLflow).
    mlflow_bucket_name: the artifact store the MLflow role reads and writes.
    subnet_ids / security_group_ids: least-privilege mode allows training and processing
        jobs only with exactly this VPC configuration (what @remote uses).
    """

    name: str
    mode: str
    partition: str
    region: str
    account_id: str
    lab_bucket_names: Sequence[str]
    mlflow_bucket_name: str
    kms_key_arn: str
    mlflow_server_name: str
    codeartifact_domain: str
    codeartifact_repository: str
    subnet_ids: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if self.mode not in MODES:
            found.append(f"mode: {self.mode!r} must be one of {list(MODES)}")
        if not self.lab_bucket_names:
            found.append("lab_bucket_names: the execution role needs at least one bucket")
        if self.mode == "least-privilege" and (not self.subnet_ids or not self.security_group_ids):
            found.append("subnet_ids/security_group_ids: least-privilege mode pins jobs to the VPC and needs both")
        if len(self.name) > 40:
            found.append(f"name: {self.name!r} is too long for IAM role names (40 characters at most)")
        return found

    # ARNs the policies name.
    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account_id}:{resource}"

    @property
    def execution_role_arn(self) -> str:
        return self.arn("iam", f"role/{self.execution_role_name}", region=False)

    @property
    def execution_role_name(self) -> str:
        return f"{self.name}-studio-execution"

    @property
    def mlflow_role_name(self) -> str:
        return f"{self.name}-mlflow"


class StudioRoles(Construct):
    """Attributes: ``execution_role``, ``mlflow_role``, ``policies`` (name -> IamRolePolicy)."""

    def __init__(self, scope: Construct, id: str, *, props: StudioRolesProps) -> None:
        raise_for("StudioRoles", props.problems())
        super().__init__(scope, id)
        p = props
        trust = self.trust_policies(p)
        execution_trust = policy_document(self, "sagemaker-trust", trust["execution"])
        mlflow_trust = policy_document(self, "mlflow-trust", trust["mlflow"])
        tags = dict(p.tags)
        self.execution_role = IamRole(
            self, "execution-role", name=p.execution_role_name, assume_role_policy=execution_trust,
            description="SageMaker Studio execution role for the isolated lab",
            max_session_duration=3600, tags=name_tags(p.execution_role_name, tags),
        )
        self.mlflow_role = IamRole(
            self, "mlflow-role", name=p.mlflow_role_name, assume_role_policy=mlflow_trust,
            description="SageMaker managed MLflow tracking server role",
            tags=name_tags(p.mlflow_role_name, tags),
        )
        self.policies: dict[str, IamRolePolicy] = {}
        for policy_name, document in self.execution_policies(p).items():
            self.policies[policy_name] = IamRolePolicy(
                self, f"execution-{policy_name}", name=policy_name, role=self.execution_role.id,
                policy=policy_document(self, f"execution-{policy_name}-document", document),
            )
        for policy_name, document in self.mlflow_policies(p).items():
            self.policies[f"mlflow-{policy_name}"] = IamRolePolicy(
                self, f"mlflow-{policy_name}", name=policy_name, role=self.mlflow_role.id,
                policy=policy_document(self, f"mlflow-{policy_name}-document", document),
            )
        if p.mode == "managed":
            IamRolePolicyAttachment(
                self, "execution-sagemaker-full-access", role=self.execution_role.name,
                policy_arn=f"arn:{p.partition}:iam::aws:policy/AmazonSageMakerFullAccess",
            )

    @staticmethod
    def trust_policies(p: StudioRolesProps) -> dict[str, dict]:
        """The roles' trust policies: "execution" and "mlflow"."""
        def sagemaker_may_assume(condition: Mapping | None) -> dict:
            statement = {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                         "Action": "sts:AssumeRole"}
            if condition:
                statement["Condition"] = condition
            return _doc(statement)

        return {
            # Confused-deputy guard: SageMaker may assume the execution role only for this account
            # (SageMaker Developer Guide, "Cross-service confused deputy prevention").
            "execution": sagemaker_may_assume({"StringEquals": {"aws:SourceAccount": p.account_id}}),
            # The MLflow service is not documented to send aws:SourceAccount when it assumes its
            # role (the IAM setup for tracking servers, SageMaker Developer Guide "Set up IAM
            # permissions for MLflow", trusts sagemaker.amazonaws.com without conditions): with the
            # condition the server could never assume the role. The role can only reach its
            # artifact store and the model registry.
            "mlflow": sagemaker_may_assume(None),
        }

    @staticmethod
    def _data_statements(p: StudioRolesProps, buckets: Sequence[str]) -> list[dict]:
        return [
            _allow("ListLabBuckets", BUCKET_ACTIONS, [f"arn:{p.partition}:s3:::{b}" for b in buckets]),
            _allow("ReadWriteLabObjects", OBJECT_ACTIONS, [f"arn:{p.partition}:s3:::{b}/*" for b in buckets]),
            _allow("UseLabKey", DATA_ACTIONS, p.kms_key_arn),
        ]

    @classmethod
    def execution_policies(cls, p: StudioRolesProps) -> dict[str, dict]:
        server_arn = p.arn("sagemaker", f"mlflow-tracking-server/{p.mlflow_server_name}")
        policies = {
            "lab-data": _doc(
                *cls._data_statements(p, p.lab_bucket_names),
                # The domain's home EFS, every app volume and the @remote jobs' volumes use our key:
                # EFS, EC2 and SageMaker create grants on it on the user's behalf, with the
                # caller's permissions. kms:GrantIsForAWSResource limits this to grants an
                # integrated AWS service asks for (AWS KMS Developer Guide, "Controlling access to
                # grants" and "AWS KMS condition keys"; SageMaker Developer Guide, "Studio
                # notebooks" encryption at rest: KmsKeyId encrypts the EFS and EBS volumes).
                _allow("AwsServicesGrantOnLabKey", "kms:CreateGrant", p.kms_key_arn,
                       {"Bool": {"kms:GrantIsForAWSResource": "true"}}),
            ),
            "mlflow": _doc(
                _allow("UseOurTrackingServer", MLFLOW_SERVER_ACTIONS, server_arn),
                # Opening the MLflow UI; every call the UI then makes is scoped above.
                _allow("OpenMlflowUi", "sagemaker-mlflow:AccessUI", "*"),
                _allow("FindOurTrackingServer",
                       ["sagemaker:DescribeMlflowTrackingServer", "sagemaker:CreatePresignedMlflowTrackingServerUrl"],
                       server_arn),
                _allow("ListTrackingServers", "sagemaker:ListMlflowTrackingServers", "*"),
                # The notebook finds the server by its domain-id tag when no ARN is given.
                _allow("ReadTrackingServerTags", "sagemaker:ListTags", p.arn("sagemaker", "mlflow-tracking-server/*")),
            ),
            "codeartifact": _doc(
                _allow("PipLoginToken", "codeartifact:GetAuthorizationToken",
                       p.arn("codeartifact", f"domain/{p.codeartifact_domain}")),
                _allow("PipReadRepository", ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                       p.arn("codeartifact", f"repository/{p.codeartifact_domain}/{p.codeartifact_repository}")),
                _allow("PipBearerToken", "sts:GetServiceBearerToken", "*",
                       {"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}}),
            ),
        }
        policies["guardrails"] = cls._guardrails_policy(p, server_arn)
        if p.mode == "least-privilege":
            policies["studio"] = cls._studio_policy(p)
            policies["jobs"] = cls._jobs_policy(p)
        return policies

    @staticmethod
    def _guardrails_policy(p: StudioRolesProps, server_arn: str) -> dict:
        """Explicit denies, for both modes: AmazonSageMakerFullAccess (managed mode) allows each of
        these, and a deny wins over it. Administration stays with the platform team."""
        def deny(sid: str, actions: Sequence[str] | str, **resource: object) -> dict:
            return {"Sid": sid, "Effect": "Deny", "Action": actions, **resource}

        return _doc(
            # AmazonSageMakerFullAccess passes any role to SageMaker.
            deny("PassOnlyTheExecutionRole", "iam:PassRole", NotResource=[p.execution_role_arn]),
            # sagemaker:* on every tracking server and domain-level call the managed policy allows.
            deny("NoStudioOrMlflowAdministration", [
                "sagemaker:CreateDomain", "sagemaker:DeleteDomain", "sagemaker:UpdateDomain",
                "sagemaker:CreateUserProfile", "sagemaker:DeleteUserProfile",
                "sagemaker:CreateMlflowTrackingServer", "sagemaker:DeleteMlflowTrackingServer",
                "sagemaker:UpdateMlflowTrackingServer",
            ], Resource="*"),
            deny("OnlyOurTrackingServer",
                 ["sagemaker:CreatePresignedMlflowTrackingServerUrl", *MLFLOW_SERVER_ACTIONS],
                 NotResource=[server_arn]),
            # The SDK's Session.default_bucket() creates sagemaker-<region>-<account> (no key, no
            # TLS-only policy, no logging) when it finds no configured bucket: never let it.
            deny("NoBucketsOutsideTerraform", "s3:CreateBucket", Resource="*"),
        )

    @staticmethod
    def _studio_policy(p: StudioRolesProps) -> dict:
        # Service Authorization Reference: app/${DomainId}/${UserProfileName}/${AppType}/${AppName}
        # (four parts after app/; a space's apps name the space in the second).
        studio = [p.arn("sagemaker", r) for r in ("domain/*", "user-profile/*/*", "space/*/*", "app/*/*/*/*")]
        return _doc(
            _allow("StudioAppsAndSpaces", [
                "sagemaker:CreateApp", "sagemaker:DeleteApp", "sagemaker:DescribeApp",
                "sagemaker:CreateSpace", "sagemaker:UpdateSpace", "sagemaker:DeleteSpace", "sagemaker:DescribeSpace",
                "sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile",
                "sagemaker:CreatePresignedDomainUrl", "sagemaker:AddTags", "sagemaker:ListTags",
            ], studio),
            _allow("StudioListings", [
                "sagemaker:ListApps", "sagemaker:ListSpaces", "sagemaker:ListDomains", "sagemaker:ListUserProfiles",
            ], "*"),
        )

    @staticmethod
    def _jobs_policy(p: StudioRolesProps) -> dict:
        jobs = [p.arn("sagemaker", r) for r in ("training-job/*", "processing-job/*")]
        in_our_vpc = {
            "ForAllValues:StringEquals": {
                "sagemaker:VpcSubnets": list(p.subnet_ids),
                "sagemaker:VpcSecurityGroupIds": list(p.security_group_ids),
            },
            # ForAllValues alone would also match a request without any VPC configuration.
            "Null": {"sagemaker:VpcSubnets": "false", "sagemaker:VpcSecurityGroupIds": "false"},
        }
        log_groups = p.arn("logs", "log-group:/aws/sagemaker/*")
        return _doc(
            _allow("RemoteJobsInOurVpc", ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob"], jobs, in_our_vpc),
            _allow("FollowRemoteJobs", [
                "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "sagemaker:AddTags",
            ], jobs),
            # The SDK's list_futures() finds a function's earlier jobs by name (remote_function/client.py).
            _allow("ListRemoteJobs", "sagemaker:ListTrainingJobs", "*"),
            _allow("PassOnlyThisRole", "iam:PassRole", p.execution_role_arn,
                   {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
            # sagemaker.get_execution_role() reads the role for its path (Session.get_caller_identity_arn).
            _allow("ReadThisRole", "iam:GetRole", p.execution_role_arn),
            _allow("JobLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                               "logs:DescribeLogStreams", "logs:GetLogEvents"], [log_groups, f"{log_groups}:log-stream:*"]),
            _allow("EcrLogin", "ecr:GetAuthorizationToken", "*"),
            _allow("PullSageMakerImages",
                   ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                   f"arn:{p.partition}:ecr:{p.region}:*:repository/*"),
            # Jobs in the VPC get network interfaces: only in our subnets, with our security groups.
            _allow("JobNetworkInterfaces", [
                "ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ], [p.arn("ec2", "network-interface/*"),
                *[p.arn("ec2", f"subnet/{subnet}") for subnet in p.subnet_ids],
                *[p.arn("ec2", f"security-group/{sg}") for sg in p.security_group_ids]]),
            _allow("DescribeJobNetwork", [
                "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs",
                "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeDhcpOptions",
            ], "*"),
            # Training jobs publish their metrics with the role (SageMaker Developer Guide,
            # "CreateTrainingJob API: Execution Role Permissions").
            _allow("JobMetrics", "cloudwatch:PutMetricData", "*",
                   {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}),
        )

    @classmethod
    def mlflow_policies(cls, p: StudioRolesProps) -> dict[str, dict]:
        # Versioned model packages are model-package/<group>/<version> (a group's versions).
        registry = [p.arn("sagemaker", r) for r in ("model-package-group/*", "model-package/*/*")]
        lineage = [p.arn("sagemaker", f"{kind}/*")
                   for kind in ("action", "artifact", "context", "experiment", "experiment-trial-component")]
        return {
            "artifacts": _doc(*cls._data_statements(p, [p.mlflow_bucket_name])),
            "model-registry": _doc(
                # Automatic model registration mirrors MLflow registered models into SageMaker:
                # package groups and versions, and their lineage (SageMaker Developer Guide,
                # "Automatically register SageMaker AI models with SageMaker Model Registry" and
                # "Set up IAM permissions for MLflow", the tracking server's service role).
                _allow("RegisterModels", [
                    "sagemaker:CreateModelPackageGroup", "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage",
                    "sagemaker:UpdateModelPackage", "sagemaker:AddTags",
                ], registry),
                _allow("RecordRegistrationLineage", ["sagemaker:CreateAction", "sagemaker:AddTags"],
                       p.arn("sagemaker", "action/*")),
                # An association links two lineage entities of any of these types.
                _allow("LinkRegistrationLineage", "sagemaker:AddAssociation", lineage),
            ),
        }
