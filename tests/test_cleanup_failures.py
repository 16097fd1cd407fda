"""Studio cleanup when SageMaker changes under it: an app gone before its delete, a space
whose deletion fails. SageMaker is stubbed with botocore's Stubber (the emulator has no
Studio apps or spaces), so every request is checked against the real API model."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from isolated_studio.ops.cleanup import CleanupFailed
from test_cleanup import (  # noqa: F401  (fixtures)
    CREATED,
    DOMAIN,
    FakeTime,
    client,
    expect_apps,
    expect_delete_space,
    expect_domain,
    expect_spaces,
    fake_time,
    run,
    space,
    space_app,
    stubber,
)


def test_an_app_that_disappears_between_list_and_delete_is_not_an_error(
        client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "InService")])
    stubber.add_client_error("delete_app", service_error_code="ResourceNotFound",
                             service_message="App does not exist", http_status_code=404,
                             expected_params={"DomainId": DOMAIN, "SpaceName": "alice-space",
                                              "AppType": "JupyterLab", "AppName": "default"})
    expect_apps(stubber, [])
    expect_spaces(stubber, [])
    lines: list[str] = []

    report = run(client, fake_time, lines, poll_s=10)

    assert report.deleted_apps == ()  # we deleted nothing: it was gone already
    assert "app JupyterLab/default in space alice-space is already gone" in lines


def test_a_failed_space_deletion_stops_the_cleanup_with_sagemakers_reason(
        client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [])
    expect_spaces(stubber, [space("alice-space")])
    expect_delete_space(stubber, "alice-space")
    expect_spaces(stubber, [space("alice-space", status="Delete_Failed")])
    stubber.add_response("describe_space", {
        "DomainId": DOMAIN, "SpaceName": "alice-space", "Status": "Delete_Failed",
        "FailureReason": "EFS access point fsap-0abc is still in use", "CreationTime": CREATED,
    }, {"DomainId": DOMAIN, "SpaceName": "alice-space"})

    with pytest.raises(CleanupFailed, match="deletion of space alice-space failed: EFS access point fsap-0abc is still in use"):
        run(client, fake_time, [], poll_s=10, timeout_s=1800)
    assert fake_time.sleeps == [10]  # stopped at the failure, not at the timeout


def test_a_space_listed_as_failed_that_describe_shows_recovered_is_waited_for(
        client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [])
    expect_spaces(stubber, [space("bob-space")])
    expect_delete_space(stubber, "bob-space")
    expect_spaces(stubber, [space("bob-space", status="Delete_Failed")])
    stubber.add_response("describe_space", {"DomainId": DOMAIN, "SpaceName": "bob-space", "Status": "Deleting"},
                         {"DomainId": DOMAIN, "SpaceName": "bob-space"})
    expect_spaces(stubber, [])

    report = run(client, fake_time, [], poll_s=10)

    assert report.deleted_spaces == ("bob-space",)
