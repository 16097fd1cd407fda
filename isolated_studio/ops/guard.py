"""Safety checks run before ``deploy`` and ``destroy``.

The most expensive mistake with infrastructure code is applying the right
change to the wrong place: a ``dev`` configuration deployed with production
credentials, or a destroy confirmed by a reflexive "y".  These checks make
both explicit and fail with a message that says what to fix.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from isolated_studio.config import ACCOUNT_ID_RE


class GuardError(Exception):
    """A safety check refused to let the operation go ahead."""


class TargetMismatch(GuardError):
    """The credentials or session point at another account or region."""


class NoUsableCredentials(GuardError):
    """STS could not tell who we are, so the target cannot be verified."""


class Aborted(GuardError):
    """The operator did not confirm the operation."""


@dataclass(frozen=True)
class Target:
    """Where the operation will actually land, as verified with STS."""

    account: str
    region: str
    caller_arn: str


def check_target(
    sts_client: Any,
    *,
    expected_account: str | None,
    expected_region: str,
    session_region: str | None,
    environment: str = "this environment",
    action: str = "deploy",
) -> Target:
    """Verify that the credentials belong to the configured account and region.

    ``expected_account`` is optional because some configurations (sandboxes)
    are meant to be deployed to whatever account the operator is logged into;
    when it is set, it must match exactly.  ``session_region`` is the region
    of the operator's AWS session (profile / ``AWS_REGION``): when it is set
    and differs from the configuration, console links, the CLI and the
    cleanup would look in a different region than Terraform, so we refuse.
    Returns the verified target for the caller to print.
    """
    if expected_account is not None and not ACCOUNT_ID_RE.match(expected_account):
        raise ValueError(
            f"configuration {environment} has account {expected_account!r}; "
            "an AWS account id is exactly 12 digits (quote it to keep leading zeros)"
        )
    identity = _caller_identity(sts_client, action)
    account = identity["Account"]
    if expected_account is not None and account != expected_account:
        raise TargetMismatch(
            f"credentials are for account {account} but the configuration {environment} "
            f"expects {expected_account}; refusing to {action}"
        )
    if session_region is not None and session_region != expected_region:
        raise TargetMismatch(
            f"the AWS session is for region {session_region} but the configuration "
            f"{environment} expects {expected_region}; refusing to {action} "
            f"(`export AWS_REGION={expected_region} AWS_DEFAULT_REGION={expected_region}`, or pick a matching profile)"
        )
    return Target(account=account, region=expected_region, caller_arn=identity["Arn"])


def region_conflicts(expected_region: str, env: Mapping[str, str], profile_region: str | None) -> list[str]:
    """Every region setting of this shell that points elsewhere than ``expected_region``.

    Both variables count, each for the tools that read it: the AWS CLI v2 and current SDKs
    read ``AWS_REGION``, botocore 1.35 (boto3, the SageMaker SDK) only ``AWS_DEFAULT_REGION``.
    The profile's region counts when neither variable is set (either overrides it).
    """
    conflicts = [
        f"{name}={env[name]}"
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION")
        if env.get(name) and env[name] != expected_region
    ]
    overridden = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not overridden and profile_region and profile_region != expected_region:
        profile = env.get("AWS_PROFILE") or "default"
        conflicts.append(f"the region of AWS profile {profile!r} ({profile_region})")
    return conflicts


def check_region(
    expected_region: str,
    source: str,
    env: Mapping[str, str],
    profile_region: str | None,
    *,
    environment: str = "this environment",
    action: str = "deploy",
) -> None:
    """Refuse when the shell's AWS settings name another region than the configuration."""
    conflicts = region_conflicts(expected_region, env, profile_region)
    if conflicts:
        raise TargetMismatch(
            f"the configuration {environment} works in {expected_region} (from {source}), but "
            f"{' and '.join(conflicts)}: the AWS CLI, boto3 and the Studio cleanup would work in another "
            f"region than Terraform; refusing to {action}. Run "
            f"`export AWS_REGION={expected_region} AWS_DEFAULT_REGION={expected_region}` and retry"
        )


def _caller_identity(sts_client: Any, action: str) -> dict[str, str]:
    """Call STS, turning credential failures into a message about credentials."""
    try:
        return sts_client.get_caller_identity()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown error")
        raise NoUsableCredentials(
            f"cannot verify the target account: STS GetCallerIdentity failed ({code}); "
            f"refresh your credentials (e.g. aws sso login) before you {action}"
        ) from error
    except BotoCoreError as error:
        raise NoUsableCredentials(
            f"cannot verify the target account: {error}; configure credentials before you {action}"
        ) from error


def confirm(
    prompt_text: str,
    *,
    expected: str,
    assume_yes: bool,
    input_fn: Callable[[str], str] = input,
    stream: TextIO | None = None,
    interactive: bool | None = None,
) -> None:
    """Ask the operator to type ``expected`` (e.g. the environment name).

    Typing a word rather than answering y/n makes the operator read which
    environment is about to change.  Without a terminal nobody can answer, so
    instead of hanging or reading a stray line from a pipe we refuse and point
    at ``--yes``.  ``interactive`` defaults to whether stdin is a TTY.
    Surrounding whitespace is ignored; case is not. ``stream`` defaults to ``sys.stderr`` as it
    is at the call, not at import (a test's captured stream, closed since, would be kept).
    """
    stream = sys.stderr if stream is None else stream
    if assume_yes:
        stream.write(f"{prompt_text}\n--yes given: proceeding without confirmation\n")
        stream.flush()
        return
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    if not interactive:
        raise Aborted("stdin is not a terminal, so nobody can confirm; pass --yes to proceed without confirmation")
    stream.write(f"{prompt_text}\nType {expected!r} to continue: ")
    stream.flush()
    try:
        answer = input_fn("")
    except (EOFError, KeyboardInterrupt) as error:
        raise Aborted("no confirmation given; nothing was changed") from error
    if answer.strip() != expected:
        raise Aborted(f"expected {expected!r} but got {answer.strip()!r}; nothing was changed")
