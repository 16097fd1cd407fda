"""The SageMaker Studio domain in VpcOnly mode, with the lab's JupyterLab lifecycle configuration."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from cdktf import Fn
from cdktf_cdktf_provider_aws.sagemaker_domain import (
    SagemakerDomain,
    SagemakerDomainDefaultSpaceSettings,
    SagemakerDomainDefaultSpaceSettingsJupyterLabAppSettings,
    SagemakerDomainDefaultSpaceSettingsJupyterLabAppSettingsDefaultResourceSpec,
    SagemakerDomainDefaultUserSettings,
    SagemakerDomainDefaultUserSettingsJupyterLabAppSettings,
    SagemakerDomainDefaultUserSettingsJupyterLabAppSettingsDefaultResourceSpec,
    SagemakerDomainDomainSettings,
    SagemakerDomainDomainSettingsDockerSettings,
    SagemakerDomainRetentionPolicy,
)
from cdktf_cdktf_provider_aws.sagemaker_studio_lifecycle_config import SagemakerStudioLifecycleConfig
from constructs import Construct

from isolated_studio.config import ACCOUNT_ID_RE, PROFILE_PATTERN
from modules.props import name_tags, raise_for



# Where the SageMaker Python SDK reads its user defaults (sagemaker.config: the same
# file `sagemaker.config.load_sagemaker_config` reads, next to /etc/xdg/sagemaker/config.yaml).
SDK_CONFIG_PATH = ".config/sagemaker/config.yaml"
REMOTE_FUNCTION_PREFIX = "remote-functions"


def codeartifact_login(*, region: str, domain: str, owner: str, repository: str) -> str:
    """The pip login against our CodeArtifact repository, as one shell command."""
    return (f"aws codeartifact login --tool pip --region {region} --domain {domain} "
            f"--domain-owner {owner} --repository {repository}")


def sagemaker_sdk_config(
    *, bucket: str, kms_key_arn: str, subnet_ids: Sequence[str], security_group_ids: Sequence[str],
    execution_role_arn: str, pre_execution_commands: Sequence[str],
) -> dict:
    """The SageMaker Python SDK user configuration (schema of sagemaker.config, SDK 2.232).

    ``DefaultS3Bucket`` matters most: without it ``Session.default_bucket()``, which
    ``@remote`` always calls, heads and then creates ``sagemaker-<region>-<account>``
    outside Terraform (no key, no TLS-only policy, no logging). Jobs default to our
    subnets, security group and key, so they satisfy the least-privilege job conditions
    and their volumes and outputs use our key.
    """
    vpc = {"Subnets": list(subnet_ids), "SecurityGroupIds": list(security_group_ids)}
    return {
        "SchemaVersion": "1.0",
        "SageMaker": {
            "PythonSDK": {
                "Modules": {
                    "Session": {"DefaultS3Bucket": bucket},
                    "RemoteFunction": {
                        "S3RootUri": f"s3://{bucket}/{REMOTE_FUNCTION_PREFIX}",
                        "S3KmsKeyId": kms_key_arn,
                        "VolumeKmsKeyId": kms_key_arn,
                        "VpcConfig": vpc,
                        "RoleArn": execution_role_arn,
                        "PreExecutionCommands": list(pre_execution_commands),
                        # botocore 1.35 sends STS to the global endpoint, which the VPC cannot reach.
                        "EnvironmentVariables": {"AWS_STS_REGIONAL_ENDPOINTS": "regional"},
                    },
                },
            },
            # Every training and processing job the SDK starts (not only @remote).
            "TrainingJob": {
                "VpcConfig": vpc,
                "OutputDataConfig": {"KmsKeyId": kms_key_arn},
                "ResourceConfig": {"VolumeKmsKeyId": kms_key_arn},
            },
            "ProcessingJob": {
                "NetworkConfig": {"VpcConfig": vpc},
                "ProcessingOutputConfig": {"KmsKeyId": kms_key_arn},
                "ProcessingResources": {"ClusterConfig": {"VolumeKmsKeyId": kms_key_arn}},
            },
        },
    }


def to_yaml(value: object, indent: int = 0) -> str:
    """Block YAML with every string single-quoted (no double quotes: see the script below)."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        return "\n".join(
            f"{pad}-\n{to_yaml(item, indent + 1)}" if isinstance(item, (dict, list)) and item else f"{pad}- {_scalar(item)}"
            for item in value
        )
    return f"{pad}{_scalar(value)}"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return "'" + str(value).replace("'", "''") + "'"


def jupyterlab_startup_script(
    *, region: str, codeartifact_domain: str, codeartifact_owner: str, codeartifact_repository: str,
    lab_bucket: str, lab_prefix: str, sdk_config: Mapping | None = None,
) -> str:
    """The JupyterLab start script: pip through CodeArtifact, the SDK defaults, and the lab.

    It never overwrites a file the user changed (``cp -n`` from a fresh mirror), and a
    failure is logged but does not stop JupyterLab from starting: a user with a broken pip
    login can still open a terminal and fix it. The SDK configuration and the regional STS
    setting are ours and rewritten at every start.
    """
    login = codeartifact_login(region=region, domain=codeartifact_domain, owner=codeartifact_owner,
                               repository=codeartifact_repository)
    sdk = ""
    if sdk_config is not None:
        sdk = f"""log sdk: $HOME/{SDK_CONFIG_PATH}
mkdir -p $(dirname $HOME/{SDK_CONFIG_PATH})
cat > $HOME/{SDK_CONFIG_PATH} <<'ISOLATED_STUDIO_SDK_CONFIG'
# Written by isolated-studio at each JupyterLab start; edits here are overwritten.
{to_yaml(dict(sdk_config))}
ISOLATED_STUDIO_SDK_CONFIG
"""
    # No double quotes and no shell ${...}: the script goes through Terraform's base64encode
    # with account-id references in it, and cdktf refuses quotes in such a value.
    return f"""#!/bin/bash
# isolated-studio: runs as sagemaker-user each time a JupyterLab app starts.
set -uo pipefail
log() {{ echo isolated-studio: $*; }}
# boto3 1.35 sends STS to the global endpoint, which has no VPC endpoint: use the regional one.
aws configure set default.sts_regional_endpoints regional || log WARNING: could not set regional STS endpoints
{sdk}log pip: CodeArtifact {codeartifact_domain}/{codeartifact_repository}
{login} || log WARNING: CodeArtifact login failed, pip install will not work
log lab: s3://{lab_bucket}/{lab_prefix}/
mirror=$HOME/.isolated-studio/lab
mkdir -p $mirror $HOME/lab
if aws s3 sync --only-show-errors --region {region} s3://{lab_bucket}/{lab_prefix}/ $mirror/; then
  cp -rn $mirror/. $HOME/lab/
else
  log WARNING: could not copy the lab from S3
fi
exit 0
"""


@dataclass(frozen=True)
class StudioDomainProps:
    """Inputs of :class:`StudioDomain`.

    security_group_ids: put in domain settings, default user settings and default space
        settings; without all three, some apps start without them.
    retain_home_efs: keep the home EFS on destroy (it then blocks VPC deletion until removed).
    docker_trusted_accounts: accounts whose images Studio's docker may pull in VpcOnly mode.
    lifecycle_script: JupyterLab start script; attached as the default when attach_lifecycle_config.
    """

    name: str
    vpc_id: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    execution_role_arn: str
    kms_key_arn: str
    lifecycle_script: str
    attach_lifecycle_config: bool = True
    retain_home_efs: bool = False
    docker_trusted_accounts: Sequence[str] = ()
    instance_type: str = "ml.t3.medium"
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if not re.match(PROFILE_PATTERN, self.name):
            found.append(f"name: {self.name!r} is not a valid domain name")
        if not self.security_group_ids:
            found.append("security_group_ids: VpcOnly apps need at least one security group")
        if len(self.security_group_ids) > 5:
            found.append("security_group_ids: at most 5")
        if not self.subnet_ids:
            found.append("subnet_ids: at least one private subnet is needed")
        found += [f"docker_trusted_accounts: {a!r} is not a 12-digit account id"
                  for a in self.docker_trusted_accounts if not ACCOUNT_ID_RE.match(a)]
        if not self.lifecycle_script.startswith("#!"):
            found.append("lifecycle_script: must start with a shebang line")
        return found


class StudioDomain(Construct):
    """Attributes: ``domain``, ``lifecycle_config``."""

    def __init__(self, scope: Construct, id: str, *, props: StudioDomainProps) -> None:
        raise_for("StudioDomain", props.problems())
        super().__init__(scope, id)
        p = props
        sgs = list(p.security_group_ids)
        self.lifecycle_config = SagemakerStudioLifecycleConfig(
            self,
            "jupyterlab-lifecycle",
            studio_lifecycle_config_name=f"{p.name}-lab-setup",
            studio_lifecycle_config_app_type="JupyterLab",
            studio_lifecycle_config_content=Fn.base64encode(p.lifecycle_script),
            tags=dict(p.tags),
        )
        lcc = [self.lifecycle_config.arn] if p.attach_lifecycle_config else None
        lcc_default = self.lifecycle_config.arn if p.attach_lifecycle_config else None
        self.domain = SagemakerDomain(
            self,
            "domain",
            domain_name=p.name,
            auth_mode="IAM",
            app_network_access_type="VpcOnly",
            vpc_id=p.vpc_id,
            subnet_ids=list(p.subnet_ids),
            kms_key_id=p.kms_key_arn,
            default_user_settings=SagemakerDomainDefaultUserSettings(
                execution_role=p.execution_role_arn,
                security_groups=sgs,
                studio_web_portal="ENABLED",
                default_landing_uri="studio::",
                jupyter_lab_app_settings=SagemakerDomainDefaultUserSettingsJupyterLabAppSettings(
                    lifecycle_config_arns=lcc,
                    default_resource_spec=SagemakerDomainDefaultUserSettingsJupyterLabAppSettingsDefaultResourceSpec(
                        instance_type=p.instance_type, lifecycle_config_arn=lcc_default,
                    ),
                ),
            ),
            default_space_settings=SagemakerDomainDefaultSpaceSettings(
                execution_role=p.execution_role_arn,
                security_groups=sgs,
                jupyter_lab_app_settings=SagemakerDomainDefaultSpaceSettingsJupyterLabAppSettings(
                    lifecycle_config_arns=lcc,
                    default_resource_spec=SagemakerDomainDefaultSpaceSettingsJupyterLabAppSettingsDefaultResourceSpec(
                        instance_type=p.instance_type, lifecycle_config_arn=lcc_default,
                    ),
                ),
            ),
            domain_settings=SagemakerDomainDomainSettings(
                security_group_ids=sgs,
                docker_settings=SagemakerDomainDomainSettingsDockerSettings(
                    enable_docker_access="ENABLED",
                    vpc_only_trusted_accounts=list(p.docker_trusted_accounts),
                ),
            ),
            retention_policy=SagemakerDomainRetentionPolicy(
                home_efs_file_system="Retain" if p.retain_home_efs else "Delete"
            ),
            tags=name_tags(p.name, dict(p.tags)),
        )
