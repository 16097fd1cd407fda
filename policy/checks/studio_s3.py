"""S3 bucket policies deny plain HTTP (CKV_STUDIO_9)."""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from studio_common import MISSING, attr


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _denies_insecure_transport(statement: Any) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
        return False
    principal = statement.get("Principal")
    if principal != "*" and not (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))):
        return False
    if not {"s3:*", "*"} & set(_as_list(statement.get("Action"))):
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for operator in ("Bool", "BoolIfExists"):
        block = condition.get(operator)
        if isinstance(block, dict) and "aws:SecureTransport" in block:
            values = [str(v).lower() for v in _as_list(block["aws:SecureTransport"])]
            if values == ["false"]:
                return True
    return False


class S3BucketPolicyTlsOnly(BaseResourceCheck):
    """Every bucket policy carries a statement ``Deny`` ``s3:*`` to ``*`` when
    ``aws:SecureTransport`` is false.

    The policy must be literal JSON by the time checkov reads it (Terraform references inside
    its strings are fine). The stacks write policies as ``data.aws_iam_policy_document``;
    ``isolated_studio.checks.policy_scan`` inlines those documents before running checkov. A policy
    that is any other expression cannot be verified here and fails.
    """

    def __init__(self) -> None:
        super().__init__(
            name="S3 bucket policy denies requests without TLS (aws:SecureTransport false)",
            id="CKV_STUDIO_9",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_s3_bucket_policy"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["policy"]
        policy = attr(conf, "policy")
        if isinstance(policy, str):
            try:
                policy = json.loads(policy)
            except ValueError:
                self.details.append("policy is not a literal JSON document: it cannot be verified")
                return CheckResult.FAILED
        if not isinstance(policy, dict):
            self.details.append("policy is unset" if policy is MISSING else "policy is not a JSON object")
            return CheckResult.FAILED
        if any(_denies_insecure_transport(s) for s in _as_list(policy.get("Statement"))):
            return CheckResult.PASSED
        self.details.append('no statement denies s3:* to "*" when aws:SecureTransport is "false"')
        return CheckResult.FAILED


check_bucket_policy_tls_only = S3BucketPolicyTlsOnly()
