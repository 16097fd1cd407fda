"""AWS's decision on each scenario under a Synthesis (principalmapper's), and the statements that decide it.

What principalmapper cannot decide soundly raises :class:`Unevaluable` (an operator it does
not implement, a condition key neither in the request nor declared absent, an unknown policy
variable): the scenario fails, it never passes silently.
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from isolated_studio.checks.access.arns import resource_arn
from isolated_studio.checks.access.engine import (
    CaseInsensitiveDict,
    Node,
    Policy,
    local_check_authorization_full,
    pm_sim,
)
from isolated_studio.checks.access.model import (
    SERVICE_PREFIX,
    VARIABLE,
    Decision,
    Role,
    Scenario,
    ScenarioError,
    Synthesis,
    Unevaluable,
    World,
)

# Operators principalmapper implements (after ForAllValues:/ForAnyValue: and IfExists).
SUPPORTED_OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
}
# Operators whose result for a key missing from the request principalmapper computes as AWS does
# (checked in its source: StringNotLike without IfExists, for one, returns false where AWS says true).
ABSENT_KEY_OPERATORS = {
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "Bool",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
}


AWS_DEFAULT_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


# Another account's resource, as its owner may write it: open to everyone (the worst case, an
# attacker's own bucket or role). Only our policies then stand between our principals and it.
OPEN_RESOURCE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "OwnerOpensItToEveryone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*"}
    ],
}


def _resource_policy(
    synthesis: Synthesis, action: str, arn: str, context: Mapping[str, Any] | None = None
) -> tuple[dict | None, str]:
    """(policy, owner account) of the resource policy that also decides, if the resource has one."""
    world = synthesis.world
    owner = (context or {}).get("aws:ResourceAccount", world.account)
    if owner != world.account and isinstance(owner, str):
        return copy.deepcopy(OPEN_RESOURCE_POLICY), owner
    if arn.startswith(f"arn:{world.partition}:s3:::"):
        bucket = arn.split(":::", 1)[1].split("/", 1)[0]
        return synthesis.bucket_policies.get(bucket), world.account
    if ":kms:" in arn and ":key/" in arn:
        owner = arn.split(":")[4]
        if arn == world.key_arn:
            return synthesis.key_policy, owner
        return json.loads(json.dumps(AWS_DEFAULT_KEY_POLICY).replace("{account}", owner)), owner
    if action == "sts:AssumeRole":
        for role in synthesis.roles.values():
            if role.arn == arn:
                return role.trust, world.account
        raise ScenarioError(f"sts:AssumeRole of {arn}, which is not one of our roles")
    return None, world.account


def _statements(document: Mapping) -> list[dict]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _principal_applies(statement: Mapping, principal: Node | str) -> bool:
    """Does a resource-policy statement's Principal name this caller (as principalmapper matches it)?"""
    if "NotPrincipal" in statement:
        return True
    if "Principal" not in statement:
        raise ScenarioError(
            f"resource-policy statement {statement.get('Sid', '')!r} has neither Principal nor NotPrincipal"
        )
    field_ = statement["Principal"]
    if field_ == "*":
        return True
    if isinstance(principal, Node):
        return "AWS" in field_ and pm_sim._principal_matches_in_statement(
            principal, pm_sim._listify_string(field_["AWS"])
        )
    return principal in pm_sim._listify_string(field_.get("Service", []))


def _expand(text: str, context: CaseInsensitiveDict, label: str, key: str) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1)
        if name not in context or isinstance(context[name], list):
            raise Unevaluable(
                f"{label}: policy variable ${{{name}}} in the condition on {key} is not a "
                "single-valued key of the request context"
            )
        return str(context[name])

    return VARIABLE.sub(one, text)


def prepare_policy(
    document: Mapping,
    where: str,
    action: str,
    resource: str,
    context: CaseInsensitiveDict,
    absent: Iterable[str],
    principal: Node | str | None,
) -> dict:
    """The policy as principalmapper should see it, or :class:`Unevaluable` if it cannot decide it.

    Only statements that apply to the request matter (principal, action and resource match):
    their condition operators must be implemented, their condition keys in the context (or
    declared absent, for operators whose missing-key result principalmapper gets right), their
    policy variables known; variables in their condition values are expanded from the context.
    ``context`` holds the request's keys and the ones principalmapper infers.
    """
    absent_keys = {k.lower() for k in absent}
    prepared = copy.deepcopy(dict(document))
    statements = _statements(prepared)
    prepared["Statement"] = statements
    for index, statement in enumerate(statements):
        label = f"{where} statement {statement.get('Sid') or index}"
        if principal is not None and not _principal_applies(statement, principal):
            continue
        if not pm_sim._statement_matches_action(statement, action, context, principal is not None):
            continue
        for name in ("Resource", "NotResource"):
            for pattern in pm_sim._listify_string(statement.get(name, [])):
                for variable in VARIABLE.findall(pattern):
                    if variable not in context:
                        raise Unevaluable(
                            f"{label}: policy variable ${{{variable}}} in {name} is not in the request context"
                        )
        if not pm_sim._statement_matches_resource(statement, resource, context):
            continue
        for operator, block in (statement.get("Condition") or {}).items():
            base = operator.split(":", 1)[1] if operator.startswith(("ForAllValues:", "ForAnyValue:")) else operator
            base = base.removesuffix("IfExists")
            if base not in SUPPORTED_OPERATORS:
                raise Unevaluable(f"{label}: condition operator {operator} is not implemented by principalmapper")
            for key, value in block.items():
                block[key] = (
                    [_expand(v, context, label, key) for v in value]
                    if isinstance(value, list)
                    else _expand(value, context, label, key)
                )
                if key in context:
                    continue
                if key.lower() in absent_keys:
                    if operator.startswith(("ForAllValues:", "ForAnyValue:")) or base in ABSENT_KEY_OPERATORS:
                        continue
                    raise Unevaluable(f"{label}: principalmapper gets {operator} wrong for the absent key {key}")
                raise Unevaluable(
                    f"{label}: condition key {key} ({operator}) is neither in the request context nor listed as absent"
                )
    return prepared


def _node(role: Role) -> Node:
    return Node(
        arn=role.arn,
        id_value=f"AROA{abs(hash(role.arn)) % 10**16:016d}",
        attached_policies=[Policy(role.arn, name, doc) for name, doc in role.policies],
        group_memberships=[],
        trust_policy=role.trust,
        instance_profile=None,
        num_access_keys=0,
        active_password=False,
        is_admin=False,
        has_mfa=False,
        tags={},
        permissions_boundary=Policy(role.arn, "boundary", role.boundary) if role.boundary else None,
    )


def evaluate(scenario: Scenario, synthesis: Synthesis) -> Decision:
    """AWS's decision on the scenario's request under the synthesized policies."""
    world = synthesis.world
    where = f"{scenario.id} [{synthesis.mode}]"
    arn = resource_arn(scenario.action, {k: world.fill(v) for k, v in scenario.resource.items()}, world)
    context, absent = request_context(scenario, arn, world)
    resource_policy, owner = _resource_policy(synthesis, scenario.action, arn, context)
    if scenario.principal.startswith(SERVICE_PREFIX):
        if scenario.action != "sts:AssumeRole" or resource_policy is None:
            raise ScenarioError(f"{where}: a service principal is evaluated only for sts:AssumeRole of our roles")
        service = scenario.principal.removeprefix(SERVICE_PREFIX)
        ctx = CaseInsensitiveDict(context)
        trust = prepare_policy(resource_policy, f"{where} trust policy", scenario.action, arn, ctx, absent, service)
        result = pm_sim.resource_policy_authorization(service, owner, trust, scenario.action, arn, ctx)
        return Decision(scenario, synthesis.mode, result == pm_sim.ResourcePolicyEvalResult.SERVICE_MATCH, arn, context)
    role = synthesis.roles[scenario.principal]
    node = _node(role)
    # What principalmapper adds to the request itself (its values decide nothing here but
    # policy variables such as ${aws:PrincipalAccount}).
    ctx = CaseInsensitiveDict(
        {
            "aws:CurrentTime": "2026-12-02T14:00:00Z",
            "aws:EpochTime": "1764684000",
            "aws:SecureTransport": "true",
            **_inferred(node),
            **context,
        }
    )
    node.attached_policies = [
        Policy(
            role.arn,
            name,
            prepare_policy(document, f"{where} {role.name}/{name}", scenario.action, arn, ctx, absent, None),
        )
        for name, document in role.policies
    ]
    if role.boundary:  # as _node() gave the node a boundary
        node.permissions_boundary = Policy(
            role.arn,
            "boundary",
            prepare_policy(
                role.boundary, f"{where} {role.name} permissions boundary", scenario.action, arn, ctx, absent, None
            ),
        )
    if resource_policy is not None:
        resource_policy = prepare_policy(
            resource_policy, f"{where} resource policy of {arn}", scenario.action, arn, ctx, absent, node
        )
    allowed = local_check_authorization_full(
        node, scenario.action, arn, context, resource_policy, owner if resource_policy is not None else None
    )
    return Decision(scenario, synthesis.mode, bool(allowed), arn, context)


def resource_account(arn: str, world: World) -> str | None:
    """The account that owns the resource of a request, as AWS sets aws:ResourceAccount: the ARN's
    account, the world's for our buckets (S3 ARNs name none); None when the ARN does not tell."""
    if arn == "*":
        return None
    parts = arn.split(":", 5)
    if parts[2] == "s3":
        bucket = parts[5].split("/", 1)[0]
        ours = {v for k, v in world.names.items() if k.endswith("_bucket")}
        return world.account if bucket in ours else None
    return parts[4] or None


def request_context(scenario: Scenario, arn: str, world: World) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The scenario's request context with what AWS adds from the request itself, and its absent
    keys: aws:ResourceAccount is the resource's account, and absent from a request on ``*``."""
    context = {k: world.fill(v) for k, v in scenario.context.items()}
    absent = tuple(scenario.absent)
    if "aws:ResourceAccount" not in context and "aws:ResourceAccount" not in absent:
        owner = resource_account(arn, world)
        if owner:
            context["aws:ResourceAccount"] = owner
        elif arn == "*":
            absent += ("aws:ResourceAccount",)
    return context, absent


def _acts_on(statement: Mapping, action: str) -> bool:
    return any(
        fnmatch.fnmatch(action.lower(), pattern.lower()) for pattern in pm_sim._listify_string(statement["Action"])
    )


ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def deciding_statements(scenario: Scenario, synthesis: Synthesis) -> set[str]:
    """Our statements (not AWS's managed policy), as "<inline policy name>/<Sid>", that decide
    the scenario on their own.

    For an allowed request, an Allow statement that allows it as the role's only policy; for a
    denied one, a Deny statement that denies it even beside an allow of everything. The bucket and
    key policies are left out (neither grants nor denies), so a statement counts even where a
    resource policy would also allow, and so is the permissions boundary (a cap, not a grant). A
    scenario denied for want of any grant has none.
    """
    if scenario.principal.startswith(SERVICE_PREFIX):
        return set()
    role = synthesis.roles[scenario.principal]
    neutral_key = json.loads(json.dumps(AWS_DEFAULT_KEY_POLICY).replace("{account}", synthesis.world.account))
    found = set()
    for name, document in role.own_policies():
        for statement in _statements(document):
            if statement["Effect"] != ("Allow" if scenario.allowed else "Deny") or not _acts_on(
                statement, scenario.action
            ):
                continue
            statements = [statement] if scenario.allowed else [statement, ALLOW_ALL]
            # Without the permissions boundary: it caps every request, so beside it any deny would
            # seem to decide what the boundary already refuses.
            only = dataclasses.replace(
                role, policies=[(name, {"Version": "2012-10-17", "Statement": statements})], boundary=None
            )
            alone = dataclasses.replace(
                synthesis,
                roles={**synthesis.roles, scenario.principal: only},
                bucket_policies={},
                key_policy=neutral_key,
            )
            if evaluate(scenario, alone).allowed == scenario.allowed:
                found.add(f"{name}/{statement.get('Sid', '')}")
    return found


def _inferred(node: Node) -> dict[str, str]:
    return {"aws:PrincipalArn": node.arn, "aws:PrincipalAccount": node.arn.split(":")[4], "aws:userid": node.id_value}


def evaluate_all(scenarios: Sequence[Scenario], synthesis: Synthesis) -> list[Decision]:
    return [evaluate(s, synthesis) for s in scenarios if synthesis.mode in s.modes]
