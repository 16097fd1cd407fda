"""A Synthesis of a configuration without synthesizing: the roles as modules/studio_roles.py builds them."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from isolated_studio.checks.access.model import MANAGED_NAME, PRINCIPALS, Role, Synthesis, World, managed_name
from isolated_studio.checks.access.scenarios import managed_policy
from isolated_studio.checks.policy_documents import render_policy_document


def _roles_props(config: Any, world: World) -> Any:
    # The stack's own wiring and naming (stacks/workload_studio.py, stacks/workload_data.py), not a copy of it.
    # Lazy for speed, not for a cycle: the constructs import the cdktf provider bindings (seconds).
    from stacks.workload_studio import studio_roles_props

    return studio_roles_props(
        config,
        account=world.account,
        partition=world.partition,
        key_arn=world.key_arn,
        subnet_ids=list(world.subnets),
        security_group_ids=[world.security_groups[0]],
        experiments_endpoint_id=(
            world.endpoint_id("experiments") if "experiments" in config.network.interface_endpoints else None
        ),
        domain_id=world.domain_id,
    )


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
    names |= {
        "execution_role": props.execution_role_name,
        "mlflow_role": props.mlflow_role_name,
        "mlflow_server": config.mlflow_server_name,
        "mlflow_prefix": w.mlflow_artifact_prefix.strip("/"),
        "codeartifact_domain": config.codeartifact_domain,
        "codeartifact_repository": w.codeartifact_repository,
    }
    return replace(base, names=names)


def roles_for_config(config: Any, world: World) -> dict[str, Role]:
    """The roles as modules/studio_roles.py builds them for ``config``, with the world's values
    where a synthesis has Terraform expressions (account, key, subnets, the Studio security group)."""
    # Lazy for speed, not for a cycle: the constructs import the cdktf provider bindings (seconds).
    from modules.studio_roles import StudioRoles

    props = _roles_props(config, world)
    trust = {kind: rendered(doc) for kind, doc in StudioRoles.trust_policies(props).items()}
    names = {"execution": props.execution_role_name, "mlflow": props.mlflow_role_name}
    policies = {
        "execution": [(name, rendered(doc)) for name, doc in StudioRoles.execution_policies(props).items()],
        "mlflow": [(name, rendered(doc)) for name, doc in StudioRoles.mlflow_policies(props).items()],
    }
    if props.mode == "managed":
        version, document = managed_policy("AmazonSageMakerFullAccess")
        policies["execution"].append((managed_name("AmazonSageMakerFullAccess", version), document))
    boundary = StudioRoles.boundary_policy(props)
    boundaries = {"execution": rendered(boundary) if boundary else None, "mlflow": None}
    return {
        kind: Role(
            name=names[kind],
            arn=f"arn:{world.partition}:iam::{world.account}:role/{names[kind]}",
            trust=trust[kind],
            policies=policies[kind],
            boundary=boundaries[kind],
        )
        for kind in PRINCIPALS
    }


def resource_policies(synthesis: Synthesis) -> dict[str, Any]:
    """What a synthesis decides besides the roles: the bucket policies and the key policy."""
    return {"bucket_policies": synthesis.bucket_policies, "key_policy": synthesis.key_policy}


def synthesis_for_config(config: Any, resources: Mapping[str, Any], world: World | None = None) -> Synthesis:
    """A :class:`Synthesis` of ``config`` without synthesizing: the roles from the module that
    builds them, the resource policies (``resources``, as :func:`resource_policies` gives them)
    from an earlier synthesis of the same configuration."""
    world = world_for_config(config, world)
    roles = roles_for_config(config, world)
    managed = next(
        (m["version"] for m in (MANAGED_NAME.fullmatch(name) for name, _ in roles["execution"].policies) if m), None
    )
    return Synthesis(
        mode=config.workload.iam_mode,
        world=world,
        roles=roles,
        bucket_policies=copy.deepcopy(dict(resources["bucket_policies"])),
        key_policy=copy.deepcopy(resources["key_policy"]),
        managed_version=managed,
    )
