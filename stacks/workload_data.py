"""The workload's data: the KMS key, the lab buckets with their access logs, and the data set's file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from constructs import Construct

from isolated_studio.config import PROJECT_ROOT, StudioConfig
from isolated_studio.config.emulator import EmulatorProfile
from modules.encryption_key import EncryptionKey, EncryptionKeyProps
from modules.secure_bucket import SecureBucket, SecureBucketProps
from modules.studio_domain import START_SCRIPT_KEY

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
#: The UCI file, when the user saved it there; else deploy generates one beside it.
DEFAULT_DATA_FILE = PROJECT_ROOT / "data" / "ai4i2020.csv"
GENERATED_DATA_FILE = PROJECT_ROOT / "data" / "generated" / "ai4i2020.csv"


def lab_data_file(configured: str) -> Path:
    """The AI4I 2020 CSV a deploy uploads: the configured file, else data/ai4i2020.csv, else generated.

    The generator (the same command as `make data`, seed 42) is deterministic, so the file and
    its S3 object stay the same from one synthesis to the next and plans show no change.
    """
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else PROJECT_ROOT / path
    if DEFAULT_DATA_FILE.is_file():
        return DEFAULT_DATA_FILE
    if not GENERATED_DATA_FILE.is_file():
        GENERATED_DATA_FILE.parent.mkdir(parents=True, exist_ok=True)
        # A name of this process's own: syntheses side by side (test workers, two terminals) each
        # write a whole file and the last rename wins; the generator is deterministic, so they agree.
        partial = GENERATED_DATA_FILE.with_suffix(f".{os.getpid()}.partial")
        subprocess.run(
            [sys.executable, "-m", "pm_lab.synthetic", "--rows", "10000", "--seed", "42", "--out", str(partial)],
            cwd=NOTEBOOKS_DIR,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        partial.replace(GENERATED_DATA_FILE)
    return GENERATED_DATA_FILE


def lab_bucket_names(config: StudioConfig, account: str) -> dict[str, str]:
    """The buckets' names by kind ("logs", "notebooks", "mlflow").

    Deterministic names (account and region make them globally unique) let roles and policies
    name the buckets without waiting for them.
    """
    return {kind: f"{config.name_prefix}-{kind}-{account}-{config.region}" for kind in ("logs", "notebooks", "mlflow")}


def workload_key(scope: Construct, *, config: StudioConfig, account: str, partition: str) -> EncryptionKey:
    """The one key of the workload's data: home EFS, lab buckets, CodeArtifact, SageMaker logs."""
    name = config.name_prefix
    return EncryptionKey(
        scope,
        "kms",
        props=EncryptionKeyProps(
            name=f"{name}-workload",
            description=f"{name}: Studio home EFS, lab buckets, CodeArtifact, SageMaker logs",
            account_id=account,
            partition=partition,
            region=config.region,
            via_services=("s3", "elasticfilesystem", "codeartifact", "sagemaker"),
            log_group_pattern="/aws/sagemaker/*",
        ),
    )


class LabBuckets:
    """The access-log bucket and the notebooks bucket at once; the MLflow artifacts bucket by
    :meth:`mlflow`, once the domain's URL (its CORS origin) exists. Construct ids are the
    stack's own ("access-logs", "notebooks", "mlflow-artifacts"): renaming one replaces a bucket.

    Attributes: ``names`` (by kind), ``logs``, ``notebooks``.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        config: StudioConfig,
        target: EmulatorProfile,
        account: str,
        partition: str,
        key_arn: str,
        lab_roles: Sequence[str],
        execution_role_arn: str,
        s3_endpoint: str,
    ) -> None:
        self._scope, self._config, self._key_arn, self._lab_roles = scope, config, key_arn, list(lab_roles)
        w, conditional_denies = config.workload, target.applies_deny_conditions
        self._conditional_denies = conditional_denies
        self.names = names = lab_bucket_names(config, account)
        # The execution role's credentials work only through our S3 endpoint; the MLflow server
        # (its own role, from SageMaker's network) and the deployer are not bound.
        self._endpoint_only = ([execution_role_arn], [s3_endpoint]) if conditional_denies else ([], [])
        self.logs = SecureBucket(
            scope,
            "access-logs",
            props=SecureBucketProps(
                bucket_name=names["logs"],
                kms_key_arn=None,  # S3 server access logging cannot deliver to SSE-KMS buckets
                access_log_bucket=None,
                force_destroy=w.force_destroy_buckets,
                deny_insecure_transport=conditional_denies,
                noncurrent_version_days=w.noncurrent_version_expiration_days,
                extra_statements=[
                    {
                        "Sid": "S3ServerAccessLogDelivery",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:{partition}:s3:::{names['logs']}/*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                    }
                ],
            ),
        )
        # The start script every JupyterLab app runs (modules/studio_domain.py) is written by
        # deploys only: no lab role may change what the other users' apps run.
        self.notebooks = self._bucket(
            "notebooks",
            "notebooks",
            extra_statements=[
                {
                    "Sid": "OnlyDeploysWriteTheStartScript",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"],
                    "Resource": f"arn:{partition}:s3:::{names['notebooks']}/{START_SCRIPT_KEY}",
                    "Condition": {"ArnEquals": {"aws:PrincipalArn": self._lab_roles}},
                }
            ]
            if conditional_denies
            else [],
        )

    def mlflow(self, *, cors_origins: Sequence[str]) -> SecureBucket:
        """The MLflow artifacts bucket: the MLflow UI in Studio uploads and downloads from the browser."""
        return self._bucket("mlflow-artifacts", "mlflow", cors_origins=list(cors_origins))

    def _bucket(self, id: str, kind: str, **extra: Any) -> SecureBucket:
        """A KMS-encrypted bucket the lab roles read and write, logging into access-logs."""
        w, principals, endpoints = self._config.workload, *self._endpoint_only
        return SecureBucket(
            self._scope,
            id,
            props=SecureBucketProps(
                bucket_name=self.names[kind],
                kms_key_arn=self._key_arn,
                access_log_bucket=self.logs.bucket.id,
                access_log_prefix=f"{kind}/",
                access_log_ready=[self.logs.policy],
                read_write_principals=self._lab_roles,
                force_destroy=w.force_destroy_buckets,
                deny_insecure_transport=self._conditional_denies,
                endpoint_only_principals=principals,
                endpoint_ids=endpoints,
                noncurrent_version_days=w.noncurrent_version_expiration_days,
                **extra,
            ),
        )
