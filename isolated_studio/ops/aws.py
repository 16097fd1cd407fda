"""The AWS calls the workflow makes itself (Terraform makes the rest), and what their failures mean.

In emulator mode every client talks to the emulator with its fixed test credential.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from isolated_studio.config import EMULATOR_CREDENTIAL, StudioConfig
from isolated_studio.ops import guard
from isolated_studio.ops.errors import Refused

Say = Callable[[str], None]


def aws_client(config: StudioConfig, service: str) -> Any:
    """A boto3 client for the configured region; in emulator mode, for the emulator."""
    import boto3
    from botocore.config import Config

    kwargs: dict[str, Any] = {"region_name": config.region}
    options: dict[str, Any] = {"retries": {"max_attempts": 4, "mode": "standard"}}
    if config.emulator.enabled:
        kwargs.update(
            endpoint_url=config.emulator.endpoint.rstrip("/"),
            aws_access_key_id=EMULATOR_CREDENTIAL,
            aws_secret_access_key=EMULATOR_CREDENTIAL,
        )
        options["s3"] = {"addressing_style": "path"}
    return boto3.client(service, config=Config(**options), **kwargs)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def aws_failure(config: StudioConfig, error: Exception) -> str:
    """An AWS call the workflow needed failed: say which endpoint, and what to check."""
    if config.emulator.enabled:
        return (f"the emulator at {config.emulator.endpoint} did not answer as expected ({error}); "
                f"is it running? (`make emulator`, or moto_server on that port)")
    return f"an AWS request failed ({error}); check your credentials and region {config.region}"


def verify_target(config: StudioConfig, action: str, say: Say) -> guard.Target:
    """guard.check_target for this configuration.

    In emulator mode the account and session-region checks are off: moto answers for one
    fixed account whatever the configuration says, and every client and the provider take
    the region from the configuration, not from the operator's AWS session.
    """
    import boto3

    emulated = config.emulator.enabled
    try:
        target = guard.check_target(
            aws_client(config, "sts"),
            expected_account=None if emulated else config.account_id,
            expected_region=config.region,
            session_region=None if emulated else boto3.session.Session().region_name,
            environment=repr(config.environment),
            action=action,
        )
    except guard.GuardError as error:
        raise Refused(str(error)) from error
    where = f"emulator {config.emulator.endpoint}" if emulated else f"account {target.account}"
    say(f"Target: {where}, region {target.region} (as {target.caller_arn})")
    if not emulated and config.account_id is None:
        say("  note: project.account_id is not set, so any account is accepted; set it to pin this environment")
    return target


# --------------------------------------------------------------------------- the state bucket


def bucket_exists(s3: Any, bucket: str) -> bool:
    """Whether the state bucket exists; refused when it exists but is not ours to use."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error_code(error)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False
        if code in ("403", "AccessDenied", "Forbidden"):
            raise Refused(
                f"the state bucket {bucket} exists but these credentials cannot use it (403): "
                "S3 bucket names are global, so state.bucket may belong to another account"
            ) from error
        raise
    return True


def tracked_states(s3: Any, bucket: str) -> dict[str, int]:
    """State files in the bucket that still track managed resources, with how many."""
    tracked = {}
    for key in _state_keys(s3, bucket):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        managed = [r for r in json.loads(body or b"{}").get("resources", []) if r.get("mode") == "managed"]
        if managed:
            tracked[key] = len(managed)
    return tracked


def _state_keys(s3: Any, bucket: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".tfstate")]
    return keys


def delete_all_versions(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if entries:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": entries, "Quiet": True})
            deleted += len(entries)
    return deleted
