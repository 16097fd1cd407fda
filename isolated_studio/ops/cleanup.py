"""Pre-destroy cleanup of what Studio users create and Terraform does not know.

``terraform destroy`` of a SageMaker domain fails (or hangs until its own
timeout) while the domain still has apps (JupyterLab, Code Editor, kernel
gateways...) or spaces, because users create those from the Studio UI and they
are not in the Terraform state.  Spaces can only be deleted once their apps are
gone, so the order is fixed: delete every app, wait until all are gone, then
delete every space and wait until those are gone too.

Everything that touches time (``sleep``, ``clock``) and output (``progress``)
is injected so that callers decide how to report and tests never really wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

Progress = Callable[[str], None]

# ListApps keeps returning deleted apps for a while with this status.
_APP_GONE = "Deleted"
_APP_DELETING = "Deleting"
# An app goes to "Failed" when its creation or its deletion failed.
_APP_FAILED = "Failed"
# ListSpaces drops deleted spaces; there is no "Deleted" status for spaces.
_SPACE_DELETING = "Deleting"
_SPACE_FAILED = ("Delete_Failed", "Failed", "Update_Failed")


class CleanupError(Exception):
    """The domain could not be emptied; ``terraform destroy`` would fail."""


class CleanupTimeout(CleanupError):
    """Apps or spaces were still present when the overall timeout expired."""

    def __init__(self, kind: str, remaining: tuple[str, ...], waited_s: float) -> None:
        self.kind = kind
        self.remaining = remaining
        self.waited_s = waited_s
        super().__init__(
            f"timed out after {_format_duration(waited_s)} waiting for "
            f"{_count(len(remaining), kind)} to delete; still there: " + "; ".join(remaining)
        )


class CleanupFailed(CleanupError):
    """SageMaker reported that the deletion of an app or space failed."""


@dataclass(frozen=True)
class AppRef:
    """One Studio app; owned either by a user profile or by a space."""

    domain_id: str
    app_type: str
    app_name: str
    user_profile_name: str | None = None
    space_name: str | None = None

    @property
    def label(self) -> str:
        """Human-readable name, as a Studio user would recognise it."""
        if self.space_name:
            owner = f"space {self.space_name}"
        else:
            owner = f"user profile {self.user_profile_name}"
        return f"{self.app_type}/{self.app_name} in {owner}"

    def api_params(self) -> dict[str, str]:
        """Identifying parameters for DeleteApp / DescribeApp.

        These APIs need the owner (user profile *or* space) besides the app
        name, otherwise SageMaker rejects the call.
        """
        params = {
            "DomainId": self.domain_id,
            "AppType": self.app_type,
            "AppName": self.app_name,
        }
        if self.space_name:
            params["SpaceName"] = self.space_name
        elif self.user_profile_name:
            params["UserProfileName"] = self.user_profile_name
        return params


@dataclass(frozen=True)
class CleanupReport:
    """What the cleanup did, for the caller to print or assert on."""

    domain_id: str
    domain_found: bool
    deleted_apps: tuple[AppRef, ...] = ()
    deleted_spaces: tuple[str, ...] = ()
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class _Item:
    """A live app or space as seen in one listing."""

    key: Any
    label: str
    status: str


@dataclass(frozen=True)
class _Kind:
    """How to list, delete and diagnose one kind of resource.

    Apps and spaces follow the same delete-then-wait loop; only these calls
    and the meaning of their statuses differ.
    """

    singular: str
    list_live: Callable[[], list[_Item]]
    delete: Callable[[Any], None]
    failure_reason: Callable[[Any], str | None]
    deleting_status: str
    failed_statuses: tuple[str, ...]


@dataclass
class _Clock:
    """Shared deadline for the whole cleanup (apps and spaces together)."""

    clock: Callable[[], float]
    sleep: Callable[[float], None]
    timeout_s: float
    poll_s: float
    started: float

    def elapsed(self) -> float:
        return self.clock() - self.started

    def remaining(self) -> float:
        return self.timeout_s - self.elapsed()


def cleanup_domain(
    sagemaker_client: Any,
    domain_id: str,
    *,
    timeout_s: float = 1800,
    poll_s: float = 15,
    progress: Progress = print,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CleanupReport:
    """Delete every app, then every space, of a SageMaker domain.

    ``timeout_s`` bounds the whole cleanup: deleting an app can take up to
    20 minutes, so the default leaves room for a slow app plus the spaces.
    Raises :class:`CleanupTimeout` when something is still there at the
    deadline and :class:`CleanupFailed` when SageMaker reports a failed
    deletion.  A domain that no longer exists is not an error: there is
    nothing left to block ``terraform destroy``.
    """
    if timeout_s <= 0 or poll_s <= 0:
        raise ValueError("timeout_s and poll_s must be positive")
    # time.sleep looked up per call, not bound as a default: the workflow's callers (and its
    # tests) replace it there.
    timer = _Clock(clock, sleep or time.sleep, timeout_s, poll_s, started=clock())
    if not _domain_exists(sagemaker_client, domain_id):
        progress(f"domain {domain_id} does not exist; nothing to clean up")
        return CleanupReport(domain_id=domain_id, domain_found=False)

    progress(f"cleaning up apps and spaces of domain {domain_id}")
    apps = _drain(_app_kind(sagemaker_client, domain_id), timer, progress)
    spaces = _drain(_space_kind(sagemaker_client, domain_id), timer, progress)
    elapsed = timer.elapsed()
    progress(
        f"domain {domain_id} is empty: deleted {_count(len(apps), 'app')} and "
        f"{_count(len(spaces), 'space')} in {_format_duration(elapsed)}"
    )
    return CleanupReport(
        domain_id=domain_id,
        domain_found=True,
        deleted_apps=tuple(apps),
        deleted_spaces=tuple(spaces),
        elapsed_s=elapsed,
    )


def _domain_exists(client: Any, domain_id: str) -> bool:
    """Ask DescribeDomain: ListApps on an unknown domain just returns nothing."""
    try:
        client.describe_domain(DomainId=domain_id)
    except ClientError as error:
        if _error_code(error) == "ResourceNotFound":
            return False
        raise
    return True


def _drain(kind: _Kind, timer: _Clock, progress: Progress) -> list[Any]:
    """Delete all live resources of ``kind`` and wait until none is left.

    Every poll lists again and deletes anything not yet requested, so that an
    app a user starts during the cleanup is caught too.  Returns the keys we
    asked SageMaker to delete, in request order.
    """
    requested: list[Any] = []
    while True:
        live = kind.list_live()
        if not live:
            return requested
        for item in live:
            _handle_live_item(kind, item, requested, progress)
        if timer.remaining() <= 0:
            raise CleanupTimeout(kind.singular, _describe_items(live), timer.elapsed())
        progress(
            f"waiting for {_count(len(live), kind.singular)} to delete "
            f"({'; '.join(_describe_items(live))}) ... "
            f"{_format_duration(timer.elapsed())}"
        )
        timer.sleep(max(0.0, min(timer.poll_s, timer.remaining())))


def _handle_live_item(kind: _Kind, item: _Item, requested: list[Any], progress: Progress) -> None:
    """Decide, for one listed resource, whether to delete, wait or give up."""
    if item.status == kind.deleting_status:
        return
    if item.key in requested:
        if item.status in kind.failed_statuses:
            _raise_if_failed(kind, item)
        return
    if _request_delete(kind, item, progress):
        requested.append(item.key)


def _raise_if_failed(kind: _Kind, item: _Item) -> None:
    """Stop early on a failed deletion instead of waiting for the timeout.

    The listing may lag behind a fresh DeleteApp, so the failure is confirmed
    with a Describe call, which also gives the reason to show the user.
    """
    reason = kind.failure_reason(item.key)
    if reason is not None:
        raise CleanupFailed(f"deletion of {kind.singular} {item.label} failed: {reason}")


def _request_delete(kind: _Kind, item: _Item, progress: Progress) -> bool:
    """Send the delete call; ``False`` means "retry on the next poll"."""
    try:
        kind.delete(item.key)
    except ClientError as error:
        code = _error_code(error)
        if code == "ResourceNotFound":
            progress(f"{kind.singular} {item.label} is already gone")
            return False
        if code == "ResourceInUse":
            progress(f"{kind.singular} {item.label} is busy ({item.status}); will retry")
            return False
        raise
    progress(f"deleting {kind.singular} {item.label} (was {item.status})")
    return True


def _app_kind(client: Any, domain_id: str) -> _Kind:
    """Apps: DeleteApp, gone when absent from ListApps or in status Deleted."""

    def list_live() -> list[_Item]:
        return [
            _Item(key=app, label=app.label, status=status)
            for app, status in _list_apps(client, domain_id)
            if status != _APP_GONE
        ]

    def delete(app: AppRef) -> None:
        client.delete_app(**app.api_params())

    def failure_reason(app: AppRef) -> str | None:
        try:
            described = client.describe_app(**app.api_params())
        except ClientError as error:
            if _error_code(error) == "ResourceNotFound":
                return None
            raise
        if described.get("Status") != _APP_FAILED:
            return None
        return described.get("FailureReason") or "no reason given by SageMaker"

    return _Kind("app", list_live, delete, failure_reason, _APP_DELETING, (_APP_FAILED,))


def _space_kind(client: Any, domain_id: str) -> _Kind:
    """Spaces: DeleteSpace, gone when absent from ListSpaces."""

    def list_live() -> list[_Item]:
        return [_Item(key=name, label=name, status=status) for name, status in _list_spaces(client, domain_id)]

    def delete(space_name: str) -> None:
        client.delete_space(DomainId=domain_id, SpaceName=space_name)

    def failure_reason(space_name: str) -> str | None:
        try:
            described = client.describe_space(DomainId=domain_id, SpaceName=space_name)
        except ClientError as error:
            if _error_code(error) == "ResourceNotFound":
                return None
            raise
        if described.get("Status") not in _SPACE_FAILED:
            return None
        return described.get("FailureReason") or "no reason given by SageMaker"

    return _Kind("space", list_live, delete, failure_reason, _SPACE_DELETING, _SPACE_FAILED)


def _list_apps(client: Any, domain_id: str) -> Iterator[tuple[AppRef, str]]:
    """All apps of the domain, across pages, with their current status."""
    for app in _paginate(client, "list_apps", "Apps", DomainIdEquals=domain_id):
        ref = AppRef(
            domain_id=app.get("DomainId", domain_id),
            app_type=app["AppType"],
            app_name=app["AppName"],
            user_profile_name=app.get("UserProfileName"),
            space_name=app.get("SpaceName"),
        )
        yield ref, app.get("Status", "")


def _list_spaces(client: Any, domain_id: str) -> Iterator[tuple[str, str]]:
    """All spaces of the domain, across pages, with their current status."""
    for space in _paginate(client, "list_spaces", "Spaces", DomainIdEquals=domain_id):
        yield space["SpaceName"], space.get("Status", "")


def _paginate(client: Any, operation: str, key: str, **params: Any) -> Iterable[Mapping[str, Any]]:
    """Follow NextToken so that domains with many users are fully emptied."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


def _describe_items(items: Iterable[_Item]) -> tuple[str, ...]:
    return tuple(f"{item.label}: {item.status}" for item in items)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _format_duration(seconds: float) -> str:
    """``40s`` or ``12m05s``: short enough for one progress line per poll."""
    total = int(round(seconds))
    minutes, secs = divmod(total, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


# --------------------------------------------------------------------------- what a cleanup would delete


@dataclass(frozen=True)
class DomainInventory:
    """What users made in a domain, for the destroy prompt to list before anything is deleted."""

    domain_id: str
    apps: tuple[AppRef, ...] = ()
    spaces: tuple[tuple[str, str | None], ...] = ()  # (space, owner user profile or None if shared)
    user_profiles: tuple[str, ...] = ()


def inventory(client: Any, domain_id: str) -> DomainInventory | None:
    """The live apps, spaces (with owners) and user profiles of a domain; None if it is gone."""
    if not _domain_exists(client, domain_id):
        return None
    apps = tuple(ref for ref, status in _list_apps(client, domain_id) if status not in (_APP_GONE, _APP_DELETING))
    spaces = tuple(
        (space["SpaceName"], space.get("OwnershipSettingsSummary", {}).get("OwnerUserProfileName"))
        for space in _paginate(client, "list_spaces", "Spaces", DomainIdEquals=domain_id)
        if space.get("Status") != _SPACE_DELETING
    )
    profiles = tuple(
        profile["UserProfileName"]
        for profile in _paginate(client, "list_user_profiles", "UserProfiles", DomainIdEquals=domain_id)
        if profile.get("Status") != "Deleting"
    )
    return DomainInventory(domain_id, apps, spaces, profiles)
