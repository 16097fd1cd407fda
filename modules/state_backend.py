"""The S3 bucket and DynamoDB table that hold and lock every other stack's Terraform state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from constructs import Construct

from modules.encryption_key import EncryptionKey, EncryptionKeyProps
from modules.props import name_tags, raise_for
from modules.secure_bucket import SecureBucket, SecureBucketProps


@dataclass(frozen=True)
class StateBackendProps:
    """Inputs of :class:`StateBackend`.

    region: where the bucket, table and key live.
    protect: ``prevent_destroy`` on the bucket, table and key, and deletion protection on
        the table. Turn off only to tear the whole environment down on purpose.
    deny_insecure_transport: the bucket's TLS-only policy; off only for the S3 emulator
        (see :class:`SecureBucketProps`).
    noncurrent_version_days: how long old state versions are kept for recovery.
    """

    name: str
    region: str
    bucket_name: str
    lock_table_name: str
    protect: bool = True
    deny_insecure_transport: bool = True
    noncurrent_version_days: int = 90
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if not self.bucket_name:
            found.append("bucket_name: must not be empty")
        if not self.lock_table_name:
            found.append("lock_table_name: must not be empty")
        if not 1 <= self.noncurrent_version_days <= 3650:
            found.append("noncurrent_version_days: must be between 1 and 3650")
        return found


class StateBackend(Construct):
    """Attributes: ``kms_key``, ``bucket`` (the S3Bucket), ``lock_table``."""

    def __init__(self, scope: Construct, id: str, *, props: StateBackendProps) -> None:
        raise_for("StateBackend", props.problems())
        super().__init__(scope, id)
        tags = dict(props.tags)
        self.kms_key = EncryptionKey(
            self,
            "kms",
            props=EncryptionKeyProps(
                name=f"{props.name}-tfstate",
                description=f"{props.name} Terraform state",
                account_id=DataAwsCallerIdentity(self, "account").account_id,
                partition=DataAwsPartition(self, "partition").partition,
                region=props.region,
                via_services=("s3", "dynamodb"),
                protect=props.protect,
                tags=tags,
            ),
        ).key
        # No access logging: the only log bucket lives in the workload stack, whose state is
        # kept here (see policy/suppressions.toml, CKV_AWS_18).
        self.bucket = SecureBucket(
            self,
            "state-bucket",
            props=SecureBucketProps(
                bucket_name=props.bucket_name,
                kms_key_arn=self.kms_key.arn,
                access_log_bucket=None,
                protect=props.protect,
                deny_insecure_transport=props.deny_insecure_transport,
                noncurrent_version_days=props.noncurrent_version_days,
                tags=tags,
            ),
        ).bucket
        self.lock_table = DynamodbTable(
            self,
            "lock-table",
            name=props.lock_table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key="LockID",  # the attribute name Terraform's S3 backend writes
            attribute=[DynamodbTableAttribute(name="LockID", type="S")],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=self.kms_key.arn),
            deletion_protection_enabled=props.protect,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect),
            tags=name_tags(props.lock_table_name, tags),
        )
