"""Studio cleanup when SageMaker changes under it: an app gone before its delete, a space
whose deletion fails. SageMaker is stubbed with botocore's Stubber (the emulator has no
Studio apps or spaces), so every request is checked against the real API model."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber
from test_cleanup import (
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

from isolated_studio.ops.cleanup import CleanupFailed


def test_an_app_that_disappears_between_list_and_delete_is_not_an_error(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "InService")])
    stubber.add_client_error(
        "delete_app",
        service_error_code="ResourceNotFound",
        service_message="App does not exist",
        http_status_code=404,
        expected_params={"DomainId": DOMAIN, "SpaceName": "alice-space", "AppType": "JupyterLab", "AppName": "default"},
    )
    expect_apps(stubber, [])
    expect_spaces(stubber, [])
    lines: list[str] = []

    report = run(client, fake_time, lines, poll_s=10)

    assert report.deleted_apps == ()  # we deleted nothing: it was gone already
    assert "app JupyterLab/default in space alice-space is already gone" in lines


def test_a_failed_space_deletion_stops_the_cleanup_with_sagemakers_reason(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [])
    expect_spaces(stubber, [space("alice-space")])
    expect_delete_space(stubber, "alice-space")
    expect_spaces(stubber, [space("alice-space", status="Delete_Failed")])
    stubber.add_response(
        "describe_space",
        {
            "DomainId": DOMAIN,
            "SpaceName": "alice-space",
            "Status": "Delete_Failed",
            "FailureReason": "EFS access point fsap-0abc is still in use",
            "CreationTime": CREATED,
        },
        {"DomainId": DOMAIN, "SpaceName": "alice-space"},
    )

    with pytest.raises(
        CleanupFailed, match="deletion of space alice-space failed: EFS access point fsap-0abc is still in use"
    ):
        run(client, fake_time, [], poll_s=10, timeout_s=1800)
    assert fake_time.sleeps == [10]  # stopped at the failure, not at the timeout


def test_a_space_listed_as_failed_that_describe_shows_recovered_is_waited_for(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [])
    expect_spaces(stubber, [space("bob-space")])
    expect_delete_space(stubber, "bob-space")
    expect_spaces(stubber, [space("bob-space", status="Delete_Failed")])
    stubber.add_response(
        "describe_space",
        {"DomainId": DOMAIN, "SpaceName": "bob-space", "Status": "Deleting"},
        {"DomainId": DOMAIN, "SpaceName": "bob-space"},
    )
    expect_spaces(stubber, [])

    report = run(client, fake_time, [], poll_s=10)

    assert report.deleted_spaces == ("bob-space",)


# ---------------------------------------------------------------- found by `make mutation`

from isolated_studio.ops.cleanup import CleanupTimeout, cleanup_domain  # noqa: E402


def test_default_timeout_is_30_minutes_polled_every_15_seconds(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    expect_domain(stubber)
    for _ in range(1800 // 15 + 1):
        expect_apps(stubber, [space_app("alice-space", "Deleting"), space_app("bob-space", "Deleting")])

    with pytest.raises(CleanupTimeout) as error:
        cleanup_domain(client, DOMAIN, progress=lambda _l: None, sleep=fake_time.sleep, clock=fake_time.clock)

    assert set(fake_time.sleeps) == {15} and sum(fake_time.sleeps) == 1800
    assert (error.value.kind, error.value.waited_s) == ("app", 1800)
    assert (
        "still there: JupyterLab/default in space alice-space: Deleting; JupyterLab/default in space bob-space"
        in str(error.value)
    )


@pytest.mark.parametrize("timeout_s, poll_s", [(0, 15), (60, 0), (-1, 15), (60, -1)])
def test_a_timeout_or_poll_interval_that_is_not_positive_is_refused(client: Any, timeout_s, poll_s) -> None:
    with pytest.raises(ValueError) as error:
        cleanup_domain(client, DOMAIN, timeout_s=timeout_s, poll_s=poll_s)
    assert str(error.value) == "timeout_s and poll_s must be positive"


def test_a_sub_second_timeout_and_poll_interval_are_allowed(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    stubber.add_client_error("describe_domain", service_error_code="ResourceNotFound", http_status_code=400)
    report = cleanup_domain(
        client,
        DOMAIN,
        timeout_s=0.5,
        poll_s=0.5,
        progress=lambda _l: None,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    assert report.domain_id == DOMAIN and report.domain_found is False


def test_a_short_last_poll_is_still_slept(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "Deleting")])
    expect_apps(stubber, [space_app("alice-space", "Deleting")])
    expect_apps(stubber, [space_app("alice-space", "Deleting")])
    with pytest.raises(CleanupTimeout):
        run(client, fake_time, [], timeout_s=10.5, poll_s=10)
    assert fake_time.sleeps == [10, 0.5]


def _failed_app_described(stubber: Stubber, response: dict[str, Any] | None) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [space_app("alice-space", "InService")])
    stubber.add_response(
        "delete_app",
        {},
        {"DomainId": DOMAIN, "SpaceName": "alice-space", "AppType": "JupyterLab", "AppName": "default"},
    )
    expect_apps(stubber, [space_app("alice-space", "Failed")])
    if response is None:
        stubber.add_client_error("describe_app", service_error_code="ResourceNotFound", http_status_code=400)
    else:
        stubber.add_response("describe_app", response)


def test_an_app_listed_as_failed_but_already_gone_is_not_a_failure(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    _failed_app_described(stubber, None)
    expect_apps(stubber, [])
    expect_spaces(stubber, [])
    report = run(client, fake_time, [], poll_s=10)
    assert len(report.deleted_apps) == 1


def test_a_failed_app_without_a_reason_says_so(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    _failed_app_described(
        stubber,
        {
            "DomainId": DOMAIN,
            "SpaceName": "alice-space",
            "AppType": "JupyterLab",
            "AppName": "default",
            "Status": "Failed",
        },
    )
    with pytest.raises(CleanupFailed, match="failed: no reason given by SageMaker$"):
        run(client, fake_time, [], poll_s=10)


def _failed_space_described(stubber: Stubber, response: dict[str, Any] | None) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [])
    expect_spaces(stubber, [space("alice-space")])
    expect_delete_space(stubber, "alice-space")
    expect_spaces(stubber, [space("alice-space", status="Delete_Failed")])
    if response is None:
        stubber.add_client_error("describe_space", service_error_code="ResourceNotFound", http_status_code=400)
    else:
        stubber.add_response("describe_space", response)


def test_a_space_listed_as_failed_but_already_gone_is_not_a_failure(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    _failed_space_described(stubber, None)
    expect_spaces(stubber, [])
    assert run(client, fake_time, [], poll_s=10).deleted_spaces == ("alice-space",)


def test_a_failed_space_without_a_reason_says_so(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    _failed_space_described(stubber, {"DomainId": DOMAIN, "SpaceName": "alice-space", "Status": "Delete_Failed"})
    with pytest.raises(CleanupFailed, match="failed: no reason given by SageMaker$"):
        run(client, fake_time, [], poll_s=10)


def test_a_space_someone_else_is_deleting_is_waited_for_not_deleted_again(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    expect_domain(stubber)
    expect_apps(stubber, [])
    expect_spaces(stubber, [space("alice-space", status="Deleting")])  # no DeleteSpace expected
    expect_spaces(stubber, [])
    assert run(client, fake_time, [], poll_s=10).deleted_spaces == ()


def test_an_app_listed_without_its_domain_is_deleted_in_ours(
    client: Any, stubber: Stubber, fake_time: FakeTime
) -> None:
    expect_domain(stubber)
    app = space_app("alice-space", "InService")
    del app["DomainId"]
    expect_apps(stubber, [app])
    stubber.add_response(
        "delete_app",
        {},
        {"DomainId": DOMAIN, "SpaceName": "alice-space", "AppType": "JupyterLab", "AppName": "default"},
    )
    expect_apps(stubber, [])
    expect_spaces(stubber, [])
    assert run(client, fake_time, [], poll_s=10).deleted_apps[0].domain_id == DOMAIN


def test_pages_without_items_are_empty(client: Any, stubber: Stubber, fake_time: FakeTime) -> None:
    expect_domain(stubber)
    stubber.add_response("list_apps", {}, {"DomainIdEquals": DOMAIN})
    stubber.add_response("list_spaces", {}, {"DomainIdEquals": DOMAIN})
    report = run(client, fake_time, [])
    assert report.domain_found and report.deleted_apps == () and report.deleted_spaces == ()
    assert report.domain_id == DOMAIN
