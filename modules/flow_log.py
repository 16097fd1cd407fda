"""VPC flow logs to a KMS-encrypted CloudWatch log group with retention."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.flow_log import FlowLog as AwsFlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from isolated_studio.config.rules import LOG_RETENTION_DAYS, TRAFFIC_TYPES
from modules.encryption_key import EncryptionKey, EncryptionKeyProps
from modules.exclusive_role_policies import ExclusiveRolePolicies, ExclusiveRolePoliciesProps
from modules.policy_document import policy_document
from modules.props import name_tags, raise_for

RETENTION_DAYS = LOG_RETENTION_DAYS


@dataclass(frozen=True)
class FlowLogProps:
    """Inputs of :class:`FlowLog`.

    retention_days: a CloudWatch Logs retention value (logs are never kept forever by accident).
    traffic_type: ALL, ACCEPT or REJECT.
    """

    name: str
    vpc_id: str
    region: str
    retention_days: int = 365
    traffic_type: str = "ALL"
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if self.retention_days not in RETENTION_DAYS:
            found.append(f"retention_days: {self.retention_days} is not a CloudWatch Logs retention value")
        if self.traffic_type not in TRAFFIC_TYPES:
            found.append(f"traffic_type: {self.traffic_type!r} must be ALL, ACCEPT or REJECT")
        if not self.name:
            found.append("name: must not be empty")
        return found


class FlowLog(Construct):
    """Attributes: ``kms_key``, ``log_group``, ``role``, ``exclusive``, ``flow_log``."""

    def __init__(self, scope: Construct, id: str, *, props: FlowLogProps) -> None:
        raise_for("FlowLog", props.problems())
        super().__init__(scope, id)
        tags = dict(props.tags)
        account = DataAwsCallerIdentity(self, "account").account_id
        partition = DataAwsPartition(self, "partition").partition
        log_group_name = f"/vpc/{props.name}/flow-logs"
        self.kms = EncryptionKey(
            self,
            "kms",
            props=EncryptionKeyProps(
                name=f"{props.name}-flow-logs",
                description=f"{props.name} VPC flow logs",
                account_id=account,
                partition=partition,
                region=props.region,
                log_group_pattern=log_group_name,
                tags=tags,
            ),
        )
        self.kms_key = self.kms.key
        self.log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=log_group_name,
            retention_in_days=props.retention_days,
            kms_key_id=self.kms_key.arn,
            tags=name_tags(log_group_name, tags),
        )
        assume = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    # Confused-deputy guard: only flow logs of this account may use the role.
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                }
            ],
        }
        self.role = IamRole(
            self,
            "role",
            name=f"{props.name}-flow-logs",
            assume_role_policy=policy_document(self, "role-trust", assume),
            tags=name_tags(f"{props.name}-flow-logs", tags),
        )
        policy = IamRolePolicy(
            self,
            "role-policy",
            name="write-flow-logs",
            role=self.role.id,
            policy=policy_document(
                self,
                "role-permissions",
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": [self.log_group.arn, f"{self.log_group.arn}:*"],
                        }
                    ],
                },
            ),
        )
        # Nothing but this policy: `make deploy` removes one put on the role, or attached to it, by hand.
        self.exclusive = ExclusiveRolePolicies(
            self,
            "role-exclusive",
            props=ExclusiveRolePoliciesProps(role_name=self.role.name, policy_names=[policy.name]),
        )
        self.flow_log = AwsFlowLog(
            self,
            "flow-log",
            vpc_id=props.vpc_id,
            traffic_type=props.traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=self.log_group.arn,
            iam_role_arn=self.role.arn,
            max_aggregation_interval=60,
            tags=name_tags(f"{props.name}-flow-log", tags),
        )
