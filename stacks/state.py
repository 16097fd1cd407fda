"""Bootstrap: the bucket and lock table that hold every other stack's state (local backend)."""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from isolated_studio.config import StudioConfig
from modules.state_backend import StateBackend, StateBackendProps
from stacks.base import StudioStack


class StateStack(StudioStack):
    def __init__(self, scope: Construct, id: str, *, config: StudioConfig) -> None:
        super().__init__(scope, id, config=config)
        self.use_local_backend()
        self.backend = StateBackend(
            self,
            "state-backend",
            props=StateBackendProps(
                name=config.name_prefix,
                region=config.region,
                bucket_name=config.state.bucket,
                lock_table_name=config.state.lock_table,
                protect=config.state.protect,
                deny_insecure_transport=self.target.applies_deny_conditions,
            ),
        )
        TerraformOutput(
            self,
            "state_bucket",
            value=self.backend.bucket.bucket,
            description="S3 bucket holding the network and workload Terraform state",
        )
        TerraformOutput(
            self,
            "lock_table",
            value=self.backend.lock_table.name,
            description="DynamoDB table that locks the network and workload state",
        )
        TerraformOutput(
            self,
            "state_kms_key_arn",
            value=self.backend.kms_key.arn,
            description="KMS key encrypting the state bucket and lock table",
        )
