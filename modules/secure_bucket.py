"""An S3 bucket with every guard on: no public access, TLS only, versioned, encrypted, logged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_cors_configuration import (
    S3BucketCorsConfiguration,
    S3BucketCorsConfigurationCorsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
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

from isolated_studio.config.rules import bucket_name_problem
from modules.policy_document import policy_document
from modules.props import is_unresolved, name_tags, raise_for


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


READ_WRITE_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
LIST_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
# What reads, writes or lists data: refused outside our endpoint. Bucket-level reads such as
# GetBucketLocation stay open, since a service checking a bucket on the caller's behalf (from its
# own network) must not fail, and they reveal no object.
DATA_ACTIONS = [
    "s3:GetObject*",
    "s3:PutObject*",
    "s3:DeleteObject*",
    "s3:ListBucket*",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
    "s3:RestoreObject",
    "s3:ReplicateObject",
]


def endpoint_only_statement(bucket_arn: str, principal_arns: Sequence[str], endpoint_ids: Sequence[str]) -> dict:
    """Deny the principals any data request that does not come through one of the VPC endpoints.

    S3 sets aws:SourceVpce only for requests through a VPC endpoint (S3 User Guide, "Controlling
    access from VPC endpoints with bucket policies"); StringNotEquals is true when the key is
    absent, so a request from anywhere else is refused. aws:PrincipalArn is the role's ARN for
    all its sessions, so copied session credentials are refused too.
    """
    return {
        "Sid": "DenyOutsideOurEndpoint",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": DATA_ACTIONS,
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": list(principal_arns)},
            "StringNotEquals": {"aws:SourceVpce": list(endpoint_ids)},
        },
    }


@dataclass(frozen=True)
class SecureBucketProps:
    """Inputs of :class:`SecureBucket`.

    kms_key_arn: SSE-KMS with this key; None means SSE-S3, which only the access-log bucket
        uses because S3 server access logging cannot deliver to an SSE-KMS bucket.
    access_log_bucket: bucket id receiving this bucket's access logs (None: this is the log bucket).
    read_write_principals: IAM role ARNs granted object read/write in the bucket policy.
    cors_origins: browser origins allowed to GET/PUT (e.g. the Studio domain URL); none by default.
    force_destroy: let `terraform destroy` delete a non-empty bucket. Off unless an environment says so.
    protect: ``prevent_destroy`` on the bucket, for data that must outlive any plan (state).
    deny_insecure_transport: the policy statement refusing requests without TLS. Off only for
        the S3 emulator (moto), which enforces a Deny without evaluating its condition: with it,
        every request to the bucket would fail, Terraform's own state included.
    endpoint_only_principals / endpoint_ids: these principals (the Studio execution role) may
        read, write and list the bucket only through these VPC endpoints (our S3 gateway). Off
        (empty) only for the emulator, for the same reason as the TLS-only rule.
    extra_statements: further bucket-policy statements (e.g. the log-delivery grant).
    access_log_ready: resources the access logging must wait for, e.g. the log bucket's policy
        holding the log-delivery grant: S3 checks the target bucket when logging is enabled
        (InvalidTargetBucketForLogging), so the grant has to exist first.
    """

    bucket_name: str
    kms_key_arn: str | None
    access_log_bucket: str | None
    access_log_prefix: str = ""
    read_write_principals: Sequence[str] = ()
    cors_origins: Sequence[str] = ()
    force_destroy: bool = False
    protect: bool = False
    deny_insecure_transport: bool = True
    endpoint_only_principals: Sequence[str] = ()
    endpoint_ids: Sequence[str] = ()
    noncurrent_version_days: int = 90
    extra_statements: Sequence[Mapping] = ()
    access_log_ready: Sequence[Any] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if not is_unresolved(self.bucket_name):
            why = bucket_name_problem(self.bucket_name)
            if why:
                found.append(f"bucket_name: {self.bucket_name!r} {why}")
        if not 1 <= self.noncurrent_version_days <= 3650:
            found.append("noncurrent_version_days: must be between 1 and 3650")
        for origin in self.cors_origins:
            if origin == "*" or not (is_unresolved(origin) or origin.startswith("https://")):
                found.append(f"cors_origins: {origin!r} must be a specific https origin")
        if self.force_destroy and self.protect:
            found.append("force_destroy: a protected bucket cannot also be force-destroyed")
        if self.access_log_bucket is None and self.access_log_prefix:
            found.append("access_log_prefix: given without access_log_bucket")
        if bool(self.endpoint_only_principals) != bool(self.endpoint_ids):
            found.append(
                "endpoint_only_principals/endpoint_ids: give both (principals refused outside these endpoints)"
            )
        return found


class SecureBucket(Construct):
    """Attributes: ``bucket``, ``policy``, ``arn`` and ``name`` (shortcuts to the bucket's), and
    ``object_settings``: what an object written by this stack must wait for (``depends_on``)."""

    def __init__(self, scope: Construct, id: str, *, props: SecureBucketProps) -> None:
        raise_for("SecureBucket", props.problems())
        super().__init__(scope, id)
        p = props
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket=p.bucket_name,
            force_destroy=p.force_destroy,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if p.protect else None,
            tags=name_tags(p.bucket_name, dict(p.tags)),
        )
        self.arn = self.bucket.arn
        self.name = self.bucket.bucket
        bucket_id = self.bucket.id
        public_access_block = S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        ownership = S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        by_default = (
            S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=p.kms_key_arn
            )
            if p.kms_key_arn
            else S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="AES256"
            )
        )
        encryption = S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=by_default,
                    bucket_key_enabled=bool(p.kms_key_arn),
                )
            ],
        )
        # The default encryption applies only to objects written after it is set (S3 User Guide,
        # "Setting default server-side encryption behavior for Amazon S3 buckets"; existing
        # objects keep theirs), and the bucket is created before its settings: an object
        # Terraform writes in the same apply must wait for them, or it can stay SSE-S3.
        self.object_settings = (encryption, public_access_block, ownership)
        if p.access_log_bucket is not None:
            S3BucketLoggingA(
                self,
                "access-logging",
                bucket=bucket_id,
                target_bucket=p.access_log_bucket,
                target_prefix=p.access_log_prefix or f"{p.bucket_name}/",
                depends_on=list(p.access_log_ready) or None,
            )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=p.noncurrent_version_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                    ],
                )
            ],
        )
        statements: list[Mapping] = [tls_only_statement(self.bucket.arn)] if p.deny_insecure_transport else []
        if p.read_write_principals:
            principals = {"AWS": list(p.read_write_principals)}
            statements += [
                {
                    "Sid": "LabRolesList",
                    "Effect": "Allow",
                    "Principal": principals,
                    "Action": LIST_ACTIONS,
                    "Resource": self.bucket.arn,
                },
                {
                    "Sid": "LabRolesReadWrite",
                    "Effect": "Allow",
                    "Principal": principals,
                    "Action": READ_WRITE_ACTIONS,
                    "Resource": f"{self.bucket.arn}/*",
                },
            ]
        if p.endpoint_only_principals:
            statements.append(endpoint_only_statement(self.bucket.arn, p.endpoint_only_principals, p.endpoint_ids))
        statements += list(p.extra_statements)
        # A policy needs at least one statement: without the TLS rule a plain bucket has none.
        self.policy = (
            S3BucketPolicy(
                self,
                "policy",
                bucket=bucket_id,
                policy=policy_document(self, "policy-document", {"Version": "2012-10-17", "Statement": statements}),
            )
            if statements
            else None
        )
        if p.cors_origins:
            S3BucketCorsConfiguration(
                self,
                "cors",
                bucket=bucket_id,
                cors_rule=[
                    S3BucketCorsConfigurationCorsRule(
                        allowed_origins=list(p.cors_origins),
                        allowed_methods=["GET", "PUT", "POST", "HEAD"],
                        allowed_headers=["*"],
                        expose_headers=["ETag"],
                        max_age_seconds=3000,
                    )
                ],
            )
