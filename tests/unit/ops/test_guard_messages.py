"""The guard's refusals as a user reads them: a malformed account, STS unreachable or failing,
no terminal or no input for the confirmation, and which region settings conflict."""

from __future__ import annotations

import io
import re
import socket
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from isolated_studio.ops.guard import Aborted, NoUsableCredentials, check_target, confirm


def test_a_malformed_account_names_the_environment_and_the_rule() -> None:
    with pytest.raises(ValueError) as default_env:
        check_target(None, expected_account="12345678901", expected_region="eu-west-1", session_region=None)
    assert str(default_env.value) == (
        "configuration this environment has account '12345678901'; an AWS account id "
        "is exactly 12 digits (quote it to keep leading zeros)"
    )


def test_an_sts_that_cannot_be_reached_is_a_credentials_error_naming_the_action() -> None:
    """Any botocore failure before an answer (no route to STS, no credentials...)."""
    from botocore.config import Config

    with socket.socket() as sock:  # bound, never listening: connection refused, and no one else gets the port
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        sts = boto3.client(
            "sts",
            region_name="eu-west-1",
            endpoint_url=url,
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1}),
        )
        with pytest.raises(NoUsableCredentials) as error:
            check_target(sts, expected_account=None, expected_region="eu-west-1", session_region=None, action="destroy")
    assert str(error.value) == (
        f'cannot verify the target account: Could not connect to the endpoint URL: "{url}/"; '
        "configure credentials before you destroy"
    )


class _FailingSts:
    """STS answering with an error body that has no code (a proxy's HTML page, say)."""

    def __init__(self, response: dict) -> None:
        self.response = response

    def get_caller_identity(self) -> Any:
        raise ClientError(self.response, "GetCallerIdentity")


@pytest.mark.parametrize("response", [{}, {"Error": {}}], ids=["no-error", "no-code"])
def test_an_sts_error_without_a_code_is_still_a_credentials_error(response) -> None:
    with pytest.raises(NoUsableCredentials) as error:
        check_target(
            _FailingSts(response),
            expected_account=None,
            expected_region="eu-west-1",
            session_region=None,
            action="destroy",
        )
    assert str(error.value) == (
        "cannot verify the target account: STS GetCallerIdentity failed (unknown error); "
        "refresh your credentials (e.g. aws sso login) before you destroy"
    )


def test_without_a_terminal_the_refusal_says_why_and_what_to_do() -> None:
    with pytest.raises(Aborted) as error:
        confirm(
            "Destroy dev?",
            expected="dev",
            assume_yes=False,
            input_fn=lambda _p: "dev",
            interactive=False,
            stream=io.StringIO(),
        )
    assert str(error.value) == (
        "stdin is not a terminal, so nobody can confirm; pass --yes to proceed without confirmation"
    )


def test_end_of_input_says_nothing_was_changed() -> None:
    def closed(_prompt: str) -> str:
        raise EOFError

    with pytest.raises(Aborted) as error:
        confirm(
            "Destroy dev?", expected="dev", assume_yes=False, input_fn=closed, stream=io.StringIO(), interactive=True
        )
    assert str(error.value) == "no confirmation given; nothing was changed"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_on_stdin_is_asked_and_the_prompt_goes_to_the_stream_not_to_input(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", _Tty())
    prompts: list[Any] = []
    stream = io.StringIO()

    confirm(
        "Destroy dev?", expected="dev", assume_yes=False, input_fn=lambda p: prompts.append(p) or "dev", stream=stream
    )

    assert prompts == [""]  # the question is on the stream (stderr), input() shows nothing more
    assert stream.getvalue() == "Destroy dev?\nType 'dev' to continue: "


def test_no_stdin_at_all_is_not_a_terminal(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(Aborted, match=re.escape("pass --yes")):
        confirm("Destroy dev?", expected="dev", assume_yes=False, input_fn=lambda _p: "dev", stream=io.StringIO())


@pytest.mark.parametrize(
    "env", [{"AWS_REGION": "eu-west-1"}, {"AWS_DEFAULT_REGION": "eu-west-1"}], ids=["AWS_REGION", "AWS_DEFAULT_REGION"]
)
def test_either_region_variable_overrides_the_profiles_region(env) -> None:
    """The CLI and boto3 read the variable first: a profile pointing elsewhere is then no conflict."""
    from isolated_studio.ops.guard import region_conflicts

    assert region_conflicts("eu-west-1", env, "us-east-1") == []


def test_a_region_refusal_names_every_conflicting_setting_and_by_default_this_environment_and_deploy() -> None:
    from isolated_studio.ops.guard import TargetMismatch, check_region

    with pytest.raises(TargetMismatch) as refused:
        check_region(
            "eu-west-1", "project.region", {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-2"}, None
        )
    assert str(refused.value) == (
        "the configuration this environment works in eu-west-1 (from project.region), but AWS_REGION=us-east-1 and "
        "AWS_DEFAULT_REGION=us-east-2: the AWS CLI, boto3 and the Studio cleanup would work in another region than "
        "Terraform; refusing to deploy. Run `export AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1` and retry"
    )


def test_without_a_stream_the_confirmation_goes_to_stderr(capsys) -> None:
    confirm("About to deploy dev.", expected="dev", assume_yes=True)
    assert capsys.readouterr().err == "About to deploy dev.\n--yes given: proceeding without confirmation\n"
