"""Studio user profiles, one per data scientist."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.sagemaker_user_profile import (
    SagemakerUserProfile,
    SagemakerUserProfileUserSettings,
    SagemakerUserProfileUserSettingsJupyterLabAppSettings,
    SagemakerUserProfileUserSettingsJupyterLabAppSettingsDefaultResourceSpec,
)
from constructs import Construct

from modules.props import raise_for

_PROFILE_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# botocore's sagemaker ImageArn (the configuration checks the full shape; this keeps the module honest alone).
_IMAGE_ARN_RE = re.compile(r"^arn:aws(-[\w]+)*:sagemaker:[a-z0-9-]+:[0-9]{12}:image/[a-zA-Z0-9]([-.]?[a-zA-Z0-9])*$")
_RELEASE_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


@dataclass(frozen=True)
class UserProfilesProps:
    """Inputs of :class:`UserProfiles`: names are unique; each profile repeats the domain's
    security groups and execution role so that a profile never falls back to other ones.

    The JupyterLab settings a team changes live here, not on the domain: UpdateUserProfile
    changes them in place, while UpdateDomain from the pinned provider fails on a VpcOnly
    domain (hashicorp/terraform-provider-aws#45528; modules/studio_domain.py). The user's
    private spaces take their JupyterLab defaults from the profile.

    jupyterlab_instance_type: the default instance type of the user's JupyterLab spaces.
    lifecycle_config_arn: the lab's start-script lifecycle configuration, attached and made the
        default; None: not attached.
    image_arn, image_version: the SageMaker Distribution image (``.../image/sagemaker-distribution-cpu``)
        and its release (``4.4.1``) the user's JupyterLab spaces start with, pinned together in the
        default resource spec; None: not pinned (Studio chooses). Never a version ARN: when a
        resource spec holds one, SageMaker uses it and ignores a new image ARN (the API
        reference's DefaultResourceSpec note, e.g. CodeEditorAppSettings).
    """

    domain_id: str
    names: Sequence[str]
    execution_role_arn: str
    security_group_ids: Sequence[str]
    jupyterlab_instance_type: str = "ml.t3.medium"
    lifecycle_config_arn: str | None = None
    image_arn: str | None = None
    image_version: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = [f"names: {n!r} is not a valid user profile name" for n in self.names if not _PROFILE_RE.match(n)]
        if not self.names:
            found.append("names: at least one profile")
        dupes = sorted({n for n in self.names if list(self.names).count(n) > 1})
        if dupes:
            found.append(f"names: duplicates {dupes}")
        if (self.image_arn is None) != (self.image_version is None):
            found.append("image_arn, image_version: both or neither (an alias names a version of one image)")
        if self.image_arn is not None and not _IMAGE_ARN_RE.match(self.image_arn):
            found.append(f"image_arn: {self.image_arn!r} is not a SageMaker image ARN")
        if self.image_version is not None and not _RELEASE_RE.match(self.image_version):
            found.append(f"image_version: {self.image_version!r} is not a release (major.minor.patch)")
        return found


class UserProfiles(Construct):
    """Attribute: ``profiles`` (name -> SagemakerUserProfile)."""

    def __init__(self, scope: Construct, id: str, *, props: UserProfilesProps) -> None:
        raise_for("UserProfiles", props.problems())
        super().__init__(scope, id)
        self.profiles: dict[str, SagemakerUserProfile] = {}
        lcc = props.lifecycle_config_arn
        for name in props.names:
            # Keyed by name: removing one user never replaces another user's profile.
            self.profiles[name] = SagemakerUserProfile(
                self,
                f"profile-{name}",
                domain_id=props.domain_id,
                user_profile_name=name,
                user_settings=SagemakerUserProfileUserSettings(
                    execution_role=props.execution_role_arn,
                    security_groups=list(props.security_group_ids),
                    jupyter_lab_app_settings=SagemakerUserProfileUserSettingsJupyterLabAppSettings(
                        lifecycle_config_arns=[lcc] if lcc else None,
                        default_resource_spec=SagemakerUserProfileUserSettingsJupyterLabAppSettingsDefaultResourceSpec(
                            instance_type=props.jupyterlab_instance_type,
                            lifecycle_config_arn=lcc,
                            # UpdateUserProfile sends the whole user_settings (the provider's
                            # resourceUserProfileUpdate, expandResourceSpec): a new release is an
                            # in-place update of the profile, never of the domain.
                            sagemaker_image_arn=props.image_arn,
                            sagemaker_image_version_alias=props.image_version,
                        ),
                    ),
                ),
                tags={**props.tags, "StudioUser": name},
            )
