"""IAM roles of the lab: the Studio execution role and the MLflow tracking server's role.

Two modes. ``managed`` keeps the seed's AmazonSageMakerFullAccess for a quick start;
``least-privilege`` attaches no AWS-managed policy and grants only what the lab does.
Both modes share the scoped grants (our buckets and key, our MLflow server, our
CodeArtifact repository): nothing here uses ``codeartifact:*`` or an unscoped MLflow grant.

Both modes also share the guardrails: explicit denies, which win over any allow (AWS's
AmazonSageMakerFullAccess included), that keep the execution role inside the perimeter
whoever holds its credentials (docs/perimeter.md). In ``managed`` mode a permissions boundary
caps the role at the services (and, for IAM, EC2 and KMS, the actions) that AWS's policy
version v29 and our policies use, so that a new version of the AWS managed policy cannot
widen the role beyond what was reviewed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from isolated_studio.base.paths import PROJECT_ROOT
from isolated_studio.config.rules import IAM_MODES
from modules.encryption_key import DATA_ACTIONS
from modules.exclusive_role_policies import ExclusiveRolePolicies, ExclusiveRolePoliciesProps
from modules.policy_document import policy_document
from modules.props import name_tags, raise_for
from modules.secure_bucket import READ_WRITE_ACTIONS

MODES = IAM_MODES
# Every sagemaker-mlflow action that supports resource-level permissions, as prefixes:
# `sagemaker-mlflow:*` on the server ARN would also name AccessUI, which takes only "*"
# (Service Authorization Reference) and so would silently not be granted.
MLFLOW_SERVER_ACTIONS = [
    f"sagemaker-mlflow:{verb}*"
    for verb in (
        "Create",
        "Delete",
        "End",
        "Get",
        "List",
        "Log",
        "Rename",
        "Restore",
        "Search",
        "Set",
        "Start",
        "Transition",
        "Update",
    )
]
OBJECT_ACTIONS = READ_WRITE_ACTIONS
BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation"]
MANAGED_POLICY = "AmazonSageMakerFullAccess"
MANAGED_POLICIES_DIR = PROJECT_ROOT / "policy" / "aws-managed"

# SageMaker resources created with a VPC configuration that the Service Authorization Reference
# lets a policy see (sagemaker:VpcSubnets and sagemaker:VpcSecurityGroupIds on the action).
# CreateDomain, UpdateDomain, CreateUserProfile and UpdateUserProfile are administration, denied
# outright (NoStudioOrMlflowAdministration).
VPC_PINNED_ACTIONS = [
    f"sagemaker:{a}"
    for a in (
        "CreateAutoMLJob",
        "CreateAutoMLJobV2",
        "CreateDataQualityJobDefinition",
        "CreateEndpointConfig",
        "CreateHyperParameterTuningJob",
        "CreateModel",
        "CreateModelBiasJobDefinition",
        "CreateModelExplainabilityJobDefinition",
        "CreateModelQualityJobDefinition",
        "CreateMonitoringSchedule",
        "CreateNotebookInstance",
        "CreateProcessingJob",
        "CreateTrainingJob",
        "UpdateMonitoringSchedule",
    )
]
# Those whose VPC configuration lives elsewhere: an endpoint configuration runs the models it names,
# each pinned by CreateModel, so it may come without one (a VPC configuration it gives must be ours).
VPC_OPTIONAL_ACTIONS = ["sagemaker:CreateEndpointConfig"]
# Compute that takes a VPC configuration the Service Authorization Reference gives no condition key
# for, or that hands data to people or devices outside the account: denied outright.
UNPINNABLE_COMPUTE = {
    "sagemaker:CreateCluster": "HyperPod clusters: VpcConfig and OverrideVpcConfig have no condition key",
    "sagemaker:UpdateCluster": "HyperPod instance groups' OverrideVpcConfig has no condition key",
    "sagemaker:UpdateClusterSoftware": "HyperPod: changes the software of instances the policy cannot pin",
    "sagemaker:CreateCompilationJob": "Neo compilation: VpcConfig has no condition key",
    "sagemaker:CreateInferenceRecommendationsJob": "Inference Recommender: InputConfig.VpcConfig has no condition key",
    "sagemaker:CreateOptimizationJob": "inference optimization: VpcConfig has no condition key",
    "sagemaker:CreateLabelingJob": "Ground Truth sends the data to a labeling workforce",
    "sagemaker:CreateFlowDefinition": "Augmented AI human review sends the data to a workforce",
    "sagemaker:CreateEdgePackagingJob": "packages models for edge devices outside the account's network",
    "sagemaker:CreateDeviceFleet": "edge device fleets are outside the VPC",
    "sagemaker:CreateEdgeDeploymentPlan": "deploys models to edge devices outside the VPC",
    "sagemaker-geospatial:StartEarthObservationJob": "geospatial jobs run in SageMaker's network, no VPC configuration",
    "sagemaker-geospatial:StartVectorEnrichmentJob": "geospatial jobs run in SageMaker's network, no VPC configuration",
}
# Changes that open a new network path into or out of the VPC (AWS's data-perimeter governance SCP,
# data_perimeter_governance_scp.json, lists the peering and endpoint ones).
NETWORK_PATH_ACTIONS = [
    *(
        f"ec2:{a}"
        for a in (
            "CreateVpcEndpoint",
            "ModifyVpcEndpoint",
            "CreateVpcEndpointServiceConfiguration",
            "ModifyVpcEndpointServicePermissions",
            "AcceptVpcEndpointConnections",
            "CreateVpcPeeringConnection",
            "AcceptVpcPeeringConnection",
            "CreateTransitGatewayVpcAttachment",
            "AcceptTransitGatewayVpcAttachment",
            "CreateInternetGateway",
            "AttachInternetGateway",
            "CreateEgressOnlyInternetGateway",
            "CreateNatGateway",
            "CreateCarrierGateway",
            "CreateVpnGateway",
            "AttachVpnGateway",
            "CreateVpnConnection",
            "CreateCustomerGateway",
            "EnableVgwRoutePropagation",
            "CreateClientVpnEndpoint",
            "AssociateClientVpnTargetNetwork",
            "CreateRoute",
            "ReplaceRoute",
            "CreateRouteTable",
            "AssociateRouteTable",
            "ReplaceRouteTableAssociation",
            "AuthorizeSecurityGroupEgress",
            "AuthorizeSecurityGroupIngress",
            "ModifySecurityGroupRules",
            "AllocateAddress",
            "AssociateAddress",
            "ModifySubnetAttribute",
            "DeleteFlowLogs",
        )
    ),
    "route53:AssociateVPCWithHostedZone",
    "route53:CreateVPCAssociationAuthorization",
    # The DNS firewall, its query log and resolver endpoints/rules (a forwarding rule is a DNS path out).
    *(
        f"route53resolver:{verb}*"
        for verb in ("Associate", "Disassociate", "Create", "Delete", "Update", "Put", "Import")
    ),
]
# Resource policies and sharing that would open our data to other principals.
RESOURCE_POLICY_ACTIONS = [
    *(
        f"s3:{a}"
        for a in (
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "PutBucketAcl",
            "PutObjectAcl",
            "PutObjectVersionAcl",
            "PutBucketPublicAccessBlock",
            "PutAccountPublicAccessBlock",
            "PutBucketOwnershipControls",
            "CreateAccessPoint",
            "PutAccessPointPolicy",
            "CreateAccessPointForObjectLambda",
            "PutAccessPointPolicyForObjectLambda",
            "CreateMultiRegionAccessPoint",
            "PutMultiRegionAccessPointPolicy",
            "CreateAccessGrant",
            "CreateAccessGrantsInstance",
            "PutAccessGrantsInstanceResourcePolicy",
        )
    ),
    "ecr:SetRepositoryPolicy",
    "ecr:PutRegistryPolicy",
    "logs:PutResourcePolicy",
    "logs:PutDestinationPolicy",
    "logs:PutDeliveryDestinationPolicy",
    "sagemaker:PutModelPackageGroupPolicy",
    "kms:PutKeyPolicy",
    "codeartifact:PutDomainPermissionsPolicy",
    "codeartifact:PutRepositoryPermissionsPolicy",
    "elasticfilesystem:PutFileSystemPolicy",
    "secretsmanager:PutResourcePolicy",
    "glue:PutResourcePolicy",
    "lambda:AddPermission",
    "sns:AddPermission",
    "ram:CreateResourceShare",
    "ram:AssociateResourceShare",
    "ram:UpdateResourceShare",
    "ec2:ModifySnapshotAttribute",
    "ec2:ModifyImageAttribute",
]
# Features that copy data to a destination of the caller's choice, written by the service itself
# (its service principal, not the caller: aws:ResourceAccount does not stop them).
DATA_EXPORT_ACTIONS = [
    "logs:PutSubscriptionFilter",
    "logs:PutDestination",
    "logs:CreateExportTask",
    "logs:CreateLogDelivery",
    "logs:PutDeliveryDestination",
    "logs:CreateDelivery",
    "s3:PutReplicationConfiguration",
    "s3:PutBucketNotification",
    "s3:PutBucketLogging",
    "s3:PutInventoryConfiguration",
    "s3:PutAnalyticsConfiguration",
    "ecr:PutReplicationConfiguration",
    "cloudwatch:PutMetricStream",
]
# Studio's own resources, which the studio-domain policy keeps to our domain.
STUDIO_DOMAIN_ACTIONS = [
    f"sagemaker:{a}"
    for a in (
        "CreateApp",
        "DeleteApp",
        "CreateSpace",
        "UpdateSpace",
        "DeleteSpace",
        "CreatePresignedDomainUrl",
    )
]
# Services whose actions the permissions boundary lists one by one, as AWS's policy and ours name
# them (IAM, networks and keys: where one new action would be an escalation); every other service
# the policies use is bounded as a whole ("<service>:*").
BOUNDARY_BY_ACTION = ("iam", "ec2", "kms")


def managed_policy_document(name: str = MANAGED_POLICY) -> dict:
    """The reviewed copy of an AWS managed policy, policy/aws-managed/<name>.<version>.json."""
    found = sorted(MANAGED_POLICIES_DIR.glob(f"{name}.v*.json"))
    if len(found) != 1:
        raise ValueError(f"expected one reviewed copy of {name} in {MANAGED_POLICIES_DIR}, found {found}")
    return json.loads(found[0].read_text())


def _doc(*statements: Mapping) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(
    sid: str, actions: Sequence[str] | str, resources: Sequence[str] | str, condition: Mapping | None = None
) -> dict:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
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
        jobs only with exactly this VPC configuration (what @remote uses); in both modes every
        SageMaker resource taking a VPC configuration is denied any other.
    domain_id: the Studio domain; set, the execution role gets the ``studio-domain`` policy
        keeping apps, spaces and presigned URLs to it (the stack adds that policy once the
        domain exists: :meth:`StudioRoles.restrict_to_domain`).
    experiments_endpoint_id: the VPC's MLflow (``experiments``) endpoint: the execution role
        reaches the tracking server only through it (None: never).
    image_accounts: the AWS accounts whose ECR images the role may pull (SageMaker's images,
        policy/aws-owned-resources.toml, and workload.docker_trusted_accounts): besides those,
        the role reaches no other account's resources.
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
    domain_id: str = ""
    experiments_endpoint_id: str | None = None
    image_accounts: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if self.mode not in MODES:
            found.append(f"mode: {self.mode!r} must be one of {list(MODES)}")
        if not self.lab_bucket_names:
            found.append("lab_bucket_names: the execution role needs at least one bucket")
        if not self.subnet_ids or not self.security_group_ids:
            found.append("subnet_ids/security_group_ids: the guardrails pin SageMaker jobs to the VPC and need both")
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

    @property
    def boundary_name(self) -> str:
        return f"{self.name}-studio-execution-boundary"


class StudioRoles(Construct):
    """Attributes: ``execution_role``, ``mlflow_role``, ``policies`` (name -> IamRolePolicy),
    ``exclusive`` ("execution" / "mlflow" -> :class:`ExclusiveRolePolicies`)."""

    def __init__(self, scope: Construct, id: str, *, props: StudioRolesProps) -> None:
        raise_for("StudioRoles", props.problems())
        super().__init__(scope, id)
        p = props
        trust = self.trust_policies(p)
        execution_trust = policy_document(self, "sagemaker-trust", trust["execution"])
        mlflow_trust = policy_document(self, "mlflow-trust", trust["mlflow"])
        tags = dict(p.tags)
        self.props = p
        boundary = self.boundary_policy(p)
        self.boundary = (
            IamPolicy(
                self,
                "execution-boundary",
                name=p.boundary_name,
                description="Permissions boundary of the Studio execution role: the services AWS's managed policy "
                "(reviewed version) and our policies use",
                policy=policy_document(self, "execution-boundary-document", boundary),
                tags=name_tags(p.boundary_name, tags),
            )
            if boundary
            else None
        )
        self.execution_role = IamRole(
            self,
            "execution-role",
            name=p.execution_role_name,
            assume_role_policy=execution_trust,
            description="SageMaker Studio execution role for the isolated lab",
            permissions_boundary=self.boundary.arn if self.boundary else None,
            max_session_duration=3600,
            tags=name_tags(p.execution_role_name, tags),
        )
        self.mlflow_role = IamRole(
            self,
            "mlflow-role",
            name=p.mlflow_role_name,
            assume_role_policy=mlflow_trust,
            description="SageMaker managed MLflow tracking server role",
            tags=name_tags(p.mlflow_role_name, tags),
        )
        self.policies: dict[str, IamRolePolicy] = {}
        for policy_name, document in self.execution_policies(p).items():
            self.policies[policy_name] = IamRolePolicy(
                self,
                f"execution-{policy_name}",
                name=policy_name,
                role=self.execution_role.id,
                policy=policy_document(self, f"execution-{policy_name}-document", document),
            )
        for policy_name, document in self.mlflow_policies(p).items():
            self.policies[f"mlflow-{policy_name}"] = IamRolePolicy(
                self,
                f"mlflow-{policy_name}",
                name=policy_name,
                role=self.mlflow_role.id,
                policy=policy_document(self, f"mlflow-{policy_name}-document", document),
            )
        attachments = (
            [
                IamRolePolicyAttachment(
                    self,
                    "execution-sagemaker-full-access",
                    role=self.execution_role.name,
                    policy_arn=f"arn:{p.partition}:iam::aws:policy/{MANAGED_POLICY}",
                )
            ]
            if p.mode == "managed"
            else []
        )
        # Nothing but these: `make deploy` removes an inline policy or attachment added by hand
        # (docs/operations.md, "Why report, not exclusive rules").
        self.exclusive = {
            "execution": ExclusiveRolePolicies(
                self,
                "execution-exclusive",
                props=ExclusiveRolePoliciesProps(
                    role_name=self.execution_role.name,
                    policy_names=[
                        policy.name for key, policy in self.policies.items() if not key.startswith("mlflow-")
                    ],
                    policy_arns=[a.policy_arn for a in attachments],
                ),
            ),
            "mlflow": ExclusiveRolePolicies(
                self,
                "mlflow-exclusive",
                props=ExclusiveRolePoliciesProps(
                    role_name=self.mlflow_role.name,
                    policy_names=[policy.name for key, policy in self.policies.items() if key.startswith("mlflow-")],
                ),
            ),
        }

    def restrict_to_domain(self, domain_id: str) -> IamRolePolicy:
        """Add the ``studio-domain`` policy once the domain (which needs the role) exists."""
        name = "studio-domain"
        self.policies[name] = IamRolePolicy(
            self,
            f"execution-{name}",
            name=name,
            role=self.execution_role.id,
            policy=policy_document(
                self, f"execution-{name}-document", self.studio_domain_policy(self.props, domain_id)
            ),
        )
        self.exclusive["execution"].add_policy_name(self.policies[name].name)
        return self.policies[name]

    @staticmethod
    def trust_policies(p: StudioRolesProps) -> dict[str, dict]:
        """The roles' trust policies: "execution" and "mlflow"."""

        def sagemaker_may_assume(condition: Mapping | None) -> dict:
            statement = {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
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
                _allow(
                    "AwsServicesGrantOnLabKey",
                    "kms:CreateGrant",
                    p.kms_key_arn,
                    {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
            ),
            "mlflow": _doc(
                _allow("UseOurTrackingServer", MLFLOW_SERVER_ACTIONS, server_arn),
                # Opening the MLflow UI; every call the UI then makes is scoped above.
                _allow("OpenMlflowUi", "sagemaker-mlflow:AccessUI", "*"),
                _allow(
                    "FindOurTrackingServer",
                    ["sagemaker:DescribeMlflowTrackingServer", "sagemaker:CreatePresignedMlflowTrackingServerUrl"],
                    server_arn,
                ),
                _allow("ListTrackingServers", "sagemaker:ListMlflowTrackingServers", "*"),
                # The notebook finds the server by its domain-id tag when no ARN is given.
                _allow("ReadTrackingServerTags", "sagemaker:ListTags", p.arn("sagemaker", "mlflow-tracking-server/*")),
            ),
            "codeartifact": _doc(
                _allow(
                    "PipLoginToken",
                    "codeartifact:GetAuthorizationToken",
                    p.arn("codeartifact", f"domain/{p.codeartifact_domain}"),
                ),
                _allow(
                    "PipReadRepository",
                    ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                    p.arn("codeartifact", f"repository/{p.codeartifact_domain}/{p.codeartifact_repository}"),
                ),
                _allow(
                    "PipBearerToken",
                    "sts:GetServiceBearerToken",
                    "*",
                    {"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
                ),
            ),
        }
        policies["guardrails"] = cls._guardrails_policy(p, server_arn)
        if p.domain_id:
            policies["studio-domain"] = cls.studio_domain_policy(p, p.domain_id)
        if p.mode == "least-privilege":
            policies["studio"] = cls._studio_policy(p)
            policies["jobs"] = cls._jobs_policy(p)
        return policies

    @staticmethod
    def _guardrails_policy(p: StudioRolesProps, server_arn: str) -> dict:
        """Explicit denies, for both modes: AmazonSageMakerFullAccess (managed mode) allows most of
        these, and a deny wins over it. Administration stays with the platform team, and nothing
        that holds the execution role's credentials, in a notebook, a job or anywhere else, can
        take data out of the account or the VPC (docs/perimeter.md)."""

        def deny(sid: str, actions: Sequence[str] | str, condition: Mapping | None = None, **resource: object) -> dict:
            statement = {"Sid": sid, "Effect": "Deny", "Action": actions, **(resource or {"Resource": "*"})}
            if condition:
                statement["Condition"] = condition
            return statement

        ours = {"sagemaker:VpcSubnets": list(p.subnet_ids), "sagemaker:VpcSecurityGroupIds": list(p.security_group_ids)}
        must_name = [a for a in VPC_PINNED_ACTIONS if a not in VPC_OPTIONAL_ACTIONS]
        mlflow_outside = (
            {"StringNotEquals": {"aws:SourceVpce": p.experiments_endpoint_id}} if p.experiments_endpoint_id else None
        )
        return _doc(
            # AmazonSageMakerFullAccess passes any role to SageMaker.
            deny("PassOnlyTheExecutionRole", "iam:PassRole", NotResource=[p.execution_role_arn]),
            # sagemaker:* on every tracking server and domain-level call the managed policy allows.
            deny(
                "NoStudioOrMlflowAdministration",
                [
                    "sagemaker:CreateDomain",
                    "sagemaker:DeleteDomain",
                    "sagemaker:UpdateDomain",
                    "sagemaker:CreateUserProfile",
                    "sagemaker:DeleteUserProfile",
                    "sagemaker:UpdateUserProfile",
                    "sagemaker:CreateMlflowTrackingServer",
                    "sagemaker:DeleteMlflowTrackingServer",
                    "sagemaker:UpdateMlflowTrackingServer",
                ],
            ),
            deny(
                "OnlyOurTrackingServer",
                ["sagemaker:CreatePresignedMlflowTrackingServerUrl", *MLFLOW_SERVER_ACTIONS],
                NotResource=[server_arn],
            ),
            # The tracking server answers from anywhere: with copied credentials, from the internet
            # (SageMaker Developer Guide, "Allow access only from within your VPC", which restricts
            # sagemaker-mlflow:* with aws:SourceVpce; the UI keeps opening through a presigned URL).
            deny("MlflowOnlyThroughOurEndpoint", "sagemaker-mlflow:*", mlflow_outside),
            # The SDK's Session.default_bucket() creates sagemaker-<region>-<account> (no key, no
            # TLS-only policy, no logging) when it finds no configured bucket: never let it.
            deny("NoBucketsOutsideTerraform", "s3:CreateBucket"),
            # Every SageMaker resource that takes a VPC configuration: only ours, and never none
            # (a job without one runs in SageMaker's network, with internet access). The keys are
            # the Service Authorization Reference's; ForAnyValue alone matches no request without them.
            deny(
                "SageMakerOnlyInOurSubnets",
                VPC_PINNED_ACTIONS,
                {"ForAnyValue:StringNotEquals": {"sagemaker:VpcSubnets": ours["sagemaker:VpcSubnets"]}},
            ),
            deny(
                "SageMakerOnlyWithOurSecurityGroups",
                VPC_PINNED_ACTIONS,
                {
                    "ForAnyValue:StringNotEquals": {
                        "sagemaker:VpcSecurityGroupIds": ours["sagemaker:VpcSecurityGroupIds"]
                    }
                },
            ),
            deny("NoSageMakerWithoutOurSubnets", must_name, {"Null": {"sagemaker:VpcSubnets": "true"}}),
            deny("NoSageMakerWithoutOurSecurityGroups", must_name, {"Null": {"sagemaker:VpcSecurityGroupIds": "true"}}),
            # A notebook instance with direct internet access gets a network interface in SageMaker's
            # VPC, whatever its subnet (CreateNotebookInstance, DirectInternetAccess: default Enabled).
            deny(
                "NoNotebookInstanceInternet",
                "sagemaker:CreateNotebookInstance",
                {"StringNotEquals": {"sagemaker:DirectInternetAccess": "Disabled"}},
            ),
            # What cannot be pinned to our VPC (each reason in UNPINNABLE_COMPUTE).
            deny("NoComputeOutsideOurVpc", sorted(UNPINNABLE_COMPUTE)),
            # No request to another account's resources, except the AWS image repositories the
            # jobs and Studio pull (aws-samples/data-perimeter-policy-examples,
            # resource_perimeter_scp.json). A negated operator is true for a missing key (IAM User
            # Guide, "Condition operators"): Null keeps a request without a resource account out of
            # the deny, where the endpoint policies and our grants decide it.
            deny(
                "NoOtherAccountsResources",
                "*",
                {
                    "StringNotEquals": {"aws:ResourceAccount": [p.account_id, *sorted(set(p.image_accounts))]},
                    "Null": {"aws:ResourceAccount": "false"},
                },
            ),
            deny("NoNewNetworkPaths", NETWORK_PATH_ACTIONS),
            deny("NoResourcePoliciesOrSharing", RESOURCE_POLICY_ACTIONS),
            deny("NoDataExports", DATA_EXPORT_ACTIONS),
        )

    @staticmethod
    def studio_domain_policy(p: StudioRolesProps, domain_id: str) -> dict:
        """Apps, spaces and presigned URLs only in our domain: the managed policy and the
        least-privilege grants name every domain of the account (``domain/*``, ``app/*/*/*/*``)."""
        # The ARN formats of these actions' resources (Service Authorization Reference): an app is
        # app/<domain>/<user profile or space>/<type>/<name>.
        ours = [
            p.arn("sagemaker", f"{kind}/{domain_id}/{rest}")
            for kind, rest in (("user-profile", "*"), ("space", "*"), ("app", "*/*/*"))
        ]
        return _doc(
            {"Sid": "OnlyOurStudioDomain", "Effect": "Deny", "Action": STUDIO_DOMAIN_ACTIONS, "NotResource": ours}
        )

    @classmethod
    def boundary_policy(cls, p: StudioRolesProps) -> dict | None:
        """The managed mode's permissions boundary (None in least-privilege mode, whose own
        policies are the whole grant): every service AWS's reviewed AmazonSageMakerFullAccess and
        our policies use, and for IAM, EC2 and KMS only the actions they name."""
        if p.mode != "managed":
            return None
        documents = [managed_policy_document(), *cls.execution_policies(p).values()]
        actions = {
            a
            for d in documents
            for s in d["Statement"]
            if s["Effect"] == "Allow"
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        services = sorted({a.split(":", 1)[0] for a in actions} - set(BOUNDARY_BY_ACTION))
        return _doc(
            _allow("ServicesOfTheReviewedPolicies", [f"{service}:*" for service in services], "*"),
            _allow(
                "ActionsOfTheReviewedPolicies",
                sorted(a for a in actions if a.split(":", 1)[0] in BOUNDARY_BY_ACTION),
                "*",
            ),
        )

    @staticmethod
    def _studio_policy(p: StudioRolesProps) -> dict:
        # Service Authorization Reference: app/${DomainId}/${UserProfileName}/${AppType}/${AppName}
        # (four parts after app/; a space's apps name the space in the second).
        studio = [p.arn("sagemaker", r) for r in ("domain/*", "user-profile/*/*", "space/*/*", "app/*/*/*/*")]
        return _doc(
            _allow(
                "StudioAppsAndSpaces",
                [
                    "sagemaker:CreateApp",
                    "sagemaker:DeleteApp",
                    "sagemaker:DescribeApp",
                    "sagemaker:CreateSpace",
                    "sagemaker:UpdateSpace",
                    "sagemaker:DeleteSpace",
                    "sagemaker:DescribeSpace",
                    "sagemaker:DescribeDomain",
                    "sagemaker:DescribeUserProfile",
                    "sagemaker:CreatePresignedDomainUrl",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                studio,
            ),
            _allow(
                "StudioListings",
                [
                    "sagemaker:ListApps",
                    "sagemaker:ListSpaces",
                    "sagemaker:ListDomains",
                    "sagemaker:ListUserProfiles",
                ],
                "*",
            ),
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
            _allow(
                "RemoteJobsInOurVpc", ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob"], jobs, in_our_vpc
            ),
            _allow(
                "FollowRemoteJobs",
                [
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:AddTags",
                ],
                jobs,
            ),
            # The SDK's list_futures() finds a function's earlier jobs by name (remote_function/client.py).
            _allow("ListRemoteJobs", "sagemaker:ListTrainingJobs", "*"),
            _allow(
                "PassOnlyThisRole",
                "iam:PassRole",
                p.execution_role_arn,
                {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            # sagemaker.get_execution_role() reads the role for its path (Session.get_caller_identity_arn).
            _allow("ReadThisRole", "iam:GetRole", p.execution_role_arn),
            _allow(
                "JobLogs",
                [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                    "logs:GetLogEvents",
                ],
                [log_groups, f"{log_groups}:log-stream:*"],
            ),
            _allow("EcrLogin", "ecr:GetAuthorizationToken", "*"),
            _allow(
                "PullSageMakerImages",
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                f"arn:{p.partition}:ecr:{p.region}:*:repository/*",
            ),
            # Jobs in the VPC get network interfaces: only in our subnets, with our security groups.
            _allow(
                "JobNetworkInterfaces",
                [
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                [
                    p.arn("ec2", "network-interface/*"),
                    *[p.arn("ec2", f"subnet/{subnet}") for subnet in p.subnet_ids],
                    *[p.arn("ec2", f"security-group/{sg}") for sg in p.security_group_ids],
                ],
            ),
            _allow(
                "DescribeJobNetwork",
                [
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeDhcpOptions",
                ],
                "*",
            ),
            # Training jobs publish their metrics with the role (SageMaker Developer Guide,
            # "CreateTrainingJob API: Execution Role Permissions").
            _allow(
                "JobMetrics",
                "cloudwatch:PutMetricData",
                "*",
                {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
        )

    @classmethod
    def mlflow_policies(cls, p: StudioRolesProps) -> dict[str, dict]:
        # Versioned model packages are model-package/<group>/<version> (a group's versions).
        registry = [p.arn("sagemaker", r) for r in ("model-package-group/*", "model-package/*/*")]
        lineage = [
            p.arn("sagemaker", f"{kind}/*")
            for kind in ("action", "artifact", "context", "experiment", "experiment-trial-component")
        ]
        return {
            "artifacts": _doc(*cls._data_statements(p, [p.mlflow_bucket_name])),
            "model-registry": _doc(
                # Automatic model registration mirrors MLflow registered models into SageMaker:
                # package groups and versions, and their lineage (SageMaker Developer Guide,
                # "Automatically register SageMaker AI models with SageMaker Model Registry" and
                # "Set up IAM permissions for MLflow", the tracking server's service role).
                _allow(
                    "RegisterModels",
                    [
                        "sagemaker:CreateModelPackageGroup",
                        "sagemaker:DescribeModelPackageGroup",
                        "sagemaker:CreateModelPackage",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:UpdateModelPackage",
                        "sagemaker:AddTags",
                    ],
                    registry,
                ),
                _allow(
                    "RecordRegistrationLineage",
                    ["sagemaker:CreateAction", "sagemaker:AddTags"],
                    p.arn("sagemaker", "action/*"),
                ),
                # An association links two lineage entities of any of these types.
                _allow("LinkRegistrationLineage", "sagemaker:AddAssociation", lineage),
            ),
        }
