"""What every stack shares: the AWS provider and where its state lives."""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, S3BackendEndpointConfig, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints
from constructs import Construct

from isolated_studio.base.paths import PROJECT_ROOT
from isolated_studio.config import StudioConfig
from isolated_studio.config.emulator import EmulatorProfile


class StudioStack(TerraformStack):
    """A stack with our provider configuration; subclasses choose the backend."""

    def __init__(self, scope: Construct, id: str, *, config: StudioConfig) -> None:
        super().__init__(scope, id)
        self.config = config
        # The target's differences (AWS or the emulator): the provider's and backend's arguments,
        # which conditional Denies a bucket can hold, which stacks carry a guard.
        self.target = EmulatorProfile.of(config)
        self.provider = self._provider(config)

    def _provider(self, config: StudioConfig) -> AwsProvider:
        tags = {**config.tags, "Environment": config.environment, "StudioPrefix": config.name_prefix}
        kwargs = self.target.provider_arguments(config.account_id)
        if "endpoints" in kwargs:
            kwargs["endpoints"] = [AwsProviderEndpoints(**kwargs["endpoints"])]
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
        target = self.target.backend_arguments()
        if "endpoints" in target:
            target["endpoints"] = S3BackendEndpointConfig(**target["endpoints"])
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
            **target,
        )
        if state.locking in ("lockfile", "both"):
            # S3 native locking (Terraform >= 1.10); cdktf 0.21 has no argument for it.
            backend.add_override("use_lockfile", True)
