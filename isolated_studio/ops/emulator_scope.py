"""The part of a synthesized stack the emulator (moto) can create, as Terraform ``-target``s.

moto creates the workload's storage, encryption and IAM (S3 buckets and their settings,
objects, KMS keys, IAM roles and policies) but no SageMaker domain, user profile, MLflow
tracking server, lifecycle configuration or CodeArtifact. ``-target`` also applies
everything a target depends on, so a resource is a target only when everything it depends
on, directly or through data sources, is of a type the emulator supports: the MLflow
bucket's CORS rule names the domain's URL, for example, so it stays out.

    python -m isolated_studio.ops.emulator_scope cdktf.out/stacks/workload   # prints -target=... lines
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

EMULATED_RESOURCE_TYPES = frozenset(
    {
        "aws_kms_key",
        "aws_kms_alias",
        "aws_s3_bucket",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_object",
        # Not aws_iam_role_policy_attachment: moto 5.2 holds no AmazonSageMakerFullAccess
        # (AttachRolePolicy answers NoSuchEntity), the only policy the workload attaches; so the
        # execution role's exclusive attachments (which name it) and exclusive inline policies
        # (which name the domain-bound studio-domain policy) stay out too. The MLflow role's are in:
        # moto answers ListRolePolicies / ListAttachedRolePolicies and their Delete / Detach.
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_policy",
        "aws_iam_role_policies_exclusive",
        "aws_iam_role_policy_attachments_exclusive",
    }
)
EMULATED_DATA_TYPES = frozenset(
    {
        "aws_caller_identity",
        "aws_partition",
        "aws_region",
        "aws_iam_policy_document",
        "terraform_remote_state",
    }
)
_REFERENCE = re.compile(r"\b(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)")


def _references(body: Any) -> set[str]:
    """Addresses (``type.name`` / ``data.type.name``) a resource body refers to."""
    text = json.dumps(body)
    found = set()
    for expression in re.findall(r"\$\{([^}]*)\}", text):
        for data, rtype, name in _REFERENCE.findall(expression):
            if rtype.startswith(("aws_", "terraform_")):
                found.add(f"{'data.' if data else ''}{rtype}.{name}")
    for dependency in body.get("depends_on", []) if isinstance(body, Mapping) else []:
        found |= {m.group(0) for m in _REFERENCE.finditer(dependency)}
    return found


def _graph(stack: Mapping[str, Any]) -> dict[str, tuple[str, set[str]]]:
    """``{address: (type, referenced addresses)}`` for every resource and data source."""
    nodes = {}
    for rtype, items in stack.get("resource", {}).items():
        for name, body in items.items():
            nodes[f"{rtype}.{name}"] = (rtype, _references({k: v for k, v in body.items() if k != "//"}))
    for rtype, items in stack.get("data", {}).items():
        for name, body in items.items():
            nodes[f"data.{rtype}.{name}"] = (rtype, _references({k: v for k, v in body.items() if k != "//"}))
    return nodes


def emulator_targets(stack: Mapping[str, Any]) -> list[str]:
    """Resources of emulated types whose whole dependency closure is emulated, sorted."""
    nodes = _graph(stack)
    supported: dict[str, bool] = {}

    def ok(address: str, seen: frozenset[str] = frozenset()) -> bool:
        if address in supported:
            return supported[address]
        if address not in nodes:
            return True  # not a resource or data source of this stack (a local, a variable...)
        if address in seen:
            return True
        rtype, refs = nodes[address]
        allowed = EMULATED_DATA_TYPES if address.startswith("data.") else EMULATED_RESOURCE_TYPES
        result = rtype in allowed and all(ok(ref, seen | {address}) for ref in refs)
        supported[address] = result
        return result

    return sorted(a for a in nodes if not a.startswith("data.") and ok(a))


def excluded(stack: Mapping[str, Any]) -> list[str]:
    """Resources left out (unsupported themselves or depending on something unsupported)."""
    targets = set(emulator_targets(stack))
    return sorted(a for a in _graph(stack) if not a.startswith("data.") and a not in targets)


def target_args(targets: Iterable[str]) -> list[str]:
    return [f"-target={t}" for t in targets]


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m isolated_studio.ops.emulator_scope",
        description="print the -target options of the workload's resources the emulator can create",
    )
    parser.add_argument("stack_dir", type=Path, help="the synthesized workload stack (cdktf.out/stacks/workload)")
    stack = json.loads((parser.parse_args(argv).stack_dir / "cdk.tf.json").read_text())
    print("\n".join(target_args(emulator_targets(stack))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
