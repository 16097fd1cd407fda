"""The SageMaker Studio domain in VpcOnly mode, with the lab's JupyterLab lifecycle configuration.

Day 2 shapes both (docs/day-2.md):

- The lifecycle configuration holds only a small bootstrap whose text never changes: it
  fetches the start script (:func:`jupyterlab_startup_script`, with the lab's settings in it)
  from the notebooks bucket, through the S3 gateway endpoint, and runs it. AWS has no update
  call for a lifecycle configuration (the provider forces replacement on any change of
  ``studio_lifecycle_config_content``, internal/service/sagemaker/studio_lifecycle_config.go),
  and DeleteStudioLifecycleConfig refuses one a domain or user profile lists (ResourceInUse):
  an edited script, or any value baked into it, would fail the deploy. The script is an S3
  object instead, which an apply updates in place.
- The domain's own settings are those that never change after creation: UpdateDomain from the
  pinned provider 5.100.0 fails on every VpcOnly domain (it sends AppNetworkAccessType without
  VpcId and SubnetIds; hashicorp/terraform-provider-aws#45528, fixed by #45530 after 5.100.0).
  What a team changes - the JupyterLab instance type, whether the start script is attached, the
  SageMaker Distribution release - lives on the user profiles (modules/user_profiles.py), which
  UpdateUserProfile changes in place.
- Shared spaces (the domain's default space settings) get no image pin and no start script: a
  pin there could only be set when the domain is created and never follow a new release (no
  UpdateDomain), a stale default worse than none; and without the start script a shared space
  has neither the lab nor its kernel. The lab runs in the users' private spaces, which take the
  profiles' defaults (docs/studio-image.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.sagemaker_domain import (
    SagemakerDomain,
    SagemakerDomainDefaultSpaceSettings,
    SagemakerDomainDefaultUserSettings,
    SagemakerDomainDomainSettings,
    SagemakerDomainDomainSettingsDockerSettings,
    SagemakerDomainRetentionPolicy,
)
from cdktf_cdktf_provider_aws.sagemaker_studio_lifecycle_config import SagemakerStudioLifecycleConfig
from constructs import Construct

from isolated_studio.config.rules import ACCOUNT_ID_RE, PROFILE_PATTERN, RESERVED_PREFIX
from modules.props import name_tags, raise_for

# Where the SageMaker Python SDK reads its user defaults (sagemaker.config: the same
# file `sagemaker.config.load_sagemaker_config` reads, next to /etc/xdg/sagemaker/config.yaml).
SDK_CONFIG_PATH = ".config/sagemaker/config.yaml"
REMOTE_FUNCTION_PREFIX = "remote-functions"


def codeartifact_login(*, region: str, domain: str, owner: str, repository: str) -> str:
    """The pip login against our CodeArtifact repository, as one shell command."""
    return (
        f"aws codeartifact login --tool pip --region {region} --domain {domain} "
        f"--domain-owner {owner} --repository {repository}"
    )


def sagemaker_sdk_config(
    *,
    bucket: str,
    kms_key_arn: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    execution_role_arn: str,
    pre_execution_commands: Sequence[str],
) -> dict:
    """The SageMaker Python SDK user configuration (schema of sagemaker.config, SDK 2.232).

    ``DefaultS3Bucket`` matters most: without it ``Session.default_bucket()``, which
    ``@remote`` always calls, heads and then creates ``sagemaker-<region>-<account>``
    outside Terraform (no key, no TLS-only policy, no logging). Jobs default to our
    subnets, security group and key, so they satisfy the least-privilege job conditions
    and their volumes and outputs use our key.

    No ``RemoteFunction.ImageUri``: it takes the image's ECR URI, which AWS documents per
    region and release nowhere a synthesis can read (DescribeImageVersion's ContainerImage of
    an image in AWS's account); inside Studio the SDK, and the lab (pm_lab.execution.job_image_uri),
    take the app's own image from SAGEMAKER_INTERNAL_IMAGE_URI: the release the profiles pin, in
    a space started with it.
    """
    vpc = {"Subnets": list(subnet_ids), "SecurityGroupIds": list(security_group_ids)}
    return {
        "SchemaVersion": "1.0",
        "SageMaker": {
            "PythonSDK": {
                "Modules": {
                    # The SDK reports usage to an AWS endpoint unless told not to (sagemaker.telemetry);
                    # from an isolated network that is a request nobody asked for.
                    "TelemetryOptOut": True,
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
            f"{pad}-\n{to_yaml(item, indent + 1)}"
            if isinstance(item, (dict, list)) and item
            else f"{pad}- {_scalar(item)}"
            for item in value
        )
    return f"{pad}{_scalar(value)}"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return "'" + str(value).replace("'", "''") + "'"


#: Home of the Studio user in JupyterLab apps; the start script uses it when HOME is unset.
STUDIO_HOME = "/home/sagemaker-user"
#: Where the start script writes the lab's settings (relative to the user's home).
SETTINGS_PATH = ".isolated-studio/settings.json"
#: Bounds on every AWS CLI call: Studio stops an app whose start script runs over 5 minutes,
#: and the script makes three calls (STS setting, CodeArtifact login, lab copy) after the
#: bootstrap's fetch of the script.
AWS_CLI_BOUNDS = "timeout 80 aws --cli-connect-timeout 10 --cli-read-timeout 30"
BOOTSTRAP_CLI_BOUNDS = "timeout 40 aws --cli-connect-timeout 10 --cli-read-timeout 20"
#: The SageMaker Distribution image's own Python (its base environment, which runs JupyterLab):
#: the lab's kernel is a virtual environment made from it (notebooks/pm_lab/kernel.py).
IMAGE_PYTHON = "/opt/conda/bin/python"
#: The lab's kernel is built in the background, where Studio's 5-minute limit on the start
#: script does not apply (AWS's "Lifecycle configuration timeout" page: run long tasks with
#: nohup), bounded all the same: pip against CodeArtifact that hangs is stopped here.
KERNEL_BUILD_BOUND_S = 1200
#: Its log, relative to the user's home (the notebook names it while it waits for the build).
KERNEL_BUILD_LOG = ".isolated-studio/kernel-build.log"
#: Where the start script lives in the notebooks bucket: a prefix of ours, which the lab's
#: settings may not use and the lab roles may not write (stacks/workload_data.py).
START_SCRIPT_KEY = f"{RESERVED_PREFIX}/jupyterlab-start.sh"


def jupyterlab_bootstrap_script(
    *, region: str, bucket: str, key: str = START_SCRIPT_KEY, default_home: str = STUDIO_HOME
) -> str:
    """The lifecycle configuration's text: fetch the start script from S3 and run it.

    Its text depends only on the region and the notebooks bucket's name (account and region),
    which no day-2 change alters, so the lifecycle configuration is created once. The last
    script fetched is kept: when S3 cannot be reached the app starts with it (or, the first
    time, without the lab's setup), never not at all.
    """
    return f"""#!/bin/bash
# isolated-studio bootstrap: runs the lab's start script from s3://{bucket}/{key}
# (updated in place by each deploy); this text itself never changes.
set -uo pipefail
home=$(printenv HOME | grep . || echo {default_home})
state=$home/.isolated-studio
mkdir -p $state
if {BOOTSTRAP_CLI_BOUNDS} s3 cp --only-show-errors --region {region} s3://{bucket}/{key} $state/start.sh.new; then
  mv $state/start.sh.new $state/start.sh
else
  echo isolated-studio: WARNING: could not fetch the start script from S3, running the last one fetched
fi
if [ -f $state/start.sh ]; then
  bash $state/start.sh || echo isolated-studio: WARNING: the start script failed
else
  echo isolated-studio: WARNING: no start script yet: the lab is not set up in this app
fi
exit 0
"""


def jupyterlab_startup_script(
    *,
    region: str,
    codeartifact_domain: str,
    codeartifact_owner: str,
    codeartifact_repository: str,
    lab_bucket: str,
    lab_prefix: str,
    settings_base64: str,
    sdk_config: Mapping | None = None,
    image_version: str | None = None,
    image_python: str = IMAGE_PYTHON,
    default_home: str = STUDIO_HOME,
) -> str:
    """The JupyterLab start script: the lab settings, the SDK defaults, pip through CodeArtifact, the
    lab, and the lab's own kernel.

    ``settings_base64`` is the lab's settings file (JSON) base64-encoded; in the stack it is a
    Terraform ``base64encode(jsonencode(...))`` of deployed values, so the script needs no
    look-ups and carries no JSON quoting. The SDK configuration and the regional STS setting
    are ours and rewritten at every start. Lab files are refreshed from the bucket unless the
    user changed them since the script last copied them (an MD5 manifest of the last copies
    tells which); an edited file is kept and named in the log. The bucket's copy is fetched
    whole each time (a few hundred KB): ``s3 sync`` compares sizes and times, not content, and
    would miss a same-sized change. A failure is logged but does not stop JupyterLab from
    starting: a user with a broken pip login can still open a terminal and fix it. HOME may be
    unset when the script runs: it then uses the Studio user's home.

    The lab's kernel (``python -m pm_lab.kernel install`` from the copied lab, with the image's
    ``image_python``) is built after the login and the copy, in the background and bounded
    (:data:`KERNEL_BUILD_BOUND_S`, log in :data:`KERNEL_BUILD_LOG`): its first build installs
    requirements.txt from CodeArtifact, minutes that the start script does not have; later starts
    find it current in seconds. ``image_version``: the release the profiles pin; a space that
    runs another one (it keeps the image it was created with) is named in the log.
    """
    aws = AWS_CLI_BOUNDS
    login = codeartifact_login(
        region=region, domain=codeartifact_domain, owner=codeartifact_owner, repository=codeartifact_repository
    ).replace("aws ", aws + " ", 1)
    sdk = ""
    if sdk_config is not None:
        sdk = f"""log sdk: $home/{SDK_CONFIG_PATH}
mkdir -p $(dirname $home/{SDK_CONFIG_PATH})
cat > $home/{SDK_CONFIG_PATH} <<'ISOLATED_STUDIO_SDK_CONFIG'
# Written by isolated-studio at each JupyterLab start; edits here are overwritten.
{to_yaml(dict(sdk_config))}
ISOLATED_STUDIO_SDK_CONFIG
"""
    image = ""
    if image_version is not None:
        # The image says its release in IMAGE_VERSION (4.4.1-cpu: aws/sagemaker-distribution's
        # Dockerfile and src/config.py); unset (another image), nothing is said.
        image = f"""running=$(printenv IMAGE_VERSION | cut -d- -f1)
if [ x$running != x ] && [ x$running != x{image_version} ]; then
  log WARNING: this space runs SageMaker Distribution $running, the deploy pins {image_version}: the lab is checked against {image_version}, so stop the space, choose {image_version} as its image and start it again
fi
"""
    # The whole background job writes to the log: a job holding the script's output open would
    # keep Studio (and any caller reading it) waiting for the build.
    kernel = f"""log kernel: building the lab kernel in the background, log: $home/{KERNEL_BUILD_LOG}
if [ -x {image_python} ] && [ -f $home/lab/pm_lab/kernel.py ] && [ -f $home/lab/requirements.txt ]; then
  (cd $home/lab && exec nohup timeout {KERNEL_BUILD_BOUND_S} {image_python} -m pm_lab.kernel install) > $home/{KERNEL_BUILD_LOG} 2>&1 < /dev/null &
else
  log WARNING: no {image_python} or no lab in $home/lab: the lab kernel is not built, the notebook builds it
fi
"""
    # No double quotes and no shell ${...}: the script goes through Terraform's base64encode
    # with account-id references in it, and cdktf refuses quotes in such a value.
    return f"""#!/bin/bash
# isolated-studio: runs as sagemaker-user each time a JupyterLab app starts.
set -uo pipefail
log() {{ echo isolated-studio: $*; }}
home=$(printenv HOME | grep . || echo {default_home})
export HOME=$home
state=$home/.isolated-studio
mkdir -p $state $home/lab
{image}echo {settings_base64} | base64 -d > $state/settings.json.tmp && mv $state/settings.json.tmp $home/{SETTINGS_PATH} && log settings: $home/{SETTINGS_PATH} || log WARNING: could not write the lab settings
# boto3 1.35 sends STS to the global endpoint, which has no VPC endpoint: use the regional one.
{aws} configure set default.sts_regional_endpoints regional || log WARNING: could not set regional STS endpoints
{sdk}log pip: CodeArtifact {codeartifact_domain}/{codeartifact_repository}
{login} || log WARNING: CodeArtifact login failed, pip install will not work
log lab: s3://{lab_bucket}/{lab_prefix}/
mirror=$state/lab
manifest=$state/lab.md5
touch $manifest && rm -rf $mirror.new
if {aws} s3 cp --recursive --only-show-errors --region {region} s3://{lab_bucket}/{lab_prefix}/ $mirror.new/ && rm -rf $mirror && mv $mirror.new $mirror; then
  : > $manifest.new
  (cd $mirror && find . -type f | sed s,^[.]/,, | sort) | while read -r rel; do
    new=$(md5sum < $mirror/$rel | cut -c1-32)
    last=$(awk -v f=$rel '$2 == f {{print $1}}' $manifest)
    if [ ! -e $home/lab/$rel ]; then
      mkdir -p $(dirname $home/lab/$rel) && cp $mirror/$rel $home/lab/$rel && echo $new $rel >> $manifest.new
    else
      mine=$(md5sum < $home/lab/$rel | cut -c1-32)
      if [ $mine = $new ]; then
        echo $new $rel >> $manifest.new
      elif [ x$mine = x$last ]; then
        cp $mirror/$rel $home/lab/$rel && echo $new $rel >> $manifest.new && log updated lab/$rel
      else
        log kept your edited lab/$rel, the new version is in $mirror/$rel
        [ -z $last ] || echo $last $rel >> $manifest.new
      fi
    fi
  done
  mv $manifest.new $manifest
else
  log WARNING: could not copy the lab from S3
fi
{kernel}exit 0
"""


@dataclass(frozen=True)
class StudioDomainProps:
    """Inputs of :class:`StudioDomain`.

    security_group_ids: put in domain settings, default user settings and default space
        settings; without all three, some apps start without them.
    retain_home_efs: keep the home EFS on destroy (it then blocks VPC deletion until removed).
    docker_trusted_accounts: accounts whose images Studio's docker may pull in VpcOnly mode.
    lifecycle_script: the JupyterLab lifecycle configuration's text (:func:`jupyterlab_bootstrap_script`);
        the user profiles attach it (modules/user_profiles.py).
    """

    name: str
    vpc_id: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    execution_role_arn: str
    kms_key_arn: str
    lifecycle_script: str
    retain_home_efs: bool = False
    docker_trusted_accounts: Sequence[str] = ()
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
        found += [
            f"docker_trusted_accounts: {a!r} is not a 12-digit account id"
            for a in self.docker_trusted_accounts
            if not ACCOUNT_ID_RE.match(a)
        ]
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
        # Only settings that do not change after creation (see the module docstring): the
        # JupyterLab settings a team changes are on the user profiles.
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
            ),
            default_space_settings=SagemakerDomainDefaultSpaceSettings(
                execution_role=p.execution_role_arn,
                security_groups=sgs,
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
            # Domains created before JupyterLab's settings moved to the user profiles hold them in
            # their defaults; dropping them would be an UpdateDomain, which fails for VpcOnly on the
            # pinned provider (#45528). Left as they are: the profiles' settings win for the users'
            # apps, and nothing here sets them any more.
            lifecycle=TerraformResourceLifecycle(
                ignore_changes=[
                    "default_user_settings[0].jupyter_lab_app_settings",
                    "default_space_settings[0].jupyter_lab_app_settings",
                ]
            ),
        )
