"""What Terraform will do to a resource instance: its plan's action lists mapped to one action.

Shared by the review (plan_review) and the permission review (permissions), below both.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum


class Action(str, Enum):
    """What Terraform will do to one resource instance (no-op/read excluded)."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"


# Terraform's action lists; replace comes in both orders depending on
# create_before_destroy. "no-op" and "read" change nothing and are ignored.
_ACTIONS: dict[tuple[str, ...], Action | None] = {
    ("no-op",): None,
    ("read",): None,
    ("create",): Action.CREATE,
    ("update",): Action.UPDATE,
    ("delete", "create"): Action.REPLACE,
    ("create", "delete"): Action.REPLACE,
    ("delete",): Action.DELETE,
    ("forget",): Action.FORGET,
}


def classify(actions: Sequence[str]) -> Action | None:
    """Map Terraform's action list to one action; ``None`` means no change."""
    try:
        return _ACTIONS[tuple(actions)]
    except KeyError:
        raise ValueError(f"unknown Terraform plan actions {list(actions)!r}") from None
