"""A customer-managed KMS key for the workload's data at rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules.policy_document import policy_document
from modules.props import name_tags, raise_for

DATA_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


@dataclass(frozen=True)
class EncryptionKeyProps:
    """Inputs of :class:`EncryptionKey`.

    account_id / partition / region: where the key lives (tokens are fine).
    via_services: service prefixes (``s3``, ``elasticfilesystem``, ...) through which any
        principal of this account that IAM allows may use the key, like an AWS-managed key.
    log_group_prefix: CloudWatch log groups under this prefix may encrypt with the key.
    """

    name: str
    account_id: str
    partition: str
    region: str
    via_services: Sequence[str] = ("s3", "elasticfilesystem", "codeartifact", "sagemaker")
    log_group_prefix: str = "/aws/sagemaker/"
    deletion_window_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if not self.name:
            found.append("name: must not be empty")
        if not 7 <= self.deletion_window_days <= 30:
            found.append(f"deletion_window_days: {self.deletion_window_days} must be between 7 and 30")
        if not self.log_group_prefix.startswith("/"):
            found.append(f"log_group_prefix: {self.log_group_prefix!r} must start with '/'")
        return found


class EncryptionKey(Construct):
    """Attributes: ``key``, ``alias``. Rotation is always on."""

    def __init__(self, scope: Construct, id: str, *, props: EncryptionKeyProps) -> None:
        raise_for("EncryptionKey", props.problems())
        super().__init__(scope, id)
        p = props
        root = f"arn:{p.partition}:iam::{p.account_id}:root"
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    # Delegates to IAM: only principals whose policies name this key may use it.
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    # Documents (and bounds, for reviewers) the services expected to use the key.
                    "Sid": "ServicesUseKeyForThisAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": [*DATA_ACTIONS, "kms:CreateGrant"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:CallerAccount": p.account_id,
                            "kms:ViaService": [f"{s}.{p.region}.amazonaws.com" for s in p.via_services],
                        }
                    },
                },
                {
                    "Sid": "LogGroupsEncrypt",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{p.region}.amazonaws.com"},
                    "Action": DATA_ACTIONS,
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn":
                                f"arn:{p.partition}:logs:{p.region}:{p.account_id}:log-group:{p.log_group_prefix}*"
                        }
                    },
                },
            ],
        }
        self.key = KmsKey(
            self,
            "key",
            description=f"{p.name}: Studio home EFS, lab buckets, CodeArtifact, logs",
            enable_key_rotation=True,
            deletion_window_in_days=p.deletion_window_days,
            policy=policy_document(self, "key-policy", policy),
            tags=name_tags(p.name, dict(p.tags)),
        )
        self.alias = KmsAlias(self, "alias", name=f"alias/{p.name}", target_key_id=self.key.key_id)
