"""A SageMaker managed MLflow tracking server with its artifacts in our bucket."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.sagemaker_mlflow_tracking_server import SagemakerMlflowTrackingServer
from constructs import Construct

from isolated_studio.config.rules import MLFLOW_SIZES
from modules.props import raise_for

SIZES = MLFLOW_SIZES


@dataclass(frozen=True)
class MlflowServerProps:
    """Inputs of :class:`MlflowServer`.

    Creation takes 25-45 minutes and changing name, role or version replaces the server,
    so ``depends_on`` should hold only what the server really needs (its role's grants). It
    does not wait for the Studio domain: the seed tagged it ``domain-id = <domain id>`` "so that
    Studio shows it", which no AWS documentation describes (CreateMlflowTrackingServer's API
    reference and the MLflow guide's CLI walk-through tag nothing; Studio lists the account's
    tracking servers), and which made the 25-45 minutes start only after the domain's creation.
    The notebook finds the server by the ARN in its settings.
    """

    name: str
    artifact_bucket: str
    artifact_prefix: str
    role_arn: str
    size: str = "Small"
    mlflow_version: str = "2.16"
    automatic_model_registration: bool = True
    maintenance_window: str = "Sun:03:00"
    depends_on: Sequence[ITerraformDependable] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if not re.match(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$", self.name):
            found.append(f"name: {self.name!r} is not a valid tracking server name")
        if self.size not in SIZES:
            found.append(f"size: {self.size!r} must be one of {list(SIZES)}")
        if not re.match(r"^\d+\.\d+$", self.mlflow_version):
            # SageMaker rejects patch versions ("The provided MLflow version is not supported").
            found.append(f"mlflow_version: {self.mlflow_version!r} must be major.minor like 2.16")
        if not re.match(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):[0-5]\d$", self.maintenance_window):
            found.append(f"maintenance_window: {self.maintenance_window!r} must be Ddd:HH:MM")
        if self.artifact_prefix.startswith("/"):
            found.append("artifact_prefix: must not start with '/'")
        return found


class MlflowServer(Construct):
    """Attributes: ``server``, ``artifact_store_uri``."""

    def __init__(self, scope: Construct, id: str, *, props: MlflowServerProps) -> None:
        raise_for("MlflowServer", props.problems())
        super().__init__(scope, id)
        p = props
        self.artifact_store_uri = f"s3://{p.artifact_bucket}/{p.artifact_prefix.strip('/')}"
        self.server = SagemakerMlflowTrackingServer(
            self,
            "server",
            tracking_server_name=p.name,
            artifact_store_uri=self.artifact_store_uri,
            role_arn=p.role_arn,
            tracking_server_size=p.size,
            mlflow_version=p.mlflow_version,
            automatic_model_registration=p.automatic_model_registration,
            weekly_maintenance_window_start=p.maintenance_window,
            depends_on=list(p.depends_on) or None,
            tags=dict(p.tags) or None,
        )
