"""principalmapper, the one evaluator of the scenarios: importable on Python 3.11, ForAnyValue read as IAM reads it.

Importing this module corrects principalmapper's condition match once, for every caller
(checks.perimeter's decisions too): the correction is part of the evaluator, not a second one.
"""

from __future__ import annotations

import collections
import collections.abc
from collections.abc import Mapping
from typing import Any

# principalmapper 1.1.5 imports collections.Mapping, removed in Python 3.10.
for _name in ("Mapping", "MutableMapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.common import Node, Policy  # noqa: E402
from principalmapper.querying import local_policy_simulation as pm_sim  # noqa: E402
from principalmapper.querying.query_interface import local_check_authorization_full  # noqa: E402
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

_pm_condition_match = pm_sim._get_condition_match


def _condition_match(condition: Mapping[str, Mapping[str, Any]], context: CaseInsensitiveDict) -> bool:
    """principalmapper's condition match, with ForAnyValue read as IAM reads it.

    principalmapper 1.1.5 compares a ForAnyValue operator against the whole multi-valued key at
    once: ``ForAnyValue:StringNotEquals`` of [ours, theirs] against [ours] is false there, true for
    AWS ("at least one value of the request satisfies the operator", IAM User Guide, "Multivalued
    context keys"). Each ForAnyValue block is decided here value by value; the rest is its own.
    """
    plain: dict[str, Any] = {}
    for operator, block in condition.items():
        if not operator.startswith("ForAnyValue:"):
            plain[operator] = block
            continue
        base = operator.split(":", 1)[1]
        for key, expected in block.items():
            values = context.get(key) if key in context else None
            values = [] if values is None else ([values] if isinstance(values, str) else list(values))
            if not any(_pm_condition_match({base: {key: expected}}, CaseInsensitiveDict({key: v})) for v in values):
                return False
    return _pm_condition_match(plain, context) if plain else True


pm_sim._get_condition_match = _condition_match

__all__ = ["CaseInsensitiveDict", "Node", "Policy", "local_check_authorization_full", "pm_sim"]
