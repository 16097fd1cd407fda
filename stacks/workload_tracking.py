"""The workload's experiment tracking: the SageMaker managed MLflow server."""

from __future__ import annotations

from constructs import Construct

from isolated_studio.config import StudioConfig
from modules.mlflow_server import MlflowServer, MlflowServerProps
from modules.secure_bucket import SecureBucket
from modules.studio_roles import StudioRoles


def tracking_server(
    scope: Construct, config: StudioConfig, *, artifacts: SecureBucket, roles: StudioRoles
) -> MlflowServer:
    """The tracking server (construct id "mlflow"). It needs only its bucket, its role and the
    role's grants: never the domain, users, lab uploads or CodeArtifact, so its 25-45 minute
    creation starts at once (modules/mlflow_server.py)."""
    w = config.workload
    return MlflowServer(
        scope,
        "mlflow",
        props=MlflowServerProps(
            name=config.mlflow_server_name,
            artifact_bucket=artifacts.bucket.bucket,
            artifact_prefix=w.mlflow_artifact_prefix,
            role_arn=roles.mlflow_role.arn,
            size=w.mlflow_size,
            mlflow_version=w.mlflow_version,
            automatic_model_registration=w.mlflow_automatic_model_registration,
            maintenance_window=w.mlflow_maintenance_window,
            depends_on=[roles.policies["mlflow-artifacts"], roles.policies["mlflow-model-registry"]],
        ),
    )
