"""The S3 bucket and DynamoDB table that hold and lock every other stack's Terraform state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from modules.policy_document import policy_document
from modules.props import name_tags, raise_for


def tls_only_statement(bucket_arn: str) -> dict:
    """Deny any request to the bucket that does not use TLS.

    The principal is written {"AWS": "*"} rather than "*": equivalent for AWS, and it keeps
    the provider from retrying for minutes against the S3 emulator used in tests.
    """
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@dataclass(frozen=True)
class StateBackendProps:
    """Inputs of :class:`StateBackend`.

    protect: ``prevent_destroy`` on the bucket, table and key, and deletion protection on
        the table. Turn off only to tear the whole environment down on purpose.
    noncurrent_version_days: how long old state versions are kept for recovery.
    """

    name: str
    bucket_name: str
    lock_table_name: str
    protect: bool = True
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
    """Attributes: ``kms_key``, ``bucket``, ``lock_table``."""

    def __init__(self, scope: Construct, id: str, *, props: StateBackendProps) -> None:
        raise_for("StateBackend", props.problems())
        super().__init__(scope, id)
        tags = dict(props.tags)
        lifecycle = TerraformResourceLifecycle(prevent_destroy=props.protect)
        account = DataAwsCallerIdentity(self, "account").account_id
        partition = DataAwsPartition(self, "partition").partition

        self.kms_key = KmsKey(
            self,
            "kms-key",
            description=f"{props.name} Terraform state",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_document(
                self,
                "kms-key-policy",
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                }
            ),
            lifecycle=lifecycle,
            tags=name_tags(f"{props.name}-tfstate", tags),
        )
        KmsAlias(self, "kms-alias", name=f"alias/{props.name}-tfstate", target_key_id=self.kms_key.key_id)

        self.bucket = S3Bucket(
            self, "bucket", bucket=props.bucket_name, lifecycle=lifecycle, tags=name_tags(props.bucket_name, tags)
        )
        S3BucketVersioningA(
            self, "bucket-versioning", bucket=self.bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "bucket-encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms", kms_master_key_id=self.kms_key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
        )
        S3BucketPublicAccessBlock(
            self, "bucket-public-access-block", bucket=self.bucket.id,
            block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self, "bucket-ownership", bucket=self.bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketPolicy(
            self, "bucket-policy", bucket=self.bucket.id,
            policy=policy_document(
                self, "bucket-policy-document",
                {"Version": "2012-10-17", "Statement": [tls_only_statement(self.bucket.arn)]},
            ),
        )
        S3BucketLifecycleConfiguration(
            self,
            "bucket-lifecycle",
            bucket=self.bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-old-state-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=props.noncurrent_version_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                    ],
                )
            ],
        )
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
            lifecycle=lifecycle,
            tags=name_tags(props.lock_table_name, tags),
        )
