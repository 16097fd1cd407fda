"""A customer-managed KMS key with rotation and a key policy scoped to its users."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf import TerraformResourceLifecycle
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
    via_services: service prefixes (``s3``, ``elasticfilesystem``, ...) through which
        principals of this account that IAM allows may use the key, like an AWS-managed key.
    log_group_pattern: CloudWatch log groups whose name matches (``*`` allowed) may encrypt
        with the key; None keeps CloudWatch Logs out of the key policy.
    protect: ``prevent_destroy``, for keys whose loss loses data that must outlive a stack.
    """

    name: str
    description: str
    account_id: str
    partition: str
    region: str
    via_services: Sequence[str] = ()
    log_group_pattern: str | None = None
    deletion_window_days: int = 30
    protect: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if not self.name:
            found.append("name: must not be empty")
        if not 7 <= self.deletion_window_days <= 30:
            found.append(f"deletion_window_days: {self.deletion_window_days} must be between 7 and 30")
        if self.log_group_pattern is not None and not self.log_group_pattern.startswith("/"):
            found.append(f"log_group_pattern: {self.log_group_pattern!r} must start with '/'")
        return found


class EncryptionKey(Construct):
    """Attributes: ``key``, ``alias`` (``alias/<name>``). Rotation is always on."""

    def __init__(self, scope: Construct, id: str, *, props: EncryptionKeyProps) -> None:
        raise_for("EncryptionKey", props.problems())
        super().__init__(scope, id)
        p = props
        root = f"arn:{p.partition}:iam::{p.account_id}:root"
        statements: list[dict] = [
            {
                # AWS's default key policy: access is delegated to IAM, so only principals whose
                # own policies name this key can use or manage it.
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        if p.via_services:
            via = {
                "kms:CallerAccount": p.account_id,
                "kms:ViaService": [f"{s}.{p.region}.amazonaws.com" for s in p.via_services],
            }
            statements.append(
                {
                    # Documents (and bounds, for reviewers) the services expected to use the key.
                    "Sid": "ServicesUseKeyForThisAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": DATA_ACTIONS,
                    "Resource": "*",
                    "Condition": {"StringEquals": via},
                }
            )
            statements.append(
                {
                    # Services that encrypt a resource with the key (EFS, EBS volumes of Studio apps and
                    # jobs) create a grant for it with the caller's permissions. The key policy
                    # delegates to IAM (above), so the caller's own policy must allow kms:CreateGrant;
                    # kms:GrantIsForAWSResource keeps grants to those an AWS service asks for (AWS KMS
                    # Developer Guide, "Controlling access to grants").
                    "Sid": "ServicesCreateGrantsForThisAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": {"StringEquals": via, "Bool": {"kms:GrantIsForAWSResource": "true"}},
                }
            )
        if p.log_group_pattern is not None:
            statements.append(
                {
                    # Scoped by encryption context: only the named log groups may use the key.
                    "Sid": "LogGroupsEncrypt",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{p.region}.amazonaws.com"},
                    "Action": DATA_ACTIONS,
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": f"arn:{p.partition}:logs:{p.region}:{p.account_id}:log-group:{p.log_group_pattern}"
                        }
                    },
                }
            )
        self.key = KmsKey(
            self,
            "key",
            description=p.description,
            enable_key_rotation=True,
            deletion_window_in_days=p.deletion_window_days,
            policy=policy_document(self, "key-policy", {"Version": "2012-10-17", "Statement": statements}),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if p.protect else None,
            tags=name_tags(p.name, dict(p.tags)),
        )
        self.alias = KmsAlias(self, "alias", name=f"alias/{p.name}", target_key_id=self.key.key_id)
