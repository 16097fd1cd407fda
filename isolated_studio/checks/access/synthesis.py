"""The synthesized stacks read as a Synthesis: Terraform expressions resolved to a World's values, roles and resource policies found."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from isolated_studio.checks.access.model import PRINCIPALS, Role, ScenarioError, Synthesis, World, managed_name
from isolated_studio.checks.access.scenarios import managed_policy
from isolated_studio.checks.policy_documents import POLICY_DOCUMENT_REF, render_policy_document
from isolated_studio.config import ENDPOINT_SERVICES

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
            return {"id": world.domain_id, "url": f"https://{world.domain_id}.studio.{world.region}.sagemaker.aws"}[
                attr
            ]
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


def reference(value: str, rtype: str, attribute: str) -> str:
    """NAME in a synthesized ``${rtype.NAME.attribute}``; ScenarioError for any other value."""
    match = re.fullmatch(rf"\$\{{{re.escape(rtype)}\.([^.]+)\.{re.escape(attribute)}\}}", value)
    if match is None:
        raise ScenarioError(f"{value!r} is not a reference to {rtype}.<name>.{attribute}")
    return match.group(1)


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
            policy = reference(body["permissions_boundary"], "aws_iam_policy", "arn")
            boundary = _policy(workload, res["aws_iam_policy"][policy]["policy"], resolve)
        roles[kind] = Role(
            name=name,
            arn=f"arn:{world.partition}:iam::{world.account}:role/{name}",
            trust=_policy(workload, body["assume_role_policy"], resolve),
            policies=[],
            boundary=boundary,
        )
    if set(roles) != set(PRINCIPALS):
        raise ScenarioError(f"expected the execution and MLflow roles, found {sorted(roles)}")
    for body in res.get("aws_iam_role_policy", {}).values():
        logical = reference(body["role"], "aws_iam_role", "id")
        roles[by_logical[logical]].policies.append((body["name"], _policy(workload, body["policy"], resolve)))
    managed_version = None
    for body in res.get("aws_iam_role_policy_attachment", {}).values():
        logical = reference(body["role"], "aws_iam_role", "name")
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
    return Synthesis(
        mode=mode,
        world=world,
        roles=roles,
        bucket_policies=buckets,
        key_policy=_policy(workload, keys[0]["policy"], resolve),
        managed_version=managed_version,
    )


def world_for(stacks: Mapping[str, Mapping], base: World | None = None) -> World:
    """The world with the names the synthesis chose (buckets, roles, server, CodeArtifact)."""
    base = base or World()
    empty = World(
        account=base.account,
        region=base.region,
        partition=base.partition,
        domain_id=base.domain_id,
        user_profile=base.user_profile,
        key_id=base.key_id,
        subnets=base.subnets,
        security_groups=base.security_groups,
    )
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
    names["codeartifact_repository"] = next(
        resolve(r["repository"]) for r in res["aws_codeartifact_repository"].values() if r.get("upstream")
    )
    return replace(base, names=names)
