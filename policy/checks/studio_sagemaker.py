"""SageMaker Studio stays in the VPC (CKV_STUDIO_5 to CKV_STUDIO_8).

The domain's KMS key is not repeated here: checkov's built-in CKV_AWS_187 fails a domain without
``kms_key_id``.
"""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from studio_common import MISSING, attr, blocks, is_ref, is_set, leaves


class SageMakerDomainVpcOnly(BaseResourceCheck):
    """``VpcOnly`` sends all Studio traffic through the VPC; the default, ``PublicInternetOnly``,
    gives every app SageMaker-managed internet access."""

    def __init__(self) -> None:
        super().__init__(
            name='SageMaker domain: app_network_access_type is "VpcOnly"',
            id="CKV_STUDIO_5",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_sagemaker_domain"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["app_network_access_type"]
        value = attr(conf, "app_network_access_type")
        if value == "VpcOnly" or is_ref(value):
            return CheckResult.PASSED
        shown = "unset (default PublicInternetOnly)" if value is MISSING else repr(value)
        self.details.append(f"app_network_access_type is {shown}")
        return CheckResult.FAILED


class SageMakerDomainSecurityGroups(BaseResourceCheck):
    """Apps, spaces and the domain's own resources start with the Studio security group only when
    it is named in all three places; otherwise they get the VPC's default security group."""

    REQUIRED = (
        ("default_user_settings", "security_groups"),
        ("default_space_settings", "security_groups"),
        ("domain_settings", "security_group_ids"),
    )

    def __init__(self) -> None:
        super().__init__(
            name="SageMaker domain: security groups in default user settings, default space settings "
            "and domain settings",
            id="CKV_STUDIO_6",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_sagemaker_domain"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = [f"{block}/[0]/{key}" for block, key in self.REQUIRED]
        missing = [
            f"{block}.{key}"
            for block, key in self.REQUIRED
            if not any(is_set(leaves(attr(b, key))) for b in blocks(conf, block))
        ]
        if missing:
            self.details.append("no security groups in " + ", ".join(missing))
            return CheckResult.FAILED
        return CheckResult.PASSED


class SageMakerUserProfileSecurityGroups(BaseResourceCheck):
    """A user profile inherits the domain's network settings; it may name its own security groups,
    but an explicitly empty list leaves that user's apps without the Studio security group."""

    def __init__(self) -> None:
        super().__init__(
            name="SageMaker user profile: does not clear the domain's security groups",
            id="CKV_STUDIO_7",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_sagemaker_user_profile"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["user_settings/[0]/security_groups"]
        for settings in blocks(conf, "user_settings"):
            value = attr(settings, "security_groups")
            if value is not MISSING and not is_set(leaves(value)):
                self.details.append("user_settings.security_groups is an empty list")
                return CheckResult.FAILED
        return CheckResult.PASSED


class MlflowTrackingServerStorage(BaseResourceCheck):
    """The MLflow tracking server writes artifacts to S3 (reached through the gateway endpoint)
    with its own role."""

    def __init__(self) -> None:
        super().__init__(
            name="SageMaker MLflow tracking server: s3:// artifact store and a role_arn",
            id="CKV_STUDIO_8",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_sagemaker_mlflow_tracking_server"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        self.evaluated_keys = ["artifact_store_uri", "role_arn"]
        uri = attr(conf, "artifact_store_uri")
        if not isinstance(uri, str) or not uri.startswith(("s3://", "${")):
            self.details.append(f"artifact_store_uri {'is unset' if uri is MISSING else repr(uri)}: expected s3://...")
            return CheckResult.FAILED
        if not is_set(attr(conf, "role_arn")):
            self.details.append("role_arn is unset")
            return CheckResult.FAILED
        return CheckResult.PASSED


check_domain_vpc_only = SageMakerDomainVpcOnly()
check_domain_security_groups = SageMakerDomainSecurityGroups()
check_user_profile_security_groups = SageMakerUserProfileSecurityGroups()
check_mlflow_storage = MlflowTrackingServerStorage()
