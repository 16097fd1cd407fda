"""Safety checks before deploy/destroy: target account/region and confirmation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from isolated_studio.ops.guard import (
    Aborted,
    NoUsableCredentials,
    Target,
    TargetMismatch,
    check_target,
    confirm,
)

CALLER_ARN = "arn:aws:sts::111111111111:assumed-role/PlatformDeployer/alice"


@pytest.fixture
def sts() -> Any:
    return boto3.client(
        "sts",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stubber(sts: Any) -> Iterator[Stubber]:
    with Stubber(sts) as stub:
        yield stub
        stub.assert_no_pending_responses()


def identity(stubber: Stubber, account: str = "111111111111") -> None:
    stubber.add_response(
        "get_caller_identity",
        {"UserId": "AROAEXAMPLEID:alice", "Account": account, "Arn": CALLER_ARN.replace("111111111111", account)},
        {},
    )


def test_matching_account_and_region_returns_the_verified_target(sts: Any, stubber: Stubber) -> None:
    identity(stubber)

    target = check_target(sts, expected_account="111111111111", expected_region="eu-west-1", session_region="eu-west-1")

    assert target == Target(account="111111111111", region="eu-west-1", caller_arn=CALLER_ARN)


def test_other_account_is_refused_with_both_account_ids(sts: Any, stubber: Stubber) -> None:
    identity(stubber, account="111111111111")

    with pytest.raises(TargetMismatch) as excinfo:
        check_target(
            sts,
            expected_account="222222222222",
            expected_region="eu-west-1",
            session_region="eu-west-1",
            environment="dev",
        )

    assert str(excinfo.value) == (
        "credentials are for account 111111111111 but the configuration dev expects 222222222222; refusing to deploy"
    )


def test_destroy_message_says_destroy(sts: Any, stubber: Stubber) -> None:
    identity(stubber, account="111111111111")

    with pytest.raises(TargetMismatch, match="refusing to destroy$"):
        check_target(
            sts,
            expected_account="222222222222",
            expected_region="eu-west-1",
            session_region=None,
            environment="prod",
            action="destroy",
        )


def test_any_account_is_accepted_when_none_is_configured(sts: Any, stubber: Stubber) -> None:
    identity(stubber, account="333333333333")

    target = check_target(sts, expected_account=None, expected_region="eu-west-1", session_region=None)

    assert target.account == "333333333333"


def test_session_in_another_region_is_refused(sts: Any, stubber: Stubber) -> None:
    identity(stubber)

    with pytest.raises(TargetMismatch) as excinfo:
        check_target(
            sts,
            expected_account="111111111111",
            expected_region="eu-west-1",
            session_region="us-east-1",
            environment="dev",
        )

    message = str(excinfo.value)
    assert "region us-east-1" in message and "expects eu-west-1" in message
    assert "AWS_REGION=eu-west-1" in message


def test_expired_credentials_say_so_instead_of_a_traceback(sts: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "get_caller_identity",
        service_error_code="ExpiredToken",
        service_message="The security token included in the request is expired",
        http_status_code=403,
    )

    with pytest.raises(NoUsableCredentials, match=r"ExpiredToken.*refresh your credentials"):
        check_target(sts, expected_account="111111111111", expected_region="eu-west-1", session_region="eu-west-1")


def test_malformed_configured_account_is_a_configuration_error(sts: Any, stubber: Stubber) -> None:
    """An account id read as a number loses leading zeros; catch it before calling STS."""
    with pytest.raises(ValueError, match="12 digits"):
        check_target(sts, expected_account="12345678901", expected_region="eu-west-1", session_region=None)


def test_confirm_accepts_the_exact_word() -> None:
    stream = io.StringIO()

    confirm(
        "About to destroy dev in 111111111111/eu-west-1.",
        expected="dev",
        assume_yes=False,
        input_fn=lambda _prompt: "dev\n",
        stream=stream,
        interactive=True,
    )

    assert "About to destroy dev" in stream.getvalue()
    assert "Type 'dev' to continue" in stream.getvalue()


@pytest.mark.parametrize("answer", ["y", "yes", "DEV", "prod", ""])
def test_confirm_rejects_anything_else(answer: str) -> None:
    with pytest.raises(Aborted, match="nothing was changed"):
        confirm(
            "Destroy dev?",
            expected="dev",
            assume_yes=False,
            input_fn=lambda _p: answer,
            stream=io.StringIO(),
            interactive=True,
        )


def test_confirm_treats_end_of_input_as_no() -> None:
    def closed(_prompt: str) -> str:
        raise EOFError

    with pytest.raises(Aborted):
        confirm(
            "Destroy dev?", expected="dev", assume_yes=False, input_fn=closed, stream=io.StringIO(), interactive=True
        )


def test_confirm_without_a_terminal_asks_for_yes_and_reads_nothing() -> None:
    def must_not_read(_prompt: str) -> str:
        raise AssertionError("must not read from a non-interactive stdin")

    with pytest.raises(Aborted, match="pass --yes"):
        confirm(
            "Destroy dev?",
            expected="dev",
            assume_yes=False,
            input_fn=must_not_read,
            stream=io.StringIO(),
            interactive=False,
        )


def test_confirm_detects_a_non_tty_stdin_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("dev\n"))

    with pytest.raises(Aborted, match="pass --yes"):
        confirm("Destroy dev?", expected="dev", assume_yes=False, input_fn=lambda _p: "dev", stream=io.StringIO())


def test_assume_yes_skips_the_question_but_still_shows_what_happens() -> None:
    stream = io.StringIO()

    confirm(
        "About to deploy dev.",
        expected="dev",
        assume_yes=True,
        input_fn=lambda _p: pytest.fail("must not ask"),
        stream=stream,
        interactive=False,
    )

    assert stream.getvalue().startswith("About to deploy dev.")
    assert "--yes given" in stream.getvalue()


# --------------------------------------------------------------------------- regions of the shell


@pytest.mark.parametrize(
    "env, profile_region, conflicts",
    [
        ({"AWS_REGION": "us-east-1"}, None, ["AWS_REGION=us-east-1"]),
        ({"AWS_DEFAULT_REGION": "us-east-1"}, None, ["AWS_DEFAULT_REGION=us-east-1"]),
        ({}, "us-east-1", ["the region of AWS profile 'default' (us-east-1)"]),
        ({"AWS_PROFILE": "ops"}, "us-east-1", ["the region of AWS profile 'ops' (us-east-1)"]),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}, "us-east-1", ["AWS_DEFAULT_REGION=us-east-1"]),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}, "us-east-1", []),
        ({}, None, []),
    ],
)
def test_every_region_setting_that_points_elsewhere_is_a_conflict(env, profile_region, conflicts):
    from isolated_studio.ops.guard import region_conflicts

    assert region_conflicts("eu-west-1", env, profile_region) == conflicts


@pytest.mark.parametrize(
    "env, profile_region",
    [
        ({"AWS_REGION": "us-east-1"}, None),
        ({"AWS_DEFAULT_REGION": "us-east-1"}, None),
        ({}, "us-east-1"),
    ],
)
def test_the_advice_for_a_region_conflict_works_when_followed(env, profile_region):
    import re
    import shlex

    from isolated_studio.ops.guard import check_region

    with pytest.raises(TargetMismatch) as refused:
        check_region("eu-west-1", "project.region", env, profile_region, environment="'dev'", action="deploy")
    message = str(refused.value)
    assert "refusing to deploy" in message and "eu-west-1 (from project.region)" in message
    advice = re.search(r"`export ([^`]+)`", message).group(1)
    followed = {**env, **dict(item.split("=", 1) for item in shlex.split(advice))}
    check_region("eu-west-1", "project.region", followed, profile_region, environment="'dev'", action="deploy")


def test_the_profile_region_is_read_from_the_shells_aws_config(tmp_path):
    from isolated_studio.ops.aws import profile_region

    config = tmp_path / "config"
    config.write_text("[default]\nregion = us-east-1\n[profile ops]\nregion = eu-west-1\n")
    assert profile_region({"AWS_CONFIG_FILE": str(config)}) == "us-east-1"
    assert profile_region({"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "ops"}) == "eu-west-1"
