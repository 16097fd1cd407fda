"""The data perimeter: endpoint policies, lab buckets only through our endpoint, a DNS firewall
that fails closed (CKV_STUDIO_10 to CKV_STUDIO_12; CKV2_STUDIO_1 and 2 in studio_perimeter.yaml).

The rules are the isolation gate's own (isolated_studio/checks/isolation.py), applied here to one
resource at a time: a policy attribute must be literal JSON by the time checkov reads it
(isolated_studio.checks.policy_scan inlines the policy documents of the stacks).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from studio_common import MISSING, attr

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project, for its isolation rules
from isolated_studio.checks.isolation import bucket_endpoint_problems, endpoint_policy_problems

OUR_ACCOUNT = re.compile(r"^\$\{data\.aws_caller_identity\.[^.}]+\.account_id\}$")


def _policy(check: BaseResourceCheck, conf: dict) -> dict | None:
    policy = attr(conf, "policy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            check.details.append("policy is not a literal JSON document: it cannot be verified")
            return None
    if not isinstance(policy, dict):
        check.details.append("policy is unset" if policy is MISSING else "policy is not a JSON object")
        return None
    return policy


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


class LabBucketOnlyThroughOurEndpoint(BaseResourceCheck):
    """A bucket policy that grants IAM roles refuses at least one of them (the Studio execution
    role) any data request that does not come through a VPC endpoint (aws:SourceVpce)."""

    def __init__(self) -> None:
        super().__init__(
            name="S3 bucket policy granting roles refuses them outside a VPC endpoint (aws:SourceVpce)",
            id="CKV_STUDIO_10",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_s3_bucket_policy"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["policy"]
        policy = _policy(self, conf)
        if policy is None:
            return CheckResult.FAILED
        bucket = attr(conf, "bucket")
        ref = re.fullmatch(r"\$\{aws_s3_bucket\.([^.}]+)\.(?:id|bucket)\}", str(bucket))
        arn = f"${{aws_s3_bucket.{ref.group(1)}.arn}}" if ref else f"arn:aws:s3:::{bucket}"
        problems = bucket_endpoint_problems(policy, arn)
        self.details.extend(problems)
        return CheckResult.FAILED if problems else CheckResult.PASSED


class EndpointPolicyKeepsOtherAccountsOut(BaseResourceCheck):
    """Every Allow of a VPC endpoint policy holds principals (and resources) to our account, or
    allows only reads of named AWS-owned resources."""

    def __init__(self) -> None:
        super().__init__(
            name="VPC endpoint policy allows only our account's principals to our account's resources",
            id="CKV_STUDIO_11",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_vpc_endpoint_policy", "aws_vpc_endpoint"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["policy"]
        if self.entity_type == "aws_vpc_endpoint" and attr(conf, "policy") is MISSING:
            return CheckResult.PASSED  # its policy is an aws_vpc_endpoint_policy, or none (CKV2_STUDIO_1)
        policy = _policy(self, conf)
        if policy is None:
            return CheckResult.FAILED
        accounts = {s for s in _strings(policy) if OUR_ACCOUNT.match(s)}
        problems = endpoint_policy_problems(policy, accounts)
        self.details.extend(problems)
        return CheckResult.FAILED if problems else CheckResult.PASSED


class DnsFirewallFailsClosed(BaseResourceCheck):
    """The VPC's DNS firewall configuration does not fail open (queries pass when it cannot answer)."""

    def __init__(self) -> None:
        super().__init__(
            name="Route 53 Resolver DNS Firewall fails closed (firewall_fail_open is not ENABLED)",
            id="CKV_STUDIO_12",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_route53_resolver_firewall_config"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["firewall_fail_open"]
        if attr(conf, "firewall_fail_open", "DISABLED") == "ENABLED":
            self.details.append("firewall_fail_open = ENABLED")
            return CheckResult.FAILED
        return CheckResult.PASSED


check_lab_bucket_only_through_endpoint = LabBucketOnlyThroughOurEndpoint()
check_endpoint_policy = EndpointPolicyKeepsOtherAccountsOut()
check_dns_firewall_fails_closed = DnsFirewallFailsClosed()
