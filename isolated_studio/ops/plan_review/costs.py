"""The plan review's costs: what the plan changes a month (interface endpoints, MLflow sizes, instance types).

Prices come from :mod:`isolated_studio.ops.prices` (each with its source and date); what is not
in the price table is listed as not priced, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from isolated_studio.ops import prices
from isolated_studio.ops.plan_review.model import (
    _ADDRESS_STEP,
    INTERFACE_ENDPOINT_AZ_HOURLY_USD,
    INTERFACE_ENDPOINT_PRICE,
    CostLine,
    EndpointCost,
)
from isolated_studio.ops.plan_review.rules import setting_changes


def _values_by_type(values: Mapping[str, Any] | None, rtype: str) -> dict[str, Mapping[str, Any]]:
    return {
        r["address"]: r.get("values") or {}
        for r in _module_resources((values or {}).get("root_module", {}))
        if r.get("type") == rtype and r.get("mode", "managed") == "managed"
    }


def cost_lines(
    plan: Mapping[str, Any], region: str | None, endpoints: EndpointCost, current: EndpointCost | None
) -> Iterator[CostLine]:
    """The monthly cost of what changes: interface endpoints, MLflow tracking servers by size, and
    the Studio instance types (a reference price per running hour)."""
    was = current.monthly_usd if current is not None else Decimal(0)
    if endpoints.monthly_usd != was or (current is None and endpoints.interface_endpoints):
        yield CostLine(
            f"interface endpoints ({current.endpoint_azs if current else 0} -> {endpoints.endpoint_azs} endpoint-AZs)",
            was,
            endpoints.monthly_usd,
            f"USD {INTERFACE_ENDPOINT_AZ_HOURLY_USD} per endpoint-AZ-hour ({INTERFACE_ENDPOINT_PRICE.cite()})",
        )
    prior = (plan.get("prior_state") or {}).get("values")
    old_servers = _values_by_type(prior, "aws_sagemaker_mlflow_tracking_server")
    new_servers = _values_by_type(plan.get("planned_values"), "aws_sagemaker_mlflow_tracking_server")
    for address in sorted(old_servers.keys() | new_servers.keys()):
        old = old_servers.get(address, {}).get("tracking_server_size") if address in old_servers else None
        new = new_servers.get(address, {}).get("tracking_server_size") if address in new_servers else None
        if old == new:
            continue
        sizes = [s for s in (old, new) if s]
        looked_up = {s: prices.price(f"mlflow-tracking-server:{s}", region) for s in sizes}
        found = {s: p for s, p in looked_up.items() if p is not None}
        missing = [s for s in looked_up if s not in found]
        label = f"MLflow tracking server `{address}` ({old or 'none'} -> {new or 'none'})"
        if missing:
            yield CostLine(
                label,
                None,
                None,
                f"not in the price table: {', '.join(missing)} in {region or 'this region'}",
                unpriced=True,
            )
            continue
        yield CostLine(
            label,
            prices.monthly(found[old].usd_per_hour) if old else None,
            prices.monthly(found[new].usd_per_hour) if new else None,
            "; ".join(f"{s}: USD {p.usd_per_hour} per hour ({p.cite()})" for s, p in found.items()),
        )
    for change in setting_changes(plan):
        if "instance type" not in change.setting or change.old == change.new:
            continue
        types = [t for t in (change.old, change.new) if t.startswith("ml.")]
        looked_up = {t: prices.price(f"sagemaker-instance:{t}", region) for t in types}
        found = {t: p for t, p in looked_up.items() if p is not None}
        label = f"{change.setting} of `{change.address}` ({change.old} -> {change.new}), per running app"
        missing = [t for t in looked_up if t not in found]
        if missing:
            yield CostLine(
                label,
                None,
                None,
                f"not in the price table: {', '.join(missing)} in {region or 'this region'}",
                unpriced=True,
                per_hour=True,
            )
            continue
        yield CostLine(
            label,
            found[change.old].usd_per_hour if change.old in found else None,
            found[change.new].usd_per_hour if change.new in found else None,
            "; ".join(f"{t}: USD {p.usd_per_hour} per hour ({p.cite()})" for t, p in found.items()),
            per_hour=True,
        )


def endpoint_cost(values: Mapping[str, Any], configuration: Mapping[str, Any] | None = None) -> EndpointCost:
    """Price the interface endpoints of a planned (or prior) state.

    ``values`` is ``planned_values`` or ``prior_state.values``: the endpoints
    that exist after (or before) apply, including unchanged ones.  Terraform
    omits unknown values from these documents; a list whose elements are
    unknown keeps its length (elements are null), but a *set* of unknown ids
    (``subnet_ids`` when the subnets are created in the same apply, as on
    every first deploy) is unknown as a whole.  For those, the plan's
    ``configuration`` still says how many subnets the endpoint is given when
    it lists them one by one; only endpoints whose count cannot be read from
    it are left unpriced and listed, never guessed.
    """
    count = 0
    azs = 0
    unknown: list[str] = []
    configured: list[str] = []
    for resource in _module_resources(values.get("root_module", {})):
        if resource.get("type") != "aws_vpc_endpoint" or resource.get("mode", "managed") != "managed":
            continue
        attributes = resource.get("values") or {}
        if attributes.get("vpc_endpoint_type") != "Interface":
            continue
        count += 1
        subnets = attributes.get("subnet_ids")
        if isinstance(subnets, list):
            azs += len(subnets)
            continue
        listed = _configured_subnet_count(configuration, resource)
        if listed is None:
            unknown.append(resource["address"])
        else:
            azs += listed
            configured.append(resource["address"])
    return EndpointCost(
        interface_endpoints=count,
        endpoint_azs=azs,
        unknown_az_endpoints=tuple(unknown),
        configured_az_endpoints=tuple(configured),
    )


def _configured_subnet_count(configuration: Mapping[str, Any] | None, resource: Mapping[str, Any]) -> int | None:
    """How many subnets the configuration gives this endpoint, when it lists them one by one.

    A literal list (``[aws_subnet.a.id, aws_subnet.b.id]``; cdktf's JSON shows it as a
    ``constant_value`` of interpolations) has a known length.  Anything else - a variable,
    a local, a splat over a counted resource - could be any length, so None.
    """
    if not configuration:
        return None
    module = configuration.get("root_module") or {}
    path = _ADDRESS_STEP.findall(resource["address"])
    while path[0] == "module" and len(path) > 2:
        name = path[1].split("[")[0]
        module = ((module.get("module_calls") or {}).get(name) or {}).get("module") or {}
        path = path[2:]
    address = ".".join(path).split("[")[0]
    config = next((r for r in module.get("resources") or [] if r.get("address") == address), None)
    expression = ((config or {}).get("expressions") or {}).get("subnet_ids") or {}
    constant = expression.get("constant_value")
    if isinstance(constant, list):
        return len(constant)
    references = expression.get("references") or []
    subnets = {ref.rsplit(".", 1)[0] for ref in references if ref.startswith("aws_subnet.") and ref.count(".") == 2}
    # Every reference must be to one whole subnet's id: `aws_subnet.x` alone is also what a
    # splat (`aws_subnet.x[*].id`) references, and then the count is unknown.
    if not subnets or any(
        "[" in ref or (ref not in subnets and ref.rsplit(".", 1)[0] not in subnets) for ref in references
    ):
        return None
    return len(subnets)


def _module_resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _module_resources(child)
