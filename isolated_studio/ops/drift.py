"""Drift check: plan every applied stack, read the boundary live, report what differs.

``make drift`` / ``python -m isolated_studio.ops.workflow drift`` runs ``terraform plan
-detailed-exitcode`` (which refreshes first) in every stack that has been applied, saves the
plans and writes the usual review with a "Drift" section at the top, then runs the live
isolation audit (:mod:`isolated_studio.ops.audit`) and adds its findings. Exit 0: no drift;
2: drift found (see the report); 1: the check itself failed. A stack that was never applied
is not checked and is listed with the reason.

Drift is any of:

- a plan that changes something, whether the cause is a change made by hand or
  configuration not applied yet;
- an out-of-band change to the isolation boundary that the refresh found, **whether or not
  Terraform would act on it** (:func:`boundary_changes`): a security group's rules, route
  tables and routes, endpoints and their policies, the DNS firewall, bucket policies and
  public access blocks, the roles' policies, the domain's network settings. Terraform manages
  the security groups' rules, the roles' inline policies and attachments as resources of
  their own, and leaves alone whatever it did not create: a rule, route, inline policy or
  attachment added by hand is read into the group's (table's, role's) state and then
  ignored by every plan. The report names each and says how to remove it, or that `make
  deploy` puts the configuration back where Terraform does act;
- a breach the live audit finds, which no plan can see (an internet gateway, a peering
  connection or an endpoint that Terraform never created).

Other resources' ``resource_drift`` is reported only where the plan acts on it: the refresh
also lists attributes that only look different (an ``aws_s3_bucket``'s legacy
``versioning`` block, set by its own resource).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from isolated_studio.base.paths import ordered
from isolated_studio.checks.boundary import statement_difference, summarize
from isolated_studio.ops import audit as live_audit
from isolated_studio.ops.audit import AuditedRun, AuditResult, render_audit
from isolated_studio.ops.results import PlanFailed, RunResult, Skipped, StackPlan


class DriftRun(AuditedRun, Protocol):
    """What a drift check needs of the workflow (ops.workflow.Workflow is one)."""

    def plan_concurrently(self, stacks: Sequence[str], *, destroy: bool = False) -> list[StackPlan]: ...
    def write_report(self, result: RunResult) -> Path: ...
    def state_bucket_exists(self) -> bool: ...
    def bootstrap_state_file(self) -> Path: ...


EXIT_NO_DRIFT, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2


@dataclass(frozen=True)
class OutOfBand:
    """One resource the refresh found changed (or gone) outside Terraform."""

    address: str
    action: str  # update / delete
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class BoundaryChange:
    """One out-of-band change to the isolation boundary, and what undoes it."""

    address: str
    what: str
    terraform_acts: bool  # the plan changes it back
    fix: str


@dataclass
class DriftResult:
    run: RunResult
    outside: dict[str, list[OutOfBand]] = field(default_factory=dict)
    boundary: dict[str, list[BoundaryChange]] = field(default_factory=dict)
    audit: AuditResult | None = None

    @property
    def drifted(self) -> list[str]:
        """Stacks whose plan changes something or whose boundary was changed outside Terraform."""
        return [p.stack for p in self.run.planned if p.has_changes or self.boundary.get(p.stack)]

    @property
    def exit_code(self) -> int:
        breached = self.audit is not None and bool(self.audit.findings)
        return EXIT_DRIFT if self.drifted or breached else EXIT_NO_DRIFT


def _changed(before: Any, after: Any) -> tuple[str, ...]:
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return ()
    return tuple(sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)))


# What makes a role's inline policies / attachments exclusive: the plan then removes what was added.
_EXCLUSIVE = {"inline": "aws_iam_role_policies_exclusive", "attachments": "aws_iam_role_policy_attachments_exclusive"}
# The boundary's resource types. Their drift is reported whatever the plan does with it.
_SECURITY_GROUPS = frozenset({"aws_security_group", "aws_default_security_group"})
_ROUTE_TABLES = frozenset({"aws_route_table", "aws_default_route_table"})
BOUNDARY_TYPES = frozenset(
    {
        *_SECURITY_GROUPS,
        *_ROUTE_TABLES,
        "aws_security_group_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
        "aws_route",
        "aws_route_table_association",
        "aws_main_route_table_association",
        "aws_vpc_endpoint",
        "aws_vpc_endpoint_policy",
        "aws_vpc_endpoint_route_table_association",
        "aws_vpc_endpoint_subnet_association",
        "aws_vpc_endpoint_security_group_association",
        "aws_route53_resolver_firewall_rule_group_association",
        "aws_route53_resolver_firewall_rule_group",
        "aws_route53_resolver_firewall_rule",
        "aws_route53_resolver_firewall_domain_list",
        "aws_route53_resolver_firewall_config",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_account_public_access_block",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_iam_policy",
        *_EXCLUSIVE.values(),
        "aws_sagemaker_domain",
        "aws_subnet",
        "aws_network_acl",
        "aws_network_acl_rule",
        "aws_default_network_acl",
    }
)
# Attributes of a boundary resource that hold a policy document: shown statement by statement.
_POLICY_ATTRIBUTES = frozenset({"policy", "assume_role_policy"})
# The domain's attributes that decide its network (the rest of a domain's drift is not the boundary's).
_DOMAIN_NETWORK = (
    "app_network_access_type",
    "vpc_id",
    "subnet_ids",
    "kms_key_id",
    "app_security_group_management",
    "default_user_settings",
    "default_space_settings",
    "domain_settings",
)
_SUBNET_NETWORK = (
    "map_public_ip_on_launch",
    "cidr_block",
    "vpc_id",
    "assign_ipv6_address_on_creation",
    "ipv6_cidr_block",
)


def _acted_on(plan: Mapping[str, Any]) -> set[str]:
    return {
        rc["address"]
        for rc in plan.get("resource_changes", [])
        if rc.get("change", {}).get("actions") not in (["no-op"], ["read"])
    }


def out_of_band(plan: Mapping[str, Any]) -> list[OutOfBand]:
    """What the refresh found changed outside Terraform and the plan would change back.

    ``resource_drift`` also lists attributes that only look different after a refresh (an
    ``aws_s3_bucket``'s legacy ``versioning`` block, set by its own resource); like
    Terraform's own "Objects have changed outside of Terraform", only the entries the plan
    acts on are reported here. The boundary's resources are :func:`boundary_changes`'.
    """
    acted_on = _acted_on(plan)
    found = []
    for rd in plan.get("resource_drift", []):
        if rd["address"] not in acted_on or rd.get("type") in BOUNDARY_TYPES:
            continue
        change = rd.get("change", {})
        action = "delete" if change.get("actions", []) == ["delete"] else "update"
        found.append(OutOfBand(rd["address"], action, _changed(change.get("before"), change.get("after"))))
    return found


# --------------------------------------------------------------------------- the boundary


def _state_resources(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The refreshed state (a plan's prior_state is the state after its refresh)."""
    found: list[Mapping[str, Any]] = []

    def walk(module: Mapping[str, Any] | None) -> None:
        if not module:
            return
        found.extend(r for r in module.get("resources") or [] if r.get("mode", "managed") == "managed")
        for child in module.get("child_modules") or []:
            walk(child)

    walk((plan.get("prior_state") or {}).get("values", {}).get("root_module"))
    return found


def _ports(protocol: str, low: Any, high: Any) -> tuple[Any, Any]:
    return (None, None) if str(protocol) in ("-1", "all") or low in (None, -1) else (int(low), int(high))


def _inline_rules(group: str, direction: str, blocks: Any) -> Iterator[tuple]:
    """A group's rules as (direction, protocol, from, to, kind, peer), as the provider reads them."""
    for block in blocks or []:
        protocol = str(block.get("protocol"))
        low, high = _ports(protocol, block.get("from_port"), block.get("to_port"))
        for kind, key in (
            ("cidr", "cidr_blocks"),
            ("cidr", "ipv6_cidr_blocks"),
            ("prefix", "prefix_list_ids"),
            ("group", "security_groups"),
        ):
            for peer in block.get(key) or []:
                yield direction, protocol, low, high, kind, str(peer).split("/")[-1] if kind == "group" else peer
        if block.get("self"):
            yield direction, protocol, low, high, "group", group


def _text(values: Mapping[str, Any], key: str) -> str:
    """An identifier read from Terraform's JSON ("" where it is unset: never matches a real one)."""
    value = values.get(key)
    return "" if value is None else str(value)


def _managed_rules(resources: Iterable[Mapping[str, Any]]) -> dict[str, set[tuple]]:
    """The rules Terraform manages as rule resources, by the group they belong to."""
    rules: dict[str, set[tuple]] = {}
    for r in resources:
        values = r.get("values") or {}
        if r["type"] in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
            direction = "ingress" if r["type"].endswith("ingress_rule") else "egress"
            protocol = str(values.get("ip_protocol"))
            low, high = _ports(protocol, values.get("from_port"), values.get("to_port"))
            for kind, key in (
                ("cidr", "cidr_ipv4"),
                ("cidr", "cidr_ipv6"),
                ("prefix", "prefix_list_id"),
                ("group", "referenced_security_group_id"),
            ):
                if values.get(key):
                    peer = str(values[key]).split("/")[-1] if kind == "group" else values[key]
                    rules.setdefault(_text(values, "security_group_id"), set()).add(
                        (direction, protocol, low, high, kind, peer)
                    )
        elif r["type"] == "aws_security_group_rule":
            block = {
                **values,
                "security_groups": [values["source_security_group_id"]]
                if values.get("source_security_group_id")
                else [],
            }
            rules.setdefault(_text(values, "security_group_id"), set()).update(
                _inline_rules(_text(values, "security_group_id"), str(values.get("type")), [block])
            )
    return rules


def _revoke(group: str, rule: tuple) -> str:
    direction, protocol, low, high, kind, peer = rule
    permission = f"IpProtocol={protocol}" + (f",FromPort={low},ToPort={high}" if low is not None else "")
    permission += {
        "cidr": f",Ipv6Ranges=[{{CidrIpv6={peer}}}]" if ":" in str(peer) else f",IpRanges=[{{CidrIp={peer}}}]",
        "prefix": f",PrefixListIds=[{{PrefixListId={peer}}}]",
        "group": f",UserIdGroupPairs=[{{GroupId={peer}}}]",
    }[kind]
    return f"aws ec2 revoke-security-group-{direction} --group-id {group} --ip-permissions '{permission}'"


def _describe_rule(rule: tuple) -> str:
    direction, protocol, low, high, _, peer = rule
    ports = (
        "all traffic" if low is None else f"{protocol} port {low}" if low == high else f"{protocol} ports {low}-{high}"
    )
    return f"{direction} {ports} {'from' if direction == 'ingress' else 'to'} {peer}"


_ROUTE_TARGETS = (
    "gateway_id",
    "nat_gateway_id",
    "egress_only_gateway_id",
    "transit_gateway_id",
    "vpc_peering_connection_id",
    "network_interface_id",
    "local_gateway_id",
    "carrier_gateway_id",
    "core_network_arn",
    "vpc_endpoint_id",
)


def _route_key(route: Mapping[str, Any]) -> tuple:
    destination = route.get("cidr_block") or route.get("ipv6_cidr_block") or route.get("destination_prefix_list_id")
    target = next((f"{k}={route[k]}" for k in _ROUTE_TARGETS if route.get(k)), "?")
    return destination, target


def _delete_route(table: str, destination: str) -> str:
    option = (
        "--destination-ipv6-cidr-block"
        if ":" in destination
        else "--destination-prefix-list-id"
        if destination.startswith("pl-")
        else "--destination-cidr-block"
    )
    return f"aws ec2 delete-route --route-table-id {table} {option} {destination}"


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _policy(value: Any) -> Mapping[str, Any] | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, Mapping) else None


def boundary_changes(stack: str, plan: Mapping[str, Any]) -> list[BoundaryChange]:
    """Every out-of-band change to the boundary the refresh found, acted on by the plan or not."""
    acted_on = _acted_on(plan)
    state = _state_resources(plan)
    managed_rules = _managed_rules(state)
    role_policies: dict[str, set[str]] = {}
    role_attachments: dict[str, set[str]] = {}
    exclusive: dict[tuple[str, str], str] = {}  # (kind, role name) -> the exclusive resource's address
    # Endpoints whose policy is a resource of its own (aws_vpc_endpoint_policy): its row reports the change.
    policed = {(r.get("values") or {}).get("vpc_endpoint_id") for r in state if r["type"] == "aws_vpc_endpoint_policy"}
    for r in state:
        values = r.get("values") or {}
        for kind, rtype in _EXCLUSIVE.items():
            if r["type"] == rtype:
                exclusive[kind, _text(values, "role_name")] = r["address"]
        if r["type"] == "aws_iam_role_policy":
            role_policies.setdefault(_text(values, "role"), set()).add(_text(values, "name"))
        if r["type"] == "aws_iam_role_policy_attachment":
            role_attachments.setdefault(_text(values, "role"), set()).add(_text(values, "policy_arn"))
    configured = _configured(plan)
    deploy = f"`make deploy STACKS={stack}` changes it back"
    found: list[BoundaryChange] = []
    for rd in plan.get("resource_drift", []):
        rtype, address = rd.get("type"), rd["address"]
        if rtype not in BOUNDARY_TYPES or rd.get("mode", "managed") != "managed":
            continue
        if rtype in _EXCLUSIVE.values():
            continue  # what it lists is reported on the role, with what undoes it
        change = rd.get("change", {})
        before, after = change.get("before") or {}, change.get("after") or {}
        acts = address in acted_on
        if change.get("actions") == ["delete"] or not after:
            found.append(
                BoundaryChange(
                    address, "deleted outside Terraform", acts, f"`make deploy STACKS={stack}` creates it again"
                )
            )
            continue
        handled: set[str] = set()
        if rtype == "aws_vpc_endpoint" and after.get("id") in policed:
            handled.add("policy")
        if rtype in _SECURITY_GROUPS:
            handled |= {"ingress", "egress"}
            group = _text(after, "id")
            # Whether the group's inline rules are its configuration (Terraform removes the rest).
            owns_rules = rtype == "aws_default_security_group" or any(
                configured.get(address, {}).get(d) is not None for d in ("ingress", "egress")
            )
            rules = set(_inline_rules(group, "ingress", after.get("ingress"))) | set(
                _inline_rules(group, "egress", after.get("egress"))
            )
            ours = managed_rules.get(group, set())
            if owns_rules:
                ours = (
                    ours
                    | set(_inline_rules(group, "ingress", configured.get(address, {}).get("ingress")))
                    | set(_inline_rules(group, "egress", configured.get(address, {}).get("egress")))
                )
            for rule in sorted(rules - ours, key=str):
                found.append(
                    BoundaryChange(
                        address,
                        f"rule {_describe_rule(rule)} added outside Terraform",
                        acts and owns_rules,
                        deploy
                        if owns_rules
                        else "the group's rules are resources of their own, and no plan touches one it "
                        f"did not create; remove it: `{_revoke(group, rule)}`",
                    )
                )
        elif rtype in _ROUTE_TABLES:
            handled |= {"route"}
            table = _text(after, "id")
            managed = {
                (
                    str(
                        r["values"].get("destination_cidr_block")
                        or r["values"].get("destination_ipv6_cidr_block")
                        or r["values"].get("destination_prefix_list_id")
                    )
                )
                for r in state
                if r["type"] == "aws_route" and r["values"].get("route_table_id") == table
            }
            owns_routes = configured.get(address, {}).get("route") is not None or rtype == "aws_default_route_table"
            for route in after.get("route") or []:
                destination, target = _route_key(route)
                if destination in managed or (
                    owns_routes and route in (configured.get(address, {}).get("route") or [])
                ):
                    continue
                found.append(
                    BoundaryChange(
                        address,
                        f"route to {destination} through {target} added outside Terraform",
                        acts and owns_routes,
                        deploy
                        if owns_routes
                        else "the table's routes are not in the configuration, so no plan removes one; "
                        f"remove it: `{_delete_route(table, destination)}`",
                    )
                )
            if after.get("propagating_vgws") != before.get("propagating_vgws"):
                handled.add("propagating_vgws")
                found.append(
                    BoundaryChange(
                        address,
                        f"route propagation from {', '.join(after.get('propagating_vgws') or [])}",
                        acts,
                        deploy
                        if acts
                        else f"`aws ec2 disable-vgw-route-propagation --route-table-id {table} --gateway-id <vgw-id>`",
                    )
                )
        elif rtype == "aws_iam_role":
            handled |= {"inline_policy", "managed_policy_arns"}
            role = _text(after, "name")
            inline_exclusive, attachments_exclusive = (
                exclusive.get(("inline", role)),
                exclusive.get(("attachments", role)),
            )
            for policy in after.get("inline_policy") or []:
                if policy.get("name") and policy["name"] not in role_policies.get(role, set()):
                    remove = f"`aws iam delete-role-policy --role-name {role} --policy-name {policy['name']}`"
                    found.append(
                        BoundaryChange(
                            address,
                            f"inline policy {policy['name']} added outside Terraform "
                            f"({summarize(_policy(policy.get('policy')) or {})})",
                            inline_exclusive in acted_on,
                            f"`make deploy STACKS={stack}` deletes it (the role's inline policies are exclusive: "
                            f"`{inline_exclusive}`), or now: {remove}"
                            if inline_exclusive in acted_on
                            else f"the role's inline policies are resources of their own; remove it: {remove}",
                        )
                    )
            for arn in after.get("managed_policy_arns") or []:
                if arn not in role_attachments.get(role, set()):
                    detach = f"`aws iam detach-role-policy --role-name {role} --policy-arn {arn}`"
                    found.append(
                        BoundaryChange(
                            address,
                            f"policy {arn} attached outside Terraform",
                            attachments_exclusive in acted_on,
                            f"`make deploy STACKS={stack}` detaches it (the role's attachments are exclusive: "
                            f"`{attachments_exclusive}`), or now: {detach}"
                            if attachments_exclusive in acted_on
                            else f"the role's attachments are resources of their own; detach it: {detach}",
                        )
                    )
        attributes = [a for a in _changed(before, after) if a not in handled and a not in ("tags_all",)]
        if rtype == "aws_sagemaker_domain":
            attributes = [a for a in attributes if a in _DOMAIN_NETWORK]
        if rtype == "aws_subnet":
            attributes = [a for a in attributes if a in _SUBNET_NETWORK]
        for attribute in attributes:
            old, new = before.get(attribute), after.get(attribute)
            if attribute in _POLICY_ATTRIBUTES and (_policy(old) or _policy(new)):
                what = f"{attribute}: " + statement_difference(_policy(new) or {}, _policy(old) or {}, {})
            else:
                what = f"{attribute}: {_short(old)} -> {_short(new)}"
            if acts:
                fix = deploy
            elif rtype == "aws_vpc_endpoint" and attribute == "policy":
                fix = (
                    "the endpoint has no policy in the configuration; reset it to AWS's default: "
                    f"`aws ec2 modify-vpc-endpoint --vpc-endpoint-id {after.get('id')} --reset-policy`"
                )
            else:
                fix = f"not in the configuration; set it back by hand to {_short(old)}"
            found.append(BoundaryChange(address, what, acts, fix))
    return found


def _configured(plan: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per resource address, the attributes its configuration sets (null: left to the provider)."""
    found: dict[str, dict[str, Any]] = {}
    for rc in plan.get("resource_changes", []):
        after = (rc.get("change") or {}).get("after")
        if isinstance(after, Mapping):
            expressions = _expressions(plan, rc["address"])
            found[rc["address"]] = {k: after.get(k) for k in expressions}
    return found


def _expressions(plan: Mapping[str, Any], address: str) -> set[str]:
    module = (plan.get("configuration") or {}).get("root_module") or {}
    for resource in module.get("resources") or []:
        if resource.get("address") == address.split("[")[0]:
            return set(resource.get("expressions") or {})
    return set()


# --------------------------------------------------------------------------- the command


def applied(workflow: DriftRun, stack: str) -> str | None:
    """Why ``stack`` is not checked (never applied), or None."""
    if stack == "state":
        if not workflow.bootstrap_state_file().exists():
            return f"not applied: no bootstrap state at {workflow.bootstrap_state_file()}"
    elif not workflow.state_bucket_exists():
        return f"not applied: the state bucket {workflow.config.state.bucket} does not exist"
    workflow.tf.init(stack)
    if not workflow.tf.resources(stack):
        return "not applied: its state is empty"
    return None


def check_drift(workflow: DriftRun, stacks: Sequence[str], *, audit: bool = True) -> DriftResult:
    result = DriftResult(RunResult("drift", workflow.plan_dir))
    runnable = []
    for stack in ordered(stacks):
        reason = applied(workflow, stack)
        if reason:
            result.run.skipped.append(Skipped(stack, reason))
            workflow.say(f"{stack}: {reason}")
        else:
            runnable.append(stack)
    try:
        planned: list[StackPlan] = workflow.plan_concurrently(runnable)
    except PlanFailed as failed:
        result.run.planned = failed.planned
        workflow.write_report(result.run)
        raise
    result.run.planned = planned
    for plan in planned:
        document = json.loads(plan.json_file.read_text())
        result.outside[plan.stack] = out_of_band(document)
        result.boundary[plan.stack] = boundary_changes(plan.stack, document)
        drifted = plan.stack in result.drifted
        counts = [
            f"{len(result.outside[plan.stack])} resource(s) changed outside Terraform"
            if result.outside[plan.stack]
            else "",
            f"{len(result.boundary[plan.stack])} change(s) to the isolation boundary outside Terraform"
            if result.boundary[plan.stack]
            else "",
        ]
        workflow.say(
            f"{plan.stack}: {'DRIFT: ' + plan.summary() if drifted else 'no drift'}"
            + "".join(f", {c}" for c in counts if c)
        )
    if audit:
        result.audit = live_audit.run_audit(workflow, write=False)
    report = workflow.write_report(result.run)
    text = report.read_text(encoding="utf-8")
    title, _, rest = text.partition("\n")
    sections = render_drift(result) + (render_audit(result.audit, level=2) if result.audit else [])
    report.write_text("\n".join([title, "", *sections, rest.lstrip("\n")]), encoding="utf-8")
    workflow.say(f"Drift report: {report}")
    return result


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_drift(result: DriftResult) -> list[str]:
    checked = [p.stack for p in result.run.planned]
    if not result.drifted:
        return [
            "## Drift: none",
            "",
            f"Checked {', '.join(f'`{s}`' for s in checked) or 'no stack'}: every resource matches "
            "the configuration and nothing changed outside Terraform.",
            "",
        ]
    lines = [f"## DRIFT in {', '.join(f'`{s}`' for s in result.drifted)}", ""]
    for plan in result.run.planned:
        if plan.stack not in result.drifted:
            continue
        outside = result.outside.get(plan.stack, [])
        boundary = result.boundary.get(plan.stack, [])
        lines += [f"### `{plan.stack}`", "", plan.summary() + ".", ""]
        if boundary:
            left = sum(1 for b in boundary if not b.terraform_acts)
            lines += [
                f"The isolation boundary was changed outside Terraform ({len(boundary)}"
                + (f"; {left} of them a plan leaves in place" if left else "")
                + "):",
                "",
                "| Resource | What changed | Terraform | How to undo it |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| `{b.address}` | {_cell(b.what)} | "
                f"{'changes it back' if b.terraform_acts else '**leaves it in place**'} | {_cell(b.fix)} |"
                for b in boundary
            ]
            lines.append("")
        if outside:
            lines += [
                "Changed outside Terraform (found by the refresh):",
                "",
                "| Resource | What happened | Attributes |",
                "|---|---|---|",
            ]
            lines += [
                f"| `{o.address}` | {'deleted' if o.action == 'delete' else 'changed'} | {', '.join(o.attributes)} |"
                for o in outside
            ]
            lines.append("")
        if plan.has_changes:
            lines += [
                "What Terraform would change to match the configuration is under this stack's "
                '"All changes" below; `make deploy` applies it.',
                "",
            ]
    return lines
