"""Everything a data scientist uses inside the isolated network: the composition of the
workload's data (stacks/workload_data.py), its Studio side (stacks/workload_studio.py) and its
tracking server (stacks/workload_tracking.py).

The network arrives as a NetworkStack object; cdktf turns every attribute read from it into
an output of the network stack and a `terraform_remote_state` read here, so nothing is
looked up by name or tag.
"""

from __future__ import annotations

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from constructs import Construct

from isolated_studio.config import StudioConfig
from isolated_studio.config.emulator import CANNOT_CREATE, SCOPED_DEPLOY
from modules.emulator_guard import EmulatorGuard, EmulatorGuardProps
from modules.lab_content import LabContent, LabContentProps
from modules.pypi_mirror import PypiMirror, PypiMirrorProps
from modules.studio_domain import START_SCRIPT_KEY, StudioDomain, StudioDomainProps, jupyterlab_bootstrap_script
from modules.studio_roles import StudioRoles
from modules.user_profiles import UserProfiles, UserProfilesProps
from stacks.base import StudioStack
from stacks.network import NetworkStack
from stacks.workload_data import NOTEBOOKS_DIR, LabBuckets, lab_data_file, workload_key
from stacks.workload_studio import lab_settings, start_script, studio_roles_props
from stacks.workload_tracking import tracking_server


class WorkloadStack(StudioStack):
    def __init__(self, scope: Construct, id: str, *, config: StudioConfig, network: NetworkStack) -> None:
        super().__init__(scope, id, config=config)
        self.use_s3_backend("workload")
        c, w, name = config, config.workload, config.name_prefix
        if self.target.plan_only("workload"):
            EmulatorGuard(
                self,
                "emulator-guard",
                props=EmulatorGuardProps(stack="workload", cannot_create=CANNOT_CREATE, instead=SCOPED_DEPLOY),
            )
        account = DataAwsCallerIdentity(self, "account").account_id
        partition = DataAwsPartition(self, "partition").partition

        vpc_id = network.vpc.vpc.id
        subnet_ids = [s.id for s in network.vpc.subnets]
        studio_sg = network.studio_security_group.security_group.id
        experiments = network.endpoints.interface_endpoints.get("experiments")

        # Data: the key, then the roles that use it, then the buckets that name the roles.
        self.key = workload_key(self, config=c, account=account, partition=partition)
        key_arn = self.key.key.arn
        self.roles = StudioRoles(
            self,
            "iam",
            props=studio_roles_props(
                config,
                account=account,
                partition=partition,
                key_arn=key_arn,
                subnet_ids=subnet_ids,
                security_group_ids=[studio_sg],
                experiments_endpoint_id=experiments.id if experiments else None,
            ),
        )
        execution_role = self.roles.execution_role.arn
        buckets = LabBuckets(
            self,
            config=c,
            target=self.target,
            account=account,
            partition=partition,
            key_arn=key_arn,
            lab_roles=[execution_role, self.roles.mlflow_role.arn],
            execution_role_arn=execution_role,
            s3_endpoint=network.endpoints.s3_gateway.id,
        )
        self.log_bucket, self.notebooks_bucket = buckets.logs, buckets.notebooks
        notebooks = buckets.names["notebooks"]
        self.data_file = lab_data_file(w.data_file)

        # Studio: packages, the start script and its settings, the domain and its users.
        network_values = {
            "key_arn": key_arn,
            "subnet_ids": subnet_ids,
            "security_group_id": studio_sg,
            "execution_role_arn": execution_role,
        }
        self.lab_settings = lab_settings(
            c,
            account=account,
            partition=partition,
            notebooks_bucket=notebooks,
            data_file=self.data_file,
            **network_values,
        )
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
        self.start_script = start_script(
            self, c, settings=self.lab_settings, account=account, notebooks_bucket=notebooks, **network_values
        )
        self.studio = StudioDomain(
            self,
            "studio",
            props=StudioDomainProps(
                name=name,
                vpc_id=vpc_id,
                subnet_ids=subnet_ids,
                security_group_ids=[studio_sg],
                execution_role_arn=execution_role,
                kms_key_arn=key_arn,
                lifecycle_script=jupyterlab_bootstrap_script(region=c.region, bucket=notebooks),
                retain_home_efs=w.retain_home_efs,
                docker_trusted_accounts=w.docker_trusted_accounts,
            ),
        )
        domain = self.studio.domain
        self.roles.restrict_to_domain(domain.id)
        self.mlflow_bucket = buckets.mlflow(cors_origins=[domain.url])
        self.users = UserProfiles(
            self,
            "users",
            props=UserProfilesProps(
                domain_id=domain.id,
                names=w.user_profiles,
                execution_role_arn=execution_role,
                security_group_ids=[studio_sg],
                jupyterlab_instance_type=w.jupyterlab_instance_type,
                lifecycle_config_arn=self.studio.lifecycle_config.arn if w.attach_lifecycle_config else None,
                image_arn=c.studio_image_arn,
                image_version=w.studio_image_version,
            ),
        )

        # Tracking, and the lab's files with the start script among them.
        self.mlflow = tracking_server(self, c, artifacts=self.mlflow_bucket, roles=self.roles)
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
            "data_uri": (
                f"s3://{notebooks}/{w.data_prefix}/{self.data_file.name}",
                "The AI4I 2020 data set (the notebook's data_path in Studio)",
            ),
            "mlflow_tracking_server_arn": (
                self.mlflow.server.arn,
                "MLflow tracking server ARN (the notebook's tracking URI)",
            ),
            "mlflow_tracking_server_url": (self.mlflow.server.tracking_server_url, "MLflow tracking server URL"),
            "mlflow_artifact_store_uri": (self.mlflow.artifact_store_uri, "MLflow artifact store"),
            "codeartifact_repository_endpoint": (self.pypi.endpoint, "pip index URL of the CodeArtifact repository"),
            "codeartifact_login_command": (login, "Run this (inside Studio) to point pip at CodeArtifact"),
        }
        for output_id, (value, description) in outputs.items():
            TerraformOutput(self, output_id, value=value, description=description)
