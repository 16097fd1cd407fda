"""The workload's Studio side: the roles' inputs, the lab settings and the start script every
JupyterLab app runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cdktf import Fn, TerraformLocal
from constructs import Construct

from isolated_studio.config import StudioConfig
from modules import aws_owned
from modules.studio_domain import (
    REMOTE_FUNCTION_PREFIX,
    codeartifact_login,
    jupyterlab_startup_script,
    sagemaker_sdk_config,
)
from modules.studio_roles import StudioRolesProps
from stacks.workload_data import lab_bucket_names


def studio_roles_props(
    config: StudioConfig,
    *,
    account: str,
    partition: str,
    key_arn: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    experiments_endpoint_id: str | None,
    domain_id: str = "",
) -> StudioRolesProps:
    """The roles' inputs from the configuration and the values only AWS knows (tokens in a
    synthesis, concrete values in the policy tests that evaluate the roles without one)."""
    w, buckets = config.workload, lab_bucket_names(config, account)
    return StudioRolesProps(
        name=config.name_prefix,
        mode=w.iam_mode,
        partition=partition,
        region=config.region,
        account_id=account,
        lab_bucket_names=[buckets["notebooks"], buckets["mlflow"]],
        mlflow_bucket_name=buckets["mlflow"],
        kms_key_arn=key_arn,
        mlflow_server_name=config.mlflow_server_name,
        codeartifact_domain=config.codeartifact_domain,
        codeartifact_repository=w.codeartifact_repository,
        subnet_ids=subnet_ids,
        security_group_ids=security_group_ids,
        domain_id=domain_id,
        experiments_endpoint_id=experiments_endpoint_id,
        image_accounts=[*aws_owned.for_region(config.region).registry_accounts, *w.docker_trusted_accounts],
    )


def lab_settings(
    config: StudioConfig,
    *,
    account: str,
    partition: str,
    notebooks_bucket: str,
    data_file: Path,
    key_arn: str,
    subnet_ids: Sequence[str],
    security_group_id: str,
    execution_role_arn: str,
) -> dict[str, Any]:
    """What the notebook needs in Studio, written by the start script to
    ~/.isolated-studio/settings.json (pm_lab.settings reads it). Only deterministic names and
    network/key values: the tracking server ARN is built from its name, since the server (tagged
    with the domain id) cannot feed the domain's own start script."""
    w = config.workload
    return {
        "schema_version": 1,
        "region": config.region,
        "account_id": account,
        "codeartifact_domain": config.codeartifact_domain,
        "codeartifact_domain_owner": account,
        "codeartifact_repository": w.codeartifact_repository,
        "tracking_server_arn": (
            f"arn:{partition}:sagemaker:{config.region}:{account}:mlflow-tracking-server/{config.mlflow_server_name}"
        ),
        "mlflow_version": w.mlflow_version,
        "notebooks_bucket": notebooks_bucket,
        "data_uri": f"s3://{notebooks_bucket}/{w.data_prefix}/{data_file.name}",
        "remote_s3_root_uri": f"s3://{notebooks_bucket}/{REMOTE_FUNCTION_PREFIX}",
        "kms_key_arn": key_arn,
        "subnet_ids": list(subnet_ids),
        "security_group_ids": [security_group_id],
        "execution_role_arn": execution_role_arn,
    }


def start_script(
    scope: Construct,
    config: StudioConfig,
    *,
    settings: dict[str, Any],
    account: str,
    notebooks_bucket: str,
    key_arn: str,
    subnet_ids: Sequence[str],
    security_group_id: str,
    execution_role_arn: str,
) -> str:
    """The JupyterLab start script's text (modules/studio_domain.py), with the settings as two
    locals of ``scope`` ("lab_settings_values" and its base64 "lab_settings")."""
    w = config.workload
    return jupyterlab_startup_script(
        region=config.region,
        codeartifact_domain=config.codeartifact_domain,
        codeartifact_owner=account,
        codeartifact_repository=w.codeartifact_repository,
        lab_bucket=notebooks_bucket,
        lab_prefix=w.notebooks_prefix,
        # A local keeps the JSON (and its quotes) out of the script's text. The values are a
        # local of their own: strings that interpolate a reference ("arn:${...}") inside a
        # built-in function's arguments make cdktf warn that such escape sequences are
        # unsupported; as a local, jsonencode() gets one plain reference.
        settings_base64=TerraformLocal(
            scope,
            "lab_settings",
            Fn.base64encode(Fn.jsonencode(TerraformLocal(scope, "lab_settings_values", settings).expression)),
        ).as_string,
        sdk_config=sagemaker_sdk_config(
            bucket=notebooks_bucket,
            kms_key_arn=key_arn,
            subnet_ids=subnet_ids,
            security_group_ids=[security_group_id],
            execution_role_arn=execution_role_arn,
            pre_execution_commands=[
                codeartifact_login(
                    region=config.region,
                    domain=config.codeartifact_domain,
                    owner=account,
                    repository=w.codeartifact_repository,
                )
            ],
        ),
        image_version=w.studio_image_version,
    )
