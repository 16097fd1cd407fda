"""What every stack shares: the AWS provider and where its state lives."""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, S3BackendEndpointConfig, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints
from constructs import Construct

from isolated_studio.base.paths import PROJECT_ROOT
from isolated_studio.config import EMULATOR_CREDENTIAL, StudioConfig

# Services the provider talks to in the emulator environment (moto serves all of these).
EMULATED_SERVICES = ("s3", "dynamodb", "ec2", "iam", "sts", "kms", "logs", "sagemaker", "codeartifact")


class StudioStack(TerraformStack):
    """A stack with our provider configuration; subclasses choose the backend."""

    def __init__(self, scope: Construct, id: str, *, config: StudioConfig) -> None:
        super().__init__(scope, id)
        self.config = config
        self.provider = self._provider(config)

    def _provider(self, config: StudioConfig) -> AwsProvider:
        tags = {**config.tags, "Environment": config.environment, "StudioPrefix": config.name_prefix}
        kwargs: dict = {}
        if config.account_id and not config.emulator.enabled:
            # Terraform itself refuses to touch any other account.
            kwargs["allowed_account_ids"] = [config.account_id]
        if config.emulator.enabled:
            endpoint = config.emulator.endpoint.rstrip("/")
            kwargs.update(
                access_key=EMULATOR_CREDENTIAL,
                secret_key=EMULATOR_CREDENTIAL,
                s3_use_path_style=True,
                skip_credentials_validation=True,
                # moto answers GetCallerIdentity: knowing the account keeps the provider from
                # reading references to our own security groups back as "<account>/sg-...".
                skip_metadata_api_check="true",
                skip_region_validation=True,
                endpoints=[AwsProviderEndpoints(**{service: endpoint for service in EMULATED_SERVICES})],
            )
        return AwsProvider(
            self, "aws", region=config.region, default_tags=[AwsProviderDefaultTags(tags=tags)], **kwargs
        )

    def use_local_backend(self) -> None:
        # Relative to the stack's directory (cdktf.out/stacks/<name>), so the bootstrap state
        # survives a deleted cdktf.out and does not depend on where the repository is cloned.
        path = PROJECT_ROOT / self.config.bootstrap_state_file
        relative = "../../../" + path.relative_to(PROJECT_ROOT).as_posix()
        LocalBackend(self, path=relative)

    def use_s3_backend(self, stack_name: str) -> None:
        state = self.config.state
        lock_table = state.lock_table if state.locking in ("dynamodb", "both") else None
        # Emulator settings are backend arguments (not overrides) so that cdktf copies them
        # into the terraform_remote_state a consuming stack reads this state through.
        emulator: dict = {}
        if self.config.emulator.enabled:
            endpoint = self.config.emulator.endpoint.rstrip("/")
            emulator = dict(
                endpoints=S3BackendEndpointConfig(s3=endpoint, dynamodb=endpoint, sts=endpoint, iam=endpoint),
                use_path_style=True,
                access_key=EMULATOR_CREDENTIAL,
                secret_key=EMULATOR_CREDENTIAL,
                skip_credentials_validation=True,
                skip_requesting_account_id=True,
                skip_metadata_api_check=True,
                skip_region_validation=True,
            )
        backend = S3Backend(
            self,
            bucket=state.bucket,
            key=self.config.state_key(stack_name),
            region=self.config.region,
            # The state key, not only "encrypted": with `encrypt` alone Terraform asks for AES256
            # on every write, overriding the bucket's KMS default. cdktf copies the argument into
            # the terraform_remote_state through which the workload reads this state.
            encrypt=True,
            kms_key_id=self.config.state_kms_key_id,
            dynamodb_table=lock_table,
            **emulator,
        )
        if state.locking in ("lockfile", "both"):
            # S3 native locking (Terraform >= 1.10); cdktf 0.21 has no argument for it.
            backend.add_override("use_lockfile", True)
