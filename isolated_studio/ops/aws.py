"""The AWS calls the workflow makes itself (Terraform makes the rest), and what their failures mean.

In emulator mode every client talks to the emulator with its fixed test credential.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from isolated_studio.config import StudioConfig
from isolated_studio.config.emulator import EmulatorProfile
from isolated_studio.ops import guard
from isolated_studio.ops.errors import Refused, WorkflowError

Say = Callable[[str], None]


def aws_client(config: StudioConfig, service: str) -> Any:
    """A boto3 client for the configured region; in emulator mode, for the emulator."""
    # Lazy for speed: boto3 costs a few tenths of a second, and synth, plan and review never call AWS.
    import boto3
    from botocore.config import Config

    kwargs: dict[str, Any] = {"region_name": config.region}
    # Standard retries (throttling, transient errors) with botocore's own attempt count, so that
    # AWS_MAX_ATTEMPTS or the profile's max_attempts still decide it: a count given here would
    # override both.
    options: dict[str, Any] = {"retries": {"mode": "standard"}}
    target_kwargs, target_options = EmulatorProfile.of(config).client_settings()
    kwargs.update(target_kwargs)
    options.update(target_options)
    return boto3.client(service, config=Config(**options), **kwargs)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def aws_failure(config: StudioConfig, error: Exception) -> str:
    """An AWS call the workflow needed failed: say which endpoint, and what to check."""
    return EmulatorProfile.of(config).request_failed(error, config.region)


def verify_target(config: StudioConfig, action: str, say: Say) -> guard.Target:
    """guard.check_target for this configuration.

    In emulator mode the account and session-region checks are off: moto answers for one
    fixed account whatever the configuration says, and every client and the provider take
    the region from the configuration, not from the operator's AWS session.
    """
    profile = EmulatorProfile.of(config)
    try:
        target = guard.check_target(
            aws_client(config, "sts"),
            expected_account=profile.account_to_check(config.account_id),
            expected_region=config.region,
            session_region=None,  # checked with every region setting by check_region, in preflight
            environment=repr(config.environment),
            action=action,
        )
    except guard.NoUsableCredentials as error:
        unreachable = isinstance(error.__cause__, EndpointConnectionError) and profile.not_answering()
        raise Refused(unreachable or str(error)) from error
    except guard.GuardError as error:
        raise Refused(str(error)) from error
    say(f"Target: {profile.who(target.account)}, region {target.region} (as {target.caller_arn})")
    note = profile.unpinned_account_note(config.account_id)
    if note:
        say(f"  note: {note}")
    return target


def check_region(config: StudioConfig, action: str, env: Mapping[str, str]) -> None:
    """guard.check_region for this configuration and this shell (variables and profile)."""
    try:
        guard.check_region(
            config.region,
            config.region_source,
            env,
            profile_region(env),
            environment=repr(config.environment),
            action=action,
        )
    except guard.GuardError as error:
        raise Refused(str(error)) from error


def profile_region(env: Mapping[str, str]) -> str | None:
    """The region of the AWS profile this shell selects (AWS_PROFILE, AWS_CONFIG_FILE)."""
    # Lazy for speed, as in aws_client.
    import botocore.session
    from botocore.exceptions import ProfileNotFound

    session = botocore.session.Session(session_vars=None)
    for name, variable in (("profile", "AWS_PROFILE"), ("config_file", "AWS_CONFIG_FILE")):
        if env.get(variable):
            session.set_config_variable(name, env[variable])
    try:
        return session.get_scoped_config().get("region")
    except ProfileNotFound as error:
        raise Refused(f"{error}: set AWS_PROFILE to a profile in your AWS config, or unset it") from error


# --------------------------------------------------------------------------- the state bucket


def bucket_exists(s3: Any, bucket: str, region: str | None = None) -> bool:
    """Whether the state bucket exists; refused when it exists but is not ours to use.

    With ``region``, a bucket in another region is refused too: S3 names are global, so the
    same file deployed to a second region must name that region's own bucket.
    """
    try:
        head = s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        # HeadBucket is a HEAD request: its error answer has no body, so botocore's code is
        # the HTTP status, from AWS and moto_server alike (never NoSuchBucket or AccessDenied).
        code = error_code(error)
        if code == "404":
            return False
        if code == "403":
            raise Refused(
                f"the state bucket {bucket} exists but these credentials cannot use it (403): "
                "S3 bucket names are global, so state.bucket may belong to another account"
            ) from error
        raise
    located = head.get("BucketRegion")  # botocore's name for the x-amz-bucket-region header
    if region and located and located != region:
        raise Refused(
            f"the state bucket {bucket} is in {located}, but this run works in {region}: S3 bucket names "
            "are global, so each region needs its own state bucket; put {region} in state.bucket "
            '(e.g. bucket = "<name>-tfstate-{region}") to deploy this file to several regions'
        )
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
    """Delete every object version and delete marker; returns how many.

    Each round lists from the start, never from the previous page's marker: that marker names
    a version deleted since, and moto (the emulator) then lists nothing more, leaving the
    bucket full. DeleteObjects answers 200 also when it could not delete some (object lock,
    a bucket policy): they come back as Errors, the bucket is then not empty, and that stops
    here with what was not deleted instead of being counted as deleted.
    """
    deleted = 0
    while True:
        page = s3.list_object_versions(Bucket=bucket)
        entries = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if not entries:
            return deleted
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": entries, "Quiet": True})
        failed = answer.get("Errors", [])
        deleted += len(entries) - len(failed)
        if failed:
            shown = ", ".join(f"{e.get('Key')} ({e.get('Code')}: {e.get('Message')})" for e in failed[:5])
            more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
            raise WorkflowError(
                f"the state bucket {bucket} was not emptied: S3 did not delete {len(failed)} "
                f"object versions: {shown}{more}; {deleted} were deleted"
            )


# --------------------------------------------------------------------------- state locks


def held_lock(config: StudioConfig, key: str) -> dict[str, Any] | None:
    """The lock Terraform holds on the state at ``key`` (its ID, Who, Operation), or None.

    The S3 backend locks with an item ``<bucket>/<key>`` in the DynamoDB table (its ``Info``
    is the lock's JSON) and/or, with ``use_lockfile``, an object ``<key>.tflock``.
    """
    bucket = config.state.bucket
    if config.state.locking in ("dynamodb", "both"):
        item = (
            aws_client(config, "dynamodb")
            .get_item(
                TableName=config.state.lock_table,
                Key={"LockID": {"S": f"{bucket}/{key}"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if item:
            return _lock_info(item.get("Info", {}).get("S", ""))
    if config.state.locking in ("lockfile", "both"):
        try:
            body = aws_client(config, "s3").get_object(Bucket=bucket, Key=f"{key}.tflock")["Body"].read()
        except ClientError as error:
            if error_code(error) not in ("NoSuchKey", "404"):
                raise
        else:
            return _lock_info(body.decode(errors="replace"))
    return None


def _lock_info(text: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    return info if isinstance(info, dict) else {"ID": "?", "Info": text}
