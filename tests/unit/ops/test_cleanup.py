"""Pre-destroy cleanup of Studio apps and spaces, against stubbed SageMaker APIs.

The responses use the field names of the real ListApps / ListSpaces /
DescribeApp / DescribeDomain responses; Stubber validates both our requests and
these responses against the botocore service model.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from isolated_studio.ops.cleanup import (
    AppRef,
    CleanupFailed,
    CleanupTimeout,
    cleanup_domain,
)

DOMAIN = "d-abcdef123456"
CREATED = datetime(2024, 10, 1, 9, 30, tzinfo=UTC)


class FakeTime:
    """A clock that only advances when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "sagemaker",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def space_app(space: str, status: str, app_type: str = "JupyterLab", name: str = "default") -> dict[str, Any]:
    return {
        "DomainId": DOMAIN,
        "SpaceName": space,
        "AppType": app_type,
        "AppName": name,
        "Status": status,
        "CreationTime": CREATED,
        "ResourceSpec": {"InstanceType": "ml.t3.medium"},
    }


def profile_app(profile: str, status: str, app_type: str = "JupyterServer", name: str = "default") -> dict[str, Any]:
    return {
        "DomainId": DOMAIN,
        "UserProfileName": profile,
        "AppType": app_type,
        "AppName": name,
        "Status": status,
        "CreationTime": CREATED,
    }


def space(name: str, status: str = "InService") -> dict[str, Any]:
    return {
        "DomainId": DOMAIN,
        "SpaceName": name,
        "Status": status,
        "CreationTime": CREATED,
        "LastModifiedTime": CREATED,
        "SpaceSettingsSummary": {"AppType": "JupyterLab"},
        "OwnershipSettingsSummary": {"OwnerUserProfileName": name.removesuffix("-space")},
        "SpaceSharingSettingsSummary": {"SharingType": "Private"},
    }


def expect_domain(stubber: Stubber) -> None:
    stubber.add_response(
        "describe_domain",
        {"DomainId": DOMAIN, "DomainName": "isolated-studio-dev", "Status": "InService"},
        {"DomainId": DOMAIN},
    )


def expect_apps(
    stubber: Stubber, apps: list[dict[str, Any]], token_in: str | None = None, token_out: str | None = None
) -> None:
    params: dict[str, Any] = {"DomainIdEquals": DOMAIN}
    if token_in:
        params["NextToken"] = token_in
    response: dict[str, Any] = {"Apps": apps}
    if token_out:
        response["NextToken"] = token_out
    stubber.add_response("list_apps", response, params)


def expect_spaces(
    stubber: Stubber, spaces: list[dict[str, Any]], token_in: str | None = None, token_out: str | None = None
) -> None:
    params: dict[str, Any] = {"DomainIdEquals": DOMAIN}
    if token_in:
        params["NextToken"] = token_in
    response: dict[str, Any] = {"Spaces": spaces}
    if token_out:
        response["NextToken"] = token_out
    stubber.add_response("list_spaces", response, params)


def expect_delete_space_app(
    stubber: Stubber, space_name: str, app_type: str = "JupyterLab", name: str = "default"
) -> None:
    stubber.add_response(
        "delete_app",
        {},
        {"DomainId": DOMAIN, "SpaceName": space_name, "AppType": app_type, "AppName": name},
    )


def expect_delete_space(stubber: Stubber, name: str) -> None:
    stubber.add_response("delete_space", {}, {"DomainId": DOMAIN, "SpaceName": name})


def run(client: Any, fake_time: FakeTime, lines: list[str], **kwargs: Any) -> Any:
    return cleanup_domain(
        client,
        DOMAIN,
        progress=lines.append,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        **kwargs,
    )


def test_deletes_every_app_on_both_pages_then_every_space(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    # Page 1: a space app and a legacy app owned by a user profile.
    expect_apps(
        stubber,
        [space_app("alice-space", "InService"), profile_app("bob", "InService", "KernelGateway", "datascience-1-0")],
        token_out="page-2",
    )
    # Page 2: one more live app and one that is long gone (must not be touched).
    expect_apps(
        stubber,
        [space_app("shared", "InService", "CodeEditor"), space_app("old-space", "Deleted")],
        token_in="page-2",
    )
    expect_delete_space_app(stubber, "alice-space")
    stubber.add_response(
        "delete_app",
        {},
        {"DomainId": DOMAIN, "UserProfileName": "bob", "AppType": "KernelGateway", "AppName": "datascience-1-0"},
    )
    expect_delete_space_app(stubber, "shared", "CodeEditor")
    expect_apps(stubber, [space_app("alice-space", "Deleted"), space_app("shared", "Deleting", "CodeEditor")])
    expect_apps(stubber, [space_app("alice-space", "Deleted"), space_app("shared", "Deleted", "CodeEditor")])
    expect_spaces(stubber, [space("alice-space")], token_out="spaces-2")
    expect_spaces(stubber, [space("shared")], token_in="spaces-2")
    expect_delete_space(stubber, "alice-space")
    expect_delete_space(stubber, "shared")
    expect_spaces(stubber, [])
    lines: list[str] = []

    report = run(client, fake_time, lines, poll_s=20)

    assert report.domain_found
    assert [app.label for app in report.deleted_apps] == [
        "JupyterLab/default in space alice-space",
        "KernelGateway/datascience-1-0 in user profile bob",
        "CodeEditor/default in space shared",
    ]
    assert report.deleted_spaces == ("alice-space", "shared")
    # Two polls for the apps, one for the spaces.
    assert fake_time.sleeps == [20, 20, 20]
    assert report.elapsed_s == 60
    assert lines[-1] == f"domain {DOMAIN} is empty: deleted 3 apps and 2 spaces in 1m00s"


def test_progress_line_names_each_app_its_status_and_the_elapsed_time(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "InService"), space_app("bob-space", "InService")])
    expect_delete_space_app(stubber, "alice-space")
    expect_delete_space_app(stubber, "bob-space")
    expect_apps(stubber, [space_app("alice-space", "Deleting"), space_app("bob-space", "Deleting")])
    expect_apps(stubber, [])
    expect_spaces(stubber, [])
    lines: list[str] = []

    run(client, fake_time, lines, poll_s=20)

    assert "deleting app JupyterLab/default in space alice-space (was InService)" in lines
    assert (
        "waiting for 2 apps to delete (JupyterLab/default in space alice-space: Deleting; "
        "JupyterLab/default in space bob-space: Deleting) ... 20s"
    ) in lines


def test_app_already_deleting_is_waited_for_but_not_deleted_again(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "Deleting")])
    expect_apps(stubber, [space_app("alice-space", "Deleting")])
    expect_apps(stubber, [space_app("alice-space", "Deleted")])
    expect_spaces(stubber, [])
    lines: list[str] = []

    report = run(client, fake_time, lines, poll_s=15)

    # No delete_app stub was queued: a second DeleteApp call would fail the test.
    assert report.deleted_apps == ()
    assert fake_time.sleeps == [15, 15]
    assert any("JupyterLab/default in space alice-space: Deleting" in line for line in lines)


def test_app_whose_creation_failed_is_deleted_too(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    """A Failed app still exists and still blocks the deletion of its space."""
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "Failed")])
    expect_delete_space_app(stubber, "alice-space")
    expect_apps(stubber, [space_app("alice-space", "Deleted")])
    expect_spaces(stubber, [])

    report = run(client, fake_time, [])

    assert report.deleted_apps == (AppRef(DOMAIN, "JupyterLab", "default", space_name="alice-space"),)


def test_failed_deletion_stops_with_sagemakers_reason(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "InService")])
    expect_delete_space_app(stubber, "alice-space")
    expect_apps(stubber, [space_app("alice-space", "Failed")])
    stubber.add_response(
        "describe_app",
        {
            "AppArn": f"arn:aws:sagemaker:us-east-1:111111111111:app/{DOMAIN}/alice-space/jupyterlab/default",
            "AppType": "JupyterLab",
            "AppName": "default",
            "DomainId": DOMAIN,
            "SpaceName": "alice-space",
            "Status": "Failed",
            "FailureReason": "InternalFailure: unable to release ENI eni-0abc",
            "CreationTime": CREATED,
        },
        {"DomainId": DOMAIN, "SpaceName": "alice-space", "AppType": "JupyterLab", "AppName": "default"},
    )

    with pytest.raises(CleanupFailed) as excinfo:
        run(client, fake_time, [], timeout_s=1800)

    message = str(excinfo.value)
    assert "JupyterLab/default in space alice-space" in message
    assert "unable to release ENI eni-0abc" in message
    assert fake_time.now - 1000.0 < 1800, "a failed deletion must not wait for the timeout"


def test_spaces_are_not_touched_while_an_app_is_still_deleting(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "InService")])
    expect_delete_space_app(stubber, "alice-space")
    for _ in range(3):
        expect_apps(stubber, [space_app("alice-space", "Deleting")])
    expect_apps(stubber, [space_app("alice-space", "Deleted")])
    # Only now may the spaces be listed and deleted: Stubber fails on any
    # list_spaces/delete_space issued before the queue reaches this point.
    expect_spaces(stubber, [space("alice-space")])
    expect_delete_space(stubber, "alice-space")
    expect_spaces(stubber, [])
    lines: list[str] = []

    report = run(client, fake_time, lines, poll_s=10)

    assert report.deleted_spaces == ("alice-space",)
    app_waits = [i for i, line in enumerate(lines) if line.startswith("waiting for 1 app to delete")]
    assert len(app_waits) == 4
    assert lines.index("deleting space alice-space (was InService)") > max(app_waits)
    assert fake_time.sleeps == [10] * 5


def test_space_still_in_use_is_retried_on_the_next_poll(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [])
    expect_spaces(stubber, [space("alice-space")])
    stubber.add_client_error(
        "delete_space",
        service_error_code="ResourceInUse",
        service_message="Space alice-space has apps that are not deleted",
        http_status_code=400,
        expected_params={"DomainId": DOMAIN, "SpaceName": "alice-space"},
    )
    expect_spaces(stubber, [space("alice-space")])
    expect_delete_space(stubber, "alice-space")
    expect_spaces(stubber, [space("alice-space", "Deleting")])
    expect_spaces(stubber, [])
    lines: list[str] = []

    report = run(client, fake_time, lines, poll_s=5)

    assert report.deleted_spaces == ("alice-space",)
    assert "space alice-space is busy (InService); will retry" in lines


def test_timeout_names_what_is_left_and_how_long_it_waited(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "InService"), space_app("bob-space", "Deleted")])
    expect_delete_space_app(stubber, "alice-space")
    # Polls at 15, 30, 45 and 60 seconds: still deleting at the deadline.
    for _ in range(4):
        expect_apps(stubber, [space_app("alice-space", "Deleting")])

    with pytest.raises(CleanupTimeout) as excinfo:
        run(client, fake_time, [], timeout_s=60, poll_s=15)

    error = excinfo.value
    assert str(error) == (
        "timed out after 1m00s waiting for 1 app to delete; "
        "still there: JupyterLab/default in space alice-space: Deleting"
    )
    assert error.remaining == ("JupyterLab/default in space alice-space: Deleting",)
    assert sum(fake_time.sleeps) == 60, "must not sleep past the deadline"


def test_last_sleep_is_cut_short_at_the_deadline(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "Deleting")])
    expect_apps(stubber, [space_app("alice-space", "Deleting")])
    expect_apps(stubber, [space_app("alice-space", "Deleting")])

    with pytest.raises(CleanupTimeout, match="after 50s"):
        run(client, fake_time, [], timeout_s=50, poll_s=30)

    assert fake_time.sleeps == [30, 20]


def test_domain_that_no_longer_exists_is_nothing_to_do(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    stubber.add_client_error(
        "describe_domain",
        service_error_code="ResourceNotFound",
        service_message=f"Cannot find Domain with id {DOMAIN}",
        http_status_code=400,
        expected_params={"DomainId": DOMAIN},
    )
    lines: list[str] = []

    report = run(client, fake_time, lines)

    assert not report.domain_found
    assert report.deleted_apps == () and report.deleted_spaces == ()
    assert lines == [f"domain {DOMAIN} does not exist; nothing to clean up"]
    assert fake_time.sleeps == []


def test_other_api_errors_are_not_swallowed(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    """AccessDenied must surface: silently skipping would make destroy fail later."""
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "InService")])
    stubber.add_client_error(
        "delete_app",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: sagemaker:DeleteApp",
        http_status_code=400,
    )

    with pytest.raises(ClientError, match="sagemaker:DeleteApp") as error:
        run(client, fake_time, [])
    assert error.value.response["Error"]["Code"] == "AccessDeniedException"


# --------------------------------------------------------------------------- what the destroy prompt lists


def _profile(name: str, status: str) -> dict[str, Any]:
    return {
        "DomainId": DOMAIN,
        "UserProfileName": name,
        "Status": status,
        "CreationTime": CREATED,
        "LastModifiedTime": CREATED,
    }


def test_inventory_lists_what_is_live_across_pages_and_leaves_out_what_is_already_going(
    client: Any, stubber: Stubber
) -> None:
    from isolated_studio.ops.cleanup import DomainInventory, inventory

    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "InService"), space_app("gone-space", "Deleted")], token_out="a2")
    expect_apps(
        stubber,
        [
            profile_app("bob", "Pending"),
            profile_app("carol", "Deleting"),
            profile_app("dave", "Failed", app_type="KernelGateway", name="datascience-1"),
        ],
        token_in="a2",
    )
    shared = {**space("team"), "SpaceSharingSettingsSummary": {"SharingType": "Shared"}}
    del shared["OwnershipSettingsSummary"]
    expect_spaces(stubber, [space("alice-space"), space("old-space", "Deleting")], token_out="s2")
    expect_spaces(stubber, [shared, space("bob-space", "Failed")], token_in="s2")
    stubber.add_response(
        "list_user_profiles",
        {"UserProfiles": [_profile("alice", "InService"), _profile("x", "Deleting")], "NextToken": "p2"},
        {"DomainIdEquals": DOMAIN},
    )
    stubber.add_response(
        "list_user_profiles",
        {"UserProfiles": [_profile("bob", "Failed")]},
        {"DomainIdEquals": DOMAIN, "NextToken": "p2"},
    )

    assert inventory(client, DOMAIN) == DomainInventory(
        domain_id=DOMAIN,
        apps=(
            AppRef(DOMAIN, "JupyterLab", "default", space_name="alice-space"),
            AppRef(DOMAIN, "JupyterServer", "default", user_profile_name="bob"),
            AppRef(DOMAIN, "KernelGateway", "datascience-1", user_profile_name="dave"),
        ),
        spaces=(("alice-space", "alice"), ("team", None), ("bob-space", "bob")),
        user_profiles=("alice", "bob"),
    )


def test_inventory_of_a_domain_that_is_gone_is_none_and_other_errors_are_raised(client: Any, stubber: Stubber) -> None:
    from isolated_studio.ops.cleanup import inventory

    stubber.add_client_error(
        "describe_domain",
        service_error_code="ResourceNotFound",
        http_status_code=400,
        expected_params={"DomainId": DOMAIN},
    )
    assert inventory(client, DOMAIN) is None
    stubber.add_client_error(
        "describe_domain",
        service_error_code="AccessDeniedException",
        http_status_code=400,
        expected_params={"DomainId": DOMAIN},
    )
    with pytest.raises(ClientError, match="AccessDeniedException"):
        inventory(client, DOMAIN)
