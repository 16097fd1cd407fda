"""Everything a data scientist uses inside the isolated network.

The network arrives as a NetworkStack object; cdktf turns every attribute read from it into
an output of the network stack and a `terraform_remote_state` read here, so nothing is
looked up by name or tag.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from cdktf import Fn, TerraformLocal, TerraformOutput
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from constructs import Construct

from isolated_studio.base.paths import PROJECT_ROOT
from isolated_studio.config import StudioConfig
from modules import aws_owned
from modules.emulator_guard import EmulatorGuard, EmulatorGuardProps
from modules.encryption_key import EncryptionKey, EncryptionKeyProps
from modules.lab_content import LabContent, LabContentProps
from modules.mlflow_server import MlflowServer, MlflowServerProps
from modules.pypi_mirror import PypiMirror, PypiMirrorProps
from modules.secure_bucket import SecureBucket, SecureBucketProps
from modules.studio_domain import (
    REMOTE_FUNCTION_PREFIX,
    START_SCRIPT_KEY,
    StudioDomain,
    StudioDomainProps,
    codeartifact_login,
    jupyterlab_bootstrap_script,
    jupyterlab_startup_script,
    sagemaker_sdk_config,
)
from modules.studio_roles import StudioRoles, StudioRolesProps
from modules.user_profiles import UserProfiles, UserProfilesProps
from stacks.base import StudioStack
from stacks.network import NetworkStack

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
#: The UCI file, when the user saved it there; else deploy generates one beside it.
DEFAULT_DATA_FILE = PROJECT_ROOT / "data" / "ai4i2020.csv"
GENERATED_DATA_FILE = PROJECT_ROOT / "data" / "generated" / "ai4i2020.csv"


def lab_data_file(configured: str) -> Path:
    """The AI4I 2020 CSV a deploy uploads: the configured file, else data/ai4i2020.csv, else generated.

    The generator (the same command as `make data`, seed 42) is deterministic, so the file and
    its S3 object stay the same from one synthesis to the next and plans show no change.
    """
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else PROJECT_ROOT / path
    if DEFAULT_DATA_FILE.is_file():
        return DEFAULT_DATA_FILE
    if not GENERATED_DATA_FILE.is_file():
        GENERATED_DATA_FILE.parent.mkdir(parents=True, exist_ok=True)
        # A name of this process's own: syntheses side by side (test workers, two terminals) each
        # write a whole file and the last rename wins; the generator is deterministic, so they agree.
        partial = GENERATED_DATA_FILE.with_suffix(f".{os.getpid()}.partial")
        subprocess.run(
            [sys.executable, "-m", "pm_lab.synthetic", "--rows", "10000", "--seed", "42", "--out", str(partial)],
            cwd=NOTEBOOKS_DIR, check=True, stdout=subprocess.DEVNULL,
        )
        partial.replace(GENERATED_DATA_FILE)
    return GENERATED_DATA_FILE


def lab_bucket_names(config: StudioConfig, account: str) -> dict[str, str]:
    """The buckets' names by kind ("logs", "notebooks", "mlflow").

    Deterministic names (account and region make them globally unique) let roles and policies
    name the buckets without waiting for them.
    """
    return {kind: f"{config.name_prefix}-{kind}-{account}-{config.region}" for kind in ("logs", "notebooks", "mlflow")}


def studio_roles_props(config: StudioConfig, *, account: str, partition: str, key_arn: str,
                       subnet_ids: Sequence[str], security_group_ids: Sequence[str],
                       experiments_endpoint_id: str | None, domain_id: str = "") -> StudioRolesProps:
    """The roles' inputs from the configuration and the values only AWS knows (tokens in a
    synthesis, concrete values in the policy tests that evaluate the roles without one)."""
    w, buckets = config.workload, lab_bucket_names(config, account)
    return StudioRolesProps(
        name=config.name_prefix,
        mode=w.iam_mode,
        partition=partition,
        region=config.region,
        account_id=account,
        lab_bucket_names=[buckets["notebooks"], buckets["mlflow"]],
        mlflow_bucket_name=buckets["mlflow"],
        kms_key_arn=key_arn,
        mlflow_server_name=config.mlflow_server_name,
        codeartifact_domain=config.codeartifact_domain,
        codeartifact_repository=w.codeartifact_repository,
        subnet_ids=subnet_ids,
        security_group_ids=security_group_ids,
        domain_id=domain_id,
        experiments_endpoint_id=experiments_endpoint_id,
        image_accounts=[*aws_owned.for_region(config.region).registry_accounts, *w.docker_trusted_accounts],
    )


class WorkloadStack(StudioStack):
    def __init__(self, scope: Construct, id: str, *, config: StudioConfig, network: NetworkStack) -> None:
        super().__init__(scope, id, config=config)
        self.use_s3_backend("workload")
        c, w, name = config, config.workload, config.name_prefix
        if c.emulator.enabled:
            EmulatorGuard(self, "emulator-guard", props=EmulatorGuardProps(
                stack="workload",
                cannot_create="SageMaker domains, user profiles, lifecycle configurations, MLflow tracking servers "
                              "or CodeArtifact",
                instead='STUDIO_ENV=emulator make deploy ARGS="--yes --emulator-scope"',
            ))
        account = DataAwsCallerIdentity(self, "account").account_id
        partition = DataAwsPartition(self, "partition").partition

        vpc_id = network.vpc.vpc.id
        subnet_ids = [s.id for s in network.vpc.subnets]
        studio_sg = network.studio_security_group.security_group.id
        experiments = network.endpoints.interface_endpoints.get("experiments")
        s3_endpoint = network.endpoints.s3_gateway.id

        self.key = EncryptionKey(
            self,
            "kms",
            props=EncryptionKeyProps(
                name=f"{name}-workload",
                description=f"{name}: Studio home EFS, lab buckets, CodeArtifact, SageMaker logs",
                account_id=account,
                partition=partition,
                region=c.region,
                via_services=("s3", "elasticfilesystem", "codeartifact", "sagemaker"),
                log_group_pattern="/aws/sagemaker/*",
            ),
        )
        key_arn = self.key.key.arn
        bucket_names = lab_bucket_names(config, account)
        self.roles = StudioRoles(
            self,
            "iam",
            props=studio_roles_props(config, account=account, partition=partition, key_arn=key_arn,
                                     subnet_ids=subnet_ids, security_group_ids=[studio_sg],
                                     experiments_endpoint_id=experiments.id if experiments else None),
        )
        lab_roles = [self.roles.execution_role.arn, self.roles.mlflow_role.arn]

        self.log_bucket = SecureBucket(
            self,
            "access-logs",
            props=SecureBucketProps(
                bucket_name=bucket_names["logs"],
                kms_key_arn=None,  # S3 server access logging cannot deliver to SSE-KMS buckets
                access_log_bucket=None,
                force_destroy=w.force_destroy_buckets,
                # moto enforces the TLS-only Deny without its condition (as for the state bucket).
                deny_insecure_transport=not c.emulator.enabled,
                noncurrent_version_days=w.noncurrent_version_expiration_days,
                extra_statements=[{
                    "Sid": "S3ServerAccessLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:{partition}:s3:::{bucket_names['logs']}/*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                }],
            ),
        )

        def lab_bucket(id: str, kind: str, **extra: object) -> SecureBucket:
            """A KMS-encrypted bucket the lab roles read and write, logging into access-logs."""
            return SecureBucket(
                self,
                id,
                props=SecureBucketProps(
                    bucket_name=bucket_names[kind],
                    kms_key_arn=key_arn,
                    access_log_bucket=self.log_bucket.bucket.id,
                    access_log_prefix=f"{kind}/",
                    access_log_ready=[self.log_bucket.policy],
                    read_write_principals=lab_roles,
                    force_destroy=w.force_destroy_buckets,
                    deny_insecure_transport=not c.emulator.enabled,
                    # The execution role's credentials work only through our S3 endpoint; the MLflow
                    # server (its own role, from SageMaker's network) and the deployer are not bound.
                    # moto applies a Deny without its condition: not in the emulator (docs/perimeter.md).
                    endpoint_only_principals=[] if c.emulator.enabled else [self.roles.execution_role.arn],
                    endpoint_ids=[] if c.emulator.enabled else [s3_endpoint],
                    noncurrent_version_days=w.noncurrent_version_expiration_days,
                    **extra,
                ),
            )

        # The start script every JupyterLab app runs (modules/studio_domain.py) is written by
        # deploys only: no lab role may change what the other users' apps run. moto applies a Deny
        # without its condition (it would refuse the deploy's own upload): not in the emulator.
        self.notebooks_bucket = lab_bucket("notebooks", "notebooks", extra_statements=[] if c.emulator.enabled else [{
            "Sid": "OnlyDeploysWriteTheStartScript",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"],
            "Resource": f"arn:{partition}:s3:::{bucket_names['notebooks']}/{START_SCRIPT_KEY}",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": lab_roles}},
        }])
        self.data_file = lab_data_file(w.data_file)
        # What the notebook needs in Studio, written by the start script to
        # ~/.isolated-studio/settings.json (pm_lab.settings reads it). Only deterministic names
        # and network/key values: the tracking server ARN is built from its name, since the
        # server (tagged with the domain id) cannot feed the domain's own start script.
        self.lab_settings = {
            "schema_version": 1,
            "region": c.region,
            "account_id": account,
            "codeartifact_domain": c.codeartifact_domain,
            "codeartifact_domain_owner": account,
            "codeartifact_repository": w.codeartifact_repository,
            "tracking_server_arn": (
                f"arn:{partition}:sagemaker:{c.region}:{account}:mlflow-tracking-server/{c.mlflow_server_name}"
            ),
            "mlflow_version": w.mlflow_version,
            "notebooks_bucket": bucket_names["notebooks"],
            "data_uri": f"s3://{bucket_names['notebooks']}/{w.data_prefix}/{self.data_file.name}",
            "remote_s3_root_uri": f"s3://{bucket_names['notebooks']}/{REMOTE_FUNCTION_PREFIX}",
            "kms_key_arn": key_arn,
            "subnet_ids": subnet_ids,
            "security_group_ids": [studio_sg],
            "execution_role_arn": self.roles.execution_role.arn,
        }
        self.pypi = PypiMirror(
            self,
            "codeartifact",
            props=PypiMirrorProps(
                domain_name=c.codeartifact_domain,
                repository=w.codeartifact_repository,
                upstream_repository=w.codeartifact_upstream_repository,
                kms_key_arn=key_arn,
            ),
        )
        self.start_script = jupyterlab_startup_script(
            region=c.region,
            codeartifact_domain=c.codeartifact_domain,
            codeartifact_owner=account,
            codeartifact_repository=w.codeartifact_repository,
            lab_bucket=bucket_names["notebooks"],
            lab_prefix=w.notebooks_prefix,
            # A local keeps the JSON (and its quotes) out of the script's text. The values
            # are a local of their own: strings that interpolate a reference ("arn:${...}")
            # inside a built-in function's arguments make cdktf warn that such escape
            # sequences are unsupported; as a local, jsonencode() gets one plain reference.
            settings_base64=TerraformLocal(
                self, "lab_settings", Fn.base64encode(Fn.jsonencode(
                    TerraformLocal(self, "lab_settings_values", self.lab_settings).expression
                ))
            ).as_string,
            sdk_config=sagemaker_sdk_config(
                bucket=bucket_names["notebooks"],
                kms_key_arn=key_arn,
                subnet_ids=subnet_ids,
                security_group_ids=[studio_sg],
                execution_role_arn=self.roles.execution_role.arn,
                pre_execution_commands=[codeartifact_login(
                    region=c.region, domain=c.codeartifact_domain, owner=account,
                    repository=w.codeartifact_repository,
                )],
            ),
            image_version=w.studio_image_version,
        )
        self.studio = StudioDomain(
            self,
            "studio",
            props=StudioDomainProps(
                name=name,
                vpc_id=vpc_id,
                subnet_ids=subnet_ids,
                security_group_ids=[studio_sg],
                execution_role_arn=self.roles.execution_role.arn,
                kms_key_arn=key_arn,
                lifecycle_script=jupyterlab_bootstrap_script(region=c.region, bucket=bucket_names["notebooks"]),
                retain_home_efs=w.retain_home_efs,
                docker_trusted_accounts=w.docker_trusted_accounts,
            ),
        )
        domain = self.studio.domain
        self.roles.restrict_to_domain(domain.id)
        # The MLflow UI in Studio uploads and downloads artifacts from the browser.
        self.mlflow_bucket = lab_bucket("mlflow-artifacts", "mlflow", cors_origins=[domain.url])
        self.users = UserProfiles(
            self,
            "users",
            props=UserProfilesProps(
                domain_id=domain.id,
                names=w.user_profiles,
                execution_role_arn=self.roles.execution_role.arn,
                security_group_ids=[studio_sg],
                jupyterlab_instance_type=w.jupyterlab_instance_type,
                lifecycle_config_arn=self.studio.lifecycle_config.arn if w.attach_lifecycle_config else None,
                image_arn=c.studio_image_arn,
                image_version=w.studio_image_version,
            ),
        )
        # Needs only its bucket, its role and the role's grants: never the domain, users, lab
        # uploads or CodeArtifact (modules/mlflow_server.py).
        self.mlflow = MlflowServer(
            self,
            "mlflow",
            props=MlflowServerProps(
                name=c.mlflow_server_name,
                artifact_bucket=self.mlflow_bucket.bucket.bucket,
                artifact_prefix=w.mlflow_artifact_prefix,
                role_arn=self.roles.mlflow_role.arn,
                size=w.mlflow_size,
                mlflow_version=w.mlflow_version,
                automatic_model_registration=w.mlflow_automatic_model_registration,
                maintenance_window=w.mlflow_maintenance_window,
                depends_on=[self.roles.policies["mlflow-artifacts"], self.roles.policies["mlflow-model-registry"]],
            ),
        )
        self.lab = LabContent(
            self,
            "lab",
            props=LabContentProps(
                bucket=self.notebooks_bucket.bucket.id,
                directory=NOTEBOOKS_DIR,
                prefix=w.notebooks_prefix,
                data_file=self.data_file,
                data_prefix=w.data_prefix,
                bucket_settings=self.notebooks_bucket.object_settings,
                generated={START_SCRIPT_KEY: self.start_script},
            ),
        )
        self._outputs(c, account, vpc_id, subnet_ids, studio_sg)

    def _outputs(self, c: StudioConfig, account: str, vpc_id: str, subnet_ids: list[str], studio_sg: str) -> None:
        w = c.workload
        notebooks = self.notebooks_bucket.bucket.bucket
        login = (
            f"aws codeartifact login --tool pip --region {c.region} --domain {c.codeartifact_domain} "
            f"--domain-owner {account} --repository {w.codeartifact_repository}"
        )
        outputs = {
            "vpc_id": (vpc_id, "ID of the isolated VPC (from the network stack)"),
            "subnet_ids": (subnet_ids, "Private subnets of the domain and @remote jobs"),
            "security_group_id": (studio_sg, "Security group of Studio apps and @remote jobs"),
            "domain_id": (self.studio.domain.id, "SageMaker Studio domain ID"),
            "domain_url": (self.studio.domain.url, "Studio URL (reachable only through the VPC or a presigned URL)"),
            "user_profile_names": (list(w.user_profiles), "Studio user profiles"),
            "execution_role_arn": (self.roles.execution_role.arn, "Studio execution role"),
            "kms_key_arn": (self.key.key.arn, "KMS key of the buckets, home EFS, CodeArtifact and logs"),
            "notebooks_bucket_uri": (f"s3://{notebooks}/{w.notebooks_prefix}/", "Where the lab files are uploaded"),
            "data_uri": (f"s3://{notebooks}/{w.data_prefix}/{self.data_file.name}",
                         "The AI4I 2020 data set (the notebook's data_path in Studio)"),
            "mlflow_tracking_server_arn": (self.mlflow.server.arn, "MLflow tracking server ARN (the notebook's tracking URI)"),
            "mlflow_tracking_server_url": (self.mlflow.server.tracking_server_url, "MLflow tracking server URL"),
            "mlflow_artifact_store_uri": (self.mlflow.artifact_store_uri, "MLflow artifact store"),
            "codeartifact_repository_endpoint": (self.pypi.endpoint, "pip index URL of the CodeArtifact repository"),
            "codeartifact_login_command": (login, "Run this (inside Studio) to point pip at CodeArtifact"),
        }
        for output_id, (value, description) in outputs.items():
            TerraformOutput(self, output_id, value=value, description=description)
