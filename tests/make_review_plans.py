"""Regenerate the real plans behind the golden reviews: tests/golden/plans/*.plan.json.

    PYTHONPATH=.:tests .venv/bin/python tests/make_review_plans.py          # ~6 min on 2 cores
    STUDIO_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/ops/test_plan_review_golden.py

Two changes a platform team makes, planned by Terraform (1.11, hashicorp/aws 5.100.0) as
`workflow plan` plans them, saved as `terraform show -json`:

- ``team-change.workload``: a user profile added, the JupyterLab instance type, a tag,
  ``retain_home_efs`` and ``mlflow_size`` changed, against a deployed workload;
- ``cidr-change.network``: ``network.vpc_cidr`` changed, against the deployed network.

moto holds the state, the network and the workload's buckets, key and roles (deployed with
``--emulator-scope``) but no Studio domain, user profile, MLflow server or CodeArtifact. For
those the workload's state is completed offline, as tests/TOOLING-FACTS describes: the
configuration is planned with ``-refresh=false`` against the deployed state, and what that
plan creates is written into the state with the values it plans (what only apply would know,
ids and ARNs, filled in). Both changes are then planned with ``-refresh=false``, so the
provider decides update / replace with no call to what moto lacks.

Not part of `make test` (the plans are committed); rerun after a change to the stacks that
the golden reviews should show.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from emulator_support import (
    EMULATOR_CONFIG,
    MOTO_ACCOUNT,
    REGION,
    Emulator,
    describe,
    emulator_env,
    start_moto,
    synthesized_emulator,
)

from isolated_studio.config import load_config
from isolated_studio.ops.app import synthesize

GOLDEN_PLANS = Path(__file__).parent / "golden" / "plans"
TEAM_CHANGE = {  # the emulator configuration's lines -> the team's change
    'user_profiles = ["data-scientist"]': 'user_profiles = ["data-scientist", "analyst"]',
    "retain_home_efs = false": "retain_home_efs = true",
    'mlflow_size = "Small"': 'mlflow_size = "Medium"\njupyterlab_instance_type = "ml.m5.large"',
    'ManagedBy = "cdktf"': 'ManagedBy = "cdktf"\nCostCenter = "ml-42"',
}
CIDR_CHANGE = {'vpc_cidr = "10.20.0.0/16"': 'vpc_cidr = "10.30.0.0/16"'}


def changed_config(changes: dict[str, str], path: Path) -> Path:
    text = EMULATOR_CONFIG.read_text()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return path


def run(emu: Any, directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["terraform", *args],
        cwd=directory,
        env=emu.terraform_env(),
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode not in (0, 2):
        raise SystemExit(describe(proc))
    return proc


def local_copy(source: Path, target: Path, state: dict[str, Any]) -> Path:
    """The stack directory with its state in a local file (the S3 backend left out)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".terraform", "*.tfplan", "*.tfstate*"))
    stack = json.loads((target / "cdk.tf.json").read_text())
    stack["terraform"]["backend"] = {"local": {"path": "terraform.tfstate"}}
    (target / "cdk.tf.json").write_text(json.dumps(stack, indent=2))
    (target / "terraform.tfstate").write_text(json.dumps(state, indent=2))
    return target


def plan_json(emu: Any, directory: Path) -> dict[str, Any]:
    run(emu, directory, "init", "-input=false", "-no-color")
    run(emu, directory, "plan", "-refresh=false", "-input=false", "-no-color", "-lock=false", "-out=plan.tfplan")
    return json.loads(run(emu, directory, "show", "-json", "plan.tfplan").stdout)


def _fake(address: str, key: str) -> str:
    digest = hashlib.sha256(f"{address}.{key}".encode()).hexdigest()[:17]
    rtype = address.split(".")[0]
    if key == "arn":
        service = rtype.split("_")[1]
        return f"arn:aws:{service}:{REGION}:{MOTO_ACCOUNT}:{rtype.split('_', 2)[-1].replace('_', '-')}/{digest}"
    if key == "id" and rtype == "aws_sagemaker_domain":
        return f"d-{digest[:12]}"
    return f"{key}-{digest}"


def _typed(address: str, key: str, kind: Any) -> Any:
    """A stand-in of the attribute's schema type for a value only apply would know."""
    if kind == "string":
        return _fake(address, key)
    if kind == "number":
        return 0
    if kind == "bool":
        return False
    if isinstance(kind, list) and kind[0] in ("list", "set"):
        return []
    if isinstance(kind, list) and kind[0] == "map":
        return {}
    return None


def _filled(address: str, values: Any, marks: Any, block: dict[str, Any]) -> Any:
    """``values`` with every part ``marks`` (a plan's after_unknown) flags given a stand-in of its type."""
    if not isinstance(values, dict):
        return values
    filled = dict(values)
    attributes, blocks = block.get("attributes") or {}, block.get("block_types") or {}
    for key, mark in (marks or {}).items():
        if mark is True:
            filled[key] = _typed(address, key, attributes[key]["type"]) if key in attributes else []
        elif key in attributes and isinstance(mark, dict):  # a map with values only apply knows (tags)
            filled[key] = {**(filled.get(key) or {}), **{k: _fake(address, f"{key}.{k}") for k, m in mark.items() if m}}
        elif key in blocks and isinstance(filled.get(key), list) and isinstance(mark, list):
            nested = blocks[key]["block"]
            filled[key] = [_filled(address, v, m, nested) for v, m in zip(filled[key], mark + [{}] * len(filled[key]))]
    return filled


def completed_state(
    state: dict[str, Any], plan: dict[str, Any], schemas: dict[str, Any], synthesized: dict[str, Any]
) -> dict[str, Any]:
    """``state`` with every resource ``plan`` creates added, at the values it plans; what only apply
    would know gets a stand-in, and a reference to another created resource that one's stand-in."""
    unknown = {rc["address"]: (rc["change"].get("after_unknown") or {}) for rc in plan["resource_changes"]}
    creates = {rc["address"] for rc in plan["resource_changes"] if rc["change"]["actions"] == ["create"]}
    references = {
        r["address"]: {
            k: e.get("references") or [] for k, e in (r.get("expressions") or {}).items() if isinstance(e, dict)
        }
        for r in plan["configuration"]["root_module"]["resources"]
    }
    created: dict[str, dict[str, Any]] = {}
    for r in plan["planned_values"]["root_module"]["resources"]:
        if r["mode"] == "managed" and r["address"] in creates:
            created[r["address"]] = _filled(
                r["address"], r["values"], unknown[r["address"]], schemas[r["type"]]["block"]
            )
    for address, values in created.items():  # a created resource's id in another: the same stand-in
        for key, mark in unknown[address].items():
            refs = [ref for ref in references.get(address, {}).get(key, []) if ref.count(".") == 2]
            if len(refs) != 1:
                continue
            target, attribute = refs[0].rsplit(".", 1)
            if target not in created or attribute not in created[target]:
                continue
            rtype, name = address.split(".", 1)
            written = synthesized["resource"][rtype][name].get(key)
            if isinstance(written, dict):  # a map of references (tags): each resolved
                values[key] = {k: created[target][attribute] if "${" in str(v) else v for k, v in written.items()}
            elif mark is True:
                values[key] = created[target][attribute]
    resources = [r for r in state.get("resources", [])]
    for r in plan["planned_values"]["root_module"]["resources"]:
        if r["address"] in created:
            resources.append(
                {
                    "mode": "managed",
                    "type": r["type"],
                    "name": r["name"],
                    "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                    "instances": [
                        {
                            "schema_version": r.get("schema_version", 0),
                            "attributes": created[r["address"]],
                            "sensitive_attributes": [],
                        }
                    ],
                }
            )
    outputs = {
        name: {"value": o["value"], "type": "string" if isinstance(o.get("value"), str) else ["list", "string"]}
        for name, o in (plan["planned_values"].get("outputs") or {}).items()
        if "value" in o and not o.get("sensitive")
    }
    return {
        "version": 4,
        "terraform_version": plan["terraform_version"],
        "serial": 1,
        "lineage": str(uuid.uuid4()),
        "outputs": outputs,
        "resources": resources,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", help="a running moto with the emulator deployed (--emulator-scope) under --root")
    parser.add_argument("--root", type=Path, help="the deployed emulator's root (its cdktf.out/ and terraform-state/)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="review-plans-"))
    server = None
    try:
        if args.endpoint:
            env = emulator_env(args.endpoint)
            emu = Emulator(
                args.root, args.root / "cdktf.out", args.endpoint, load_config(EMULATOR_CONFIG, env=env), env
            )
        else:
            server = start_moto(work / "moto.log")
            emu = synthesized_emulator(server.endpoint, work / "emulator")
            proc = emu.workflow("deploy", "--yes", "--emulator-scope", plans="deploy")
            if proc.returncode != 0:
                raise SystemExit(describe(proc))
        deployed = {
            stack: json.loads(run(emu, emu.stack_dir(stack), "state", "pull").stdout)
            for stack in ("network", "workload")
        }

        base_dir = local_copy(emu.stack_dir("workload"), work / "base-workload", deployed["workload"])
        base = plan_json(emu, base_dir)
        schemas = json.loads(run(emu, base_dir, "providers", "schema", "-json").stdout)["provider_schemas"][
            "registry.terraform.io/hashicorp/aws"
        ]["resource_schemas"]
        workload_state = completed_state(
            deployed["workload"], base, schemas, json.loads((base_dir / "cdk.tf.json").read_text())
        )
        GOLDEN_PLANS.mkdir(parents=True, exist_ok=True)
        for name, changes, stack, state in (
            ("team-change", TEAM_CHANGE, "workload", workload_state),
            ("cidr-change", CIDR_CHANGE, "network", deployed["network"]),
        ):
            config = changed_config(changes, work / f"{name}.toml")
            outdir = work / f"{name}-out"
            synthesize(outdir, {**emu.env, "STUDIO_CONFIG": str(config)})
            plan = plan_json(emu, local_copy(outdir / "stacks" / stack, work / f"{name}-{stack}", state))
            (GOLDEN_PLANS / f"{name}.{stack}.plan.json").write_text(json.dumps(plan, indent=1, sort_keys=True) + "\n")
            print(f"wrote {GOLDEN_PLANS / f'{name}.{stack}.plan.json'}")
    finally:
        if server is not None:
            server.stop()
        if not os.environ.get("KEEP_REVIEW_PLANS_WORK"):
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
