"""Plans of synthesized stacks against a state that holds every resource, with no AWS call.

``terraform plan -refresh=false`` lets the provider itself decide create / update in place /
replace (../shared/TOOLING-FACTS.md). A stack is made plannable offline by
:func:`offline_stack`: no backend (local state in the working directory), the provider with
dummy credentials and every account check skipped, and the data sources that would call AWS
given their values (the caller's account, the region's available zones, the repository
endpoint); ``terraform_remote_state`` reads a local state file of the network's outputs.

The "before" state is built from the before synthesis by Terraform and the provider
(:func:`build_state`): plan from an empty state, take the planned values, fill what only AWS
knows (ids, ARNs in AWS's formats) and plan again with them until the plan has no change; the
provider's defaults and computed attributes are then exactly what a deployed stack's state holds.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

ACCOUNT = "111122223333"
ZONES = {"us-west-2": ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]}
PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'


# --------------------------------------------------------------------------- the offline stack


def _walk(value: Any, fix) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, fix) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fix) for v in value]
    return fix(value) if isinstance(value, str) else value


def offline_stack(doc: dict, *, region: str, network_state: Path | None) -> dict:
    doc = copy.deepcopy(doc)
    doc["terraform"].pop("backend", None)
    for provider in doc["provider"]["aws"]:
        provider.pop("allowed_account_ids", None)
        provider.update(access_key="offline", secret_key="offline", skip_credentials_validation=True,
                        skip_requesting_account_id=True, skip_metadata_api_check="true", skip_region_validation=True)
    data = doc.get("data", {})
    zones = json.dumps(ZONES[region])
    literal: dict[str, str] = {}
    for name in data.pop("aws_caller_identity", {}):
        literal[f"data.aws_caller_identity.{name}.account_id"] = f'"{ACCOUNT}"'
    for name in data.pop("aws_availability_zones", {}):
        literal[f"data.aws_availability_zones.{name}.names"] = f"tolist({zones})"
    for name, body in data.pop("aws_codeartifact_repository_endpoint", {}).items():
        literal[f"data.aws_codeartifact_repository_endpoint.{name}.repository_endpoint"] = (
            f'"https://{name}-{ACCOUNT}.d.codeartifact.{region}.amazonaws.com/pypi/pip/"')
    for name, body in data.get("terraform_remote_state", {}).items():
        body.update(backend="local", config={"path": str(network_state)})
        body.pop("workspace", None)

    def fix(text: str) -> str:
        for ref, value in literal.items():
            whole = "${" + ref + "}"
            text = text.replace(whole, json.loads(value) if value.startswith('"') else whole)
            text = text.replace(ref, value)
        return text

    doc = _walk(doc, fix)
    for key in [k for k, v in data.items() if not v]:
        del data[key]
    return doc


# --------------------------------------------------------------------------- Terraform


class Terraform:
    """One initialized provider directory shared by every working directory (TF_DATA_DIR)."""

    def __init__(self, root: Path, env: dict[str, str], doc: dict):
        self.root, self.env = root, dict(env)
        init = root / "init"
        init.mkdir(parents=True, exist_ok=True)
        (init / "main.tf.json").write_text(json.dumps(
            {"terraform": {"required_providers": doc["terraform"]["required_providers"]}}))
        self.data_dir = root / "tf-data"
        self.env.update(TF_DATA_DIR=str(self.data_dir), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
        self.run(init, "init", "-backend=false", "-input=false")
        self.lock = (init / ".terraform.lock.hcl").read_text()
        schemas = json.loads(self.run(init, "providers", "schema", "-json"))["provider_schemas"]
        self.schemas = next(iter(schemas.values()))["resource_schemas"]

    def kind(self, rtype: str, path: tuple) -> Any:
        """The type of the attribute at ``path`` (string keys; list indexes skipped), or "block"."""
        block = self.schemas[rtype]["block"]
        kind: Any = None
        for key in [p for p in path if isinstance(p, str)]:
            if key in block.get("attributes", {}):
                kind = block["attributes"][key]["type"]
            elif key in block.get("block_types", {}):
                block, kind = block["block_types"][key]["block"], "block"
            else:
                return None
        return kind

    def run(self, cwd: Path, *args: str) -> str:
        proc = subprocess.run(["terraform", *args, "-no-color"], cwd=cwd, env=self.env, capture_output=True,
                              text=True, timeout=300)
        if proc.returncode != 0:
            raise AssertionError(f"terraform {args[0]} in {cwd} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[:3000]}")
        return proc.stdout

    def plan(self, cwd: Path, doc: dict, state: dict | None) -> dict:
        cwd.mkdir(parents=True, exist_ok=True)
        (cwd / "main.tf.json").write_text(json.dumps(doc))
        (cwd / ".terraform.lock.hcl").write_text(self.lock)
        state_file = cwd / "terraform.tfstate"
        if state is None:
            state_file.unlink(missing_ok=True)
        else:
            state_file.write_text(json.dumps(state))
        self.run(cwd, "plan", "-refresh=false", "-input=false", "-lock=false", "-out=plan.tfplan")
        return json.loads(self.run(cwd, "show", "-json", "plan.tfplan"))


# --------------------------------------------------------------------------- realistic values


def _hex(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


_ID_PREFIX = {"aws_vpc": "vpc-", "aws_subnet": "subnet-", "aws_route_table": "rtb-", "aws_security_group": "sg-",
              "aws_default_security_group": "sg-", "aws_vpc_endpoint": "vpce-", "aws_flow_log": "fl-",
              "aws_route_table_association": "rtbassoc-", "aws_vpc_security_group_ingress_rule": "sgr-",
              "aws_vpc_security_group_egress_rule": "sgr-"}


def computed(rtype: str, address: str, attr: str, values: dict, region: str) -> Any:
    """A realistic value for an attribute only AWS knows."""
    seed = f"{address}.{attr}"
    name = values.get("name") or values.get("bucket") or values.get("domain_name") or values.get("tracking_server_name")
    if attr == "id":
        if rtype in _ID_PREFIX:
            return _ID_PREFIX[rtype] + _hex(seed, 17)
        if rtype == "aws_kms_key":
            h = _hex(seed, 32)
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if rtype == "aws_sagemaker_domain":
            return "d-" + _hex(seed, 12)
        if rtype == "aws_sagemaker_user_profile":
            return arn(rtype, address, values, region)
        return str(name or values.get("key") or values.get("bucket") or _hex(seed, 20))
    if attr == "arn" or attr.endswith("_arn"):
        return arn(rtype, address, values, region)
    if attr in ("owner_id", "owner", "domain_owner", "administrator_account"):
        return ACCOUNT
    if attr == "key_id":
        return computed(rtype, address, "id", values, region)
    if attr == "prefix_list_id":
        return "pl-" + _hex(seed, 8)
    if attr.endswith("_id"):
        return _ID_PREFIX.get("aws_" + attr[:-3], "id-") + _hex(seed, 17)
    if attr == "url":
        return f"https://{values.get('id') or 'd-x'}.studio.{region}.sagemaker.aws"
    if attr == "tracking_server_url":
        return f"https://t-{_hex(seed, 12)}.{region}.experiments.sagemaker.aws"
    if attr in ("etag", "version_id", "unique_id", "checksum_sha256"):
        return _hex(seed, 32)
    return _hex(seed, 12)


def arn(rtype: str, address: str, values: dict, region: str) -> str:
    name = values.get("name") or address.split(".")[-1]
    service, resource = {
        "aws_iam_role": ("iam", f"role/{name}"), "aws_iam_policy": ("iam", f"policy/{name}"),
        "aws_kms_key": ("kms", f"key/{values.get('id', '')}"), "aws_kms_alias": ("kms", name),
        "aws_s3_bucket": ("s3", values.get("bucket", name)),
        "aws_cloudwatch_log_group": ("logs", f"log-group:{name}"),
        "aws_sagemaker_domain": ("sagemaker", f"domain/{values.get('id', '')}"),
        "aws_sagemaker_user_profile": ("sagemaker", f"user-profile/{values.get('domain_id')}/{values.get('user_profile_name')}"),
        "aws_sagemaker_studio_lifecycle_config": ("sagemaker", f"studio-lifecycle-config/{values.get('studio_lifecycle_config_name')}"),
        "aws_sagemaker_mlflow_tracking_server": ("sagemaker", f"mlflow-tracking-server/{values.get('tracking_server_name')}"),
        "aws_codeartifact_domain": ("codeartifact", f"domain/{values.get('domain')}"),
        "aws_codeartifact_repository": ("codeartifact", f"repository/{values.get('domain')}/{values.get('repository')}"),
        "aws_dynamodb_table": ("dynamodb", f"table/{name}"),
    }.get(rtype, (rtype.split("_")[1], f"{rtype}/{_hex(address, 12)}"))
    if service in ("iam", "s3"):
        return f"arn:aws:{service}::{'' if service == 's3' else ACCOUNT}:{resource}".replace("::::", ":::")
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _fill(value: Any, unknown: Any, make, path: tuple = ()) -> Any:
    """``value`` with every unknown (``after_unknown`` true) replaced by ``make(path)``."""
    if unknown is True:
        return make(*path)
    if isinstance(unknown, dict) and isinstance(value, dict | type(None)):
        out = dict(value or {})
        for key, sub in unknown.items():
            if sub is True or (isinstance(sub, (dict, list)) and key in out):
                out[key] = _fill(out.get(key), sub, make, (*path, key))
        return out
    if isinstance(unknown, list) and isinstance(value, list):
        return [_fill(v, u, make, (*path, i)) for i, (v, u) in
                enumerate(zip(value, unknown + [False] * (len(value) - len(unknown))))]
    return value


# --------------------------------------------------------------------------- the state


def _instances(plan: dict) -> dict[str, dict]:
    return {r["address"]: r for r in plan.get("resource_changes", []) if r["mode"] == "managed"}


def state_of(values: dict[str, dict], lineage: str) -> dict:
    resources = []
    for address, (rtype, name, attrs, schema_version) in sorted(values.items()):
        resources.append({"mode": "managed", "type": rtype, "name": name, "provider": PROVIDER,
                          "instances": [{"schema_version": schema_version, "attributes": attrs,
                                         "sensitive_attributes": []}]})
    return {"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": lineage, "outputs": {},
            "resources": resources}


def build_state(tf: Terraform, workdir: Path, doc: dict, region: str, rounds: int = 4) -> tuple[dict, dict]:
    """(state, final plan) of ``doc`` applied: every resource, realistic computed values."""
    values: dict[str, tuple] = {}
    lineage = str(uuid.uuid5(uuid.NAMESPACE_URL, str(workdir)))
    plan = tf.plan(workdir, doc, None)
    for _ in range(rounds):
        changed = False
        for address, entry in _instances(plan).items():
            change = entry["change"]
            if change["actions"] == ["no-op"]:
                continue
            changed = True
            after = change["after"] or {}
            old = values.get(address, (None, None, {}, 0))[2]

            def make(*path, address=address, entry=entry, after=after, old=old):
                kind = tf.kind(entry["type"], path)
                if kind == "block" or (isinstance(kind, list) and kind[0] in ("list", "set")):
                    return []
                if isinstance(kind, list) and kind[0] in ("map", "object"):
                    return {}
                if kind == "bool":
                    return False
                if kind == "number":
                    return 0
                attr = [p for p in path if isinstance(p, str)][-1] if path else "id"
                if len(path) == 1 and old.get(attr) is not None:
                    return old[attr]
                return computed(entry["type"], address, attr, {**old, **after}, region)

            filled = _fill(after, change.get("after_unknown") or {}, make)
            # A computed value kept from the last round (ids stay what AWS gave).
            for key, value in old.items():
                if filled.get(key) is None and value is not None:
                    filled[key] = value
            filled.setdefault("id", computed(entry["type"], address, "id", filled, region))
            values[address] = (entry["type"], entry["name"], filled, 0)
        if not changed:
            return state_of(values, lineage), plan
        plan = tf.plan(workdir, doc, state_of(values, lineage))
    leftover = [a for a, e in _instances(plan).items() if e["change"]["actions"] != ["no-op"]]
    raise AssertionError(f"the before state does not converge: {leftover}")


def outputs_state(plan: dict, lineage: str = "network-outputs") -> dict:
    """A state file holding a plan's output values as its apply would leave them (what
    terraform_remote_state reads): what the apply creates gets new ids."""
    outputs = {}
    for name, change in (plan.get("output_changes") or {}).items():
        value = _fill(change["after"], change.get("after_unknown") or False,
                      lambda *path, name=name: f"{'subnet' if 'subnet' in name else 'new'}-{_hex(f'{name}{path}', 17)}")
        outputs[name] = {"value": value, "type": _type(value)}
    return {"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": lineage, "outputs": outputs,
            "resources": []}


def _type(value: Any) -> Any:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return ["tuple", [_type(v) for v in value]]
    if isinstance(value, dict):
        return ["object", {k: _type(v) for k, v in value.items()}]
    return "string"


def env_for(mirror: str | None) -> dict[str, str]:
    from isolated_studio.base.terraform import terraform_env

    return terraform_env(mirror, base={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")})


__all__ = ["ACCOUNT", "Terraform", "build_state", "env_for", "offline_stack", "outputs_state", "shutil", "re"]
