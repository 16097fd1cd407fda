"""Plans of synthesized stacks against a state that holds every resource, with no AWS call.

``terraform plan -refresh=false`` lets the provider itself decide create / update in place /
replace (../shared/TOOLING-FACTS.md). A stack is made plannable offline by
:func:`offline_stack`: no backend (local state in the working directory), the provider with
dummy credentials and every account check skipped, and the data sources that would call AWS
given their values (the caller's account, the region's available zones, the repository
endpoint); ``terraform_remote_state`` reads a local state file of the network's outputs.

The "before" state is built from the before synthesis by Terraform and the provider
(:func:`build_state`): plan from an empty state, take the planned values, fill what only AWS
knows (ids, ARNs in AWS's formats, typed from ``terraform providers schema -json``) and plan
again with them until the plan has no change; the provider's defaults and computed
attributes are then exactly what a deployed stack's state holds, outputs included.

Cost (2 cores): a plan is ~3.5 s of provider start-up plus ~1 s per 70 resources, and
``terraform show -json`` another ~2.3 s (it loads the provider's schema again); a plan that
is only a check runs with ``-detailed-exitcode`` and is not shown.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCOUNT = "111122223333"
PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
#: Bounds on every Terraform command (seconds): a plan takes ~5 s here, ~20 s on a loaded machine.
TIMEOUTS = {"init": 180, "plan": 300, "show": 180, "providers": 180}

_STARTED = time.monotonic()
_LOG_LOCK = threading.Lock()


def log(message: str) -> None:
    """Progress on the terminal, also under pytest's capture and in an xdist worker."""
    with _LOG_LOCK:
        print(f"day-2 [{time.monotonic() - _STARTED:6.1f} s] {message}", file=sys.__stderr__, flush=True)


def zones(region: str, count: int = 4) -> list[str]:
    """What the aws_availability_zones data source returns offline: the region's first zones."""
    return [f"{region}{letter}" for letter in "abcdef"[:count]]


def zone_id(zone: str) -> str:
    """The offline account's AZ ID of a zone name (``us-west-2b`` -> ``usw2-az2``; which ID a
    letter names differs between real accounts)."""
    from isolated_studio.config.rules import zone_id_prefix

    region, letter = zone[:-1], zone[-1]
    return f"{zone_id_prefix(region)}-az{'abcdef'.index(letter) + 1}"


# --------------------------------------------------------------------------- the offline stack


def _walk(value: Any, fix: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, fix) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fix) for v in value]
    return fix(value) if isinstance(value, str) else value


#: Where a plan's working directory holds the network's outputs (Terraform.plan's ``network``).
NETWORK_OUTPUTS = "network-outputs.tfstate"


def offline_stack(doc: Mapping[str, Any], *, region: str, network_state: str | Path = NETWORK_OUTPUTS) -> dict:
    """``doc`` (a synthesized cdk.tf.json) planned without AWS: see the module docstring. Its
    terraform_remote_state reads ``network_state`` (relative: in the plan's directory)."""
    doc = copy.deepcopy(dict(doc))
    doc["terraform"].pop("backend", None)
    for provider in doc["provider"]["aws"]:
        provider.pop("allowed_account_ids", None)
        provider.update(
            access_key="offline",
            secret_key="offline",
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check="true",
            skip_region_validation=True,
        )
    data = doc.get("data", {})
    literal: dict[str, str] = {}
    for name in data.pop("aws_caller_identity", {}):
        literal[f"data.aws_caller_identity.{name}.account_id"] = f'"{ACCOUNT}"'
    for name in data.pop("aws_availability_zones", {}):
        literal[f"data.aws_availability_zones.{name}.names"] = f"tolist({json.dumps(zones(region))})"
    for name in data.pop("aws_codeartifact_repository_endpoint", {}):
        literal[f"data.aws_codeartifact_repository_endpoint.{name}.repository_endpoint"] = (
            f'"https://{name}-{ACCOUNT}.d.codeartifact.{region}.amazonaws.com/pypi/pip/"'
        )
    for body in data.get("terraform_remote_state", {}).values():
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
    """One initialized provider directory (TF_DATA_DIR) shared by every working directory: one
    ``terraform init`` for all stacks and plans; plans may run in parallel threads."""

    def __init__(self, root: Path, env: Mapping[str, str], required_providers: Mapping[str, Any]):
        self.root, self.env = root, dict(env)
        init = root / "init"
        init.mkdir(parents=True, exist_ok=True)
        (init / "main.tf.json").write_text(json.dumps({"terraform": {"required_providers": required_providers}}))
        self.data_dir = root / "tf-data"
        self.env.update(TF_DATA_DIR=str(self.data_dir), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
        self.run(init, "init", "-backend=false", "-input=false")
        self.lock = (init / ".terraform.lock.hcl").read_text()
        schemas = json.loads(self.run(init, "providers", "schema", "-json").stdout)["provider_schemas"]
        self.schemas = next(iter(schemas.values()))["resource_schemas"]
        self.plans = 0  # plans run, for the cost report
        self._count = threading.Lock()

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

    def run(self, cwd: Path, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        timeout = TIMEOUTS.get(args[0], 300)
        try:
            proc = subprocess.run(
                ["terraform", *args, "-no-color"],
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise AssertionError(f"terraform {args[0]} in {cwd} did not finish within {timeout} s") from None
        if proc.returncode not in ok:
            raise AssertionError(
                f"terraform {args[0]} in {cwd} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[:3000]}"
            )
        return proc

    def plan(
        self,
        cwd: Path,
        doc: Mapping[str, Any],
        state: Mapping[str, Any] | None,
        network: Mapping[str, Any] | None = None,
    ) -> dict | None:
        """The plan's JSON (``terraform show -json``), or None when it changes nothing.
        ``network``: the state file of the network's outputs (for the workload)."""
        cwd.mkdir(parents=True, exist_ok=True)
        if network is not None:
            (cwd / NETWORK_OUTPUTS).write_text(json.dumps(network))
        (cwd / "main.tf.json").write_text(json.dumps(doc))
        (cwd / ".terraform.lock.hcl").write_text(self.lock)
        state_file = cwd / "terraform.tfstate"
        if state is None:
            state_file.unlink(missing_ok=True)
        else:
            state_file.write_text(json.dumps(state))
        with self._count:
            self.plans += 1
        proc = self.run(
            cwd,
            "plan",
            "-refresh=false",
            "-input=false",
            "-lock=false",
            "-detailed-exitcode",
            "-out=plan.tfplan",
            ok=(0, 2),
        )
        if proc.returncode == 0:
            return None
        return json.loads(self.run(cwd, "show", "-json", "plan.tfplan").stdout)


# --------------------------------------------------------------------------- realistic values


def _hex(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


_ID_PREFIX = {
    "aws_vpc": "vpc-",
    "aws_subnet": "subnet-",
    "aws_route_table": "rtb-",
    "aws_security_group": "sg-",
    "aws_default_security_group": "sg-",
    "aws_vpc_endpoint": "vpce-",
    "aws_flow_log": "fl-",
    "aws_route_table_association": "rtbassoc-",
    "aws_vpc_security_group_ingress_rule": "sgr-",
    "aws_vpc_security_group_egress_rule": "sgr-",
    "aws_route53_resolver_firewall_domain_list": "rslvr-fdl-",
    "aws_route53_resolver_firewall_rule_group": "rslvr-frg-",
    "aws_route53_resolver_firewall_rule_group_association": "rslvr-frgassoc-",
    "aws_route53_resolver_firewall_config": "rslvr-fc-",
    "aws_route53_resolver_query_log_config": "rslvr-rqlc-",
    "aws_route53_resolver_query_log_config_association": "rslvr-qlcassoc-",
}


def computed(rtype: str, address: str, attr: str, values: Mapping[str, Any], region: str) -> Any:
    """A realistic value for an attribute only AWS knows (deterministic: the same address and
    attribute always get the same value, so ids stay what they were from one build to the next)."""
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
    if attr == "availability_zone_id" and values.get("availability_zone"):
        return zone_id(values["availability_zone"])
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


def arn(rtype: str, address: str, values: Mapping[str, Any], region: str) -> str:
    name = values.get("name") or address.split(".")[-1]
    service, resource = {
        "aws_iam_role": ("iam", f"role/{name}"),
        "aws_iam_policy": ("iam", f"policy/{name}"),
        "aws_kms_key": ("kms", f"key/{values.get('id', '')}"),
        "aws_kms_alias": ("kms", name),
        "aws_s3_bucket": ("s3", values.get("bucket", name)),
        "aws_cloudwatch_log_group": ("logs", f"log-group:{name}"),
        "aws_sagemaker_domain": ("sagemaker", f"domain/{values.get('id', '')}"),
        "aws_sagemaker_user_profile": (
            "sagemaker",
            f"user-profile/{values.get('domain_id')}/{values.get('user_profile_name')}",
        ),
        "aws_sagemaker_studio_lifecycle_config": (
            "sagemaker",
            f"studio-lifecycle-config/{values.get('studio_lifecycle_config_name')}",
        ),
        "aws_sagemaker_mlflow_tracking_server": (
            "sagemaker",
            f"mlflow-tracking-server/{values.get('tracking_server_name')}",
        ),
        "aws_codeartifact_domain": ("codeartifact", f"domain/{values.get('domain')}"),
        "aws_codeartifact_repository": (
            "codeartifact",
            f"repository/{values.get('domain')}/{values.get('repository')}",
        ),
        "aws_dynamodb_table": ("dynamodb", f"table/{name}"),
    }.get(rtype, (rtype.split("_")[1], f"{rtype}/{_hex(address, 12)}"))
    if service in ("iam", "s3"):
        return f"arn:aws:{service}::{'' if service == 's3' else ACCOUNT}:{resource}".replace("::::", ":::")
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _fill(value: Any, unknown: Any, make: Callable[..., Any], path: tuple = ()) -> Any:
    """``value`` with every unknown (``after_unknown`` true) replaced by ``make(*path)``."""
    if unknown is True:
        return make(*path)
    if isinstance(unknown, dict) and isinstance(value, dict | type(None)):
        out = dict(value or {})
        for key, sub in unknown.items():
            if sub is True or (isinstance(sub, (dict, list)) and key in out):
                out[key] = _fill(out.get(key), sub, make, (*path, key))
        return out
    if isinstance(unknown, list) and isinstance(value, list):
        return [
            _fill(v, u, make, (*path, i))
            for i, (v, u) in enumerate(zip(value, unknown + [False] * (len(value) - len(unknown))))
        ]
    return value


# --------------------------------------------------------------------------- the state


def _instances(plan: Mapping[str, Any] | None) -> dict[str, dict]:
    return {r["address"]: r for r in (plan or {}).get("resource_changes", []) if r["mode"] == "managed"}


_REF = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}")


def outputs_of(
    doc: Mapping[str, Any], values: Mapping[str, tuple], planned: Mapping[str, Any] | None = None
) -> dict[str, dict] | None:
    """The stack's outputs as a state holds them, evaluated from the resources' values (cdktf's
    outputs are references, or lists and maps of them), else as ``planned`` (a plan's known
    output values); None when one is neither."""
    by_address = {address: attrs for address, (_, _, attrs, _) in values.items()}

    def value(expression: Any) -> Any:
        if isinstance(expression, list):
            return [value(v) for v in expression]
        if isinstance(expression, dict):
            return {k: value(v) for k, v in expression.items()}
        if not isinstance(expression, str) or "${" not in expression:
            return expression
        match = _REF.fullmatch(expression)
        if match is None or f"{match[1]}.{match[2]}" not in by_address:
            raise LookupError(expression)
        return by_address[f"{match[1]}.{match[2]}"].get(match[3])

    outputs = {}
    for name, body in (doc.get("output") or {}).items():
        try:
            found = value(body["value"])
        except LookupError:
            if name not in (planned or {}):
                return None
            found = planned[name]
        outputs[name] = {"value": found, "type": _type(found), **({"sensitive": True} if body.get("sensitive") else {})}
    return outputs


def known_outputs(plan: Mapping[str, Any] | None) -> dict[str, Any]:
    """The plan's output values that are known before the apply."""
    return {
        name: change["after"]
        for name, change in ((plan or {}).get("output_changes") or {}).items()
        if not change.get("after_unknown") and change.get("actions") != ["delete"]
    }


def state_of(values: Mapping[str, tuple], lineage: str, outputs: Mapping[str, Any] | None = None) -> dict:
    resources = []
    for address, (rtype, name, attrs, schema_version) in sorted(values.items()):
        resources.append(
            {
                "mode": "managed",
                "type": rtype,
                "name": name,
                "provider": PROVIDER,
                "instances": [{"schema_version": schema_version, "attributes": attrs, "sensitive_attributes": []}],
            }
        )
    return {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 1,
        "lineage": lineage,
        "outputs": dict(outputs or {}),
        "resources": resources,
    }


def values_of(state: Mapping[str, Any]) -> dict[str, tuple]:
    """The inverse of :func:`state_of` (address -> (type, name, attributes, schema version))."""
    return {
        f"{r['type']}.{r['name']}": (
            r["type"],
            r["name"],
            r["instances"][0]["attributes"],
            r["instances"][0]["schema_version"],
        )
        for r in state["resources"]
    }


@dataclass
class Built:
    state: dict
    plans: int


def _filled(tf: Terraform, plan: Mapping[str, Any], values: dict[str, tuple], region: str) -> bool:
    """Fill ``values`` from the plan's planned values; False when the plan changed no resource."""
    changed = False
    for address, entry in _instances(plan).items():
        change = entry["change"]
        if change["actions"] == ["no-op"]:
            continue
        changed = True
        if change["actions"] == ["delete"]:
            values.pop(address, None)
            continue
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
    return changed


def build_state(
    tf: Terraform,
    workdir: Path,
    doc: Mapping[str, Any],
    region: str,
    *,
    label: str,
    network: Mapping[str, Any] | None = None,
    seed: Mapping[str, Any] | None = None,
    first_fill: Callable[[dict], None] | None = None,
    rounds: int = 5,
) -> Built:
    """The state of ``doc`` applied: every resource with realistic computed values, its outputs.

    ``seed``: a state to start from (an earlier build: only what changed since is filled again).
    ``first_fill``: called with the state as soon as every resource has values (its ids and
    names are final: a stack that reads this one's outputs can start building its own).
    """
    lineage = str(uuid.uuid5(uuid.NAMESPACE_URL, label))
    values: dict[str, tuple] = values_of(seed) if seed else {}
    plans = 0

    planned: dict[str, Any] = {}

    def state() -> dict:
        outputs = outputs_of(doc, values, planned)
        return state_of(values, lineage, outputs if outputs is not None else {})

    log(f"{label}: building the before state ({'from an earlier build' if seed else 'from an empty state'})")
    plan = tf.plan(workdir / "round-0", doc, state() if seed else None, network)
    plans += 1
    for number in range(1, rounds + 1):
        planned.update(known_outputs(plan))
        if plan is None or not _filled(tf, plan, values, region):
            moved = {
                name: (o.get("before"), o.get("after"))
                for name, o in ((plan or {}).get("output_changes") or {}).items()
                if o.get("actions") != ["no-op"]
            }
            if moved:
                raise AssertionError(f"{label}: the outputs of the before state do not converge: {moved}")
            log(f"{label}: before state built: {len(values)} resources, {plans} plans")
            return Built(state(), plans)
        if number == 1 and first_fill is not None:
            first_fill(state())
        plan = tf.plan(workdir / f"round-{number}", doc, state(), network)
        plans += 1
    leftover = [a for a, e in _instances(plan).items() if e["change"]["actions"] != ["no-op"]]
    raise AssertionError(f"{label}: the before state does not converge: {leftover}")


def outputs_state(plan: Mapping[str, Any] | None, before: Mapping[str, Any], lineage: str = "network-outputs") -> dict:
    """The network's state file as its apply would leave it, for terraform_remote_state: the
    planned output values (what the apply creates gets new ids); ``before``'s outputs when the
    plan changes nothing."""
    if plan is None:
        return {**before, "resources": []}
    outputs = {}
    for name, change in (plan.get("output_changes") or {}).items():
        if change.get("actions") == ["delete"]:
            continue
        if "after" not in change and not change.get("after_unknown") and name in (before.get("outputs") or {}):
            # Terraform's plan JSON leaves "after" out of some unchanged outputs: the value stays.
            outputs[name] = before["outputs"][name]
            continue
        value = _fill(
            change.get("after"),
            change.get("after_unknown") or False,
            lambda *path, name=name: f"{'subnet' if 'subnet' in name else 'new'}-{_hex(f'{name}{path}', 17)}",
        )
        outputs[name] = {"value": value, "type": _type(value)}
    return {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 1,
        "lineage": lineage,
        "outputs": outputs,
        "resources": [],
    }


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


# --------------------------------------------------------------------------- what depends on what


_NAME = re.compile(r"(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+|local\.[A-Za-z0-9_-]+")
_REMOTE_OUTPUT = re.compile(r"data\.terraform_remote_state\.[A-Za-z0-9_-]+\.outputs\.([A-Za-z0-9_-]+)")


def blocks(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Every addressable block of a synthesized stack: resources (``type.name``), data sources
    (``data.type.name``), locals (``local.name``) and outputs (``output.name``)."""
    found: dict[str, Any] = {}
    for rtype, items in (doc.get("resource") or {}).items():
        found.update({f"{rtype}.{name}": body for name, body in items.items()})
    for rtype, items in (doc.get("data") or {}).items():
        found.update({f"data.{rtype}.{name}": body for name, body in items.items()})
    found.update({f"local.{name}": body for name, body in (doc.get("locals") or {}).items()})
    found.update({f"output.{name}": body for name, body in (doc.get("output") or {}).items()})
    # The provider's configuration (its default tags reach every resource).
    found["provider.aws"] = (doc.get("provider") or {}).get("aws")
    return found


_ASSET = re.compile(r"assets/[^\"]+")


def _text(body: Any) -> str:
    body = {k: v for k, v in body.items() if k != "//"} if isinstance(body, dict) else body
    # An asset's path holds its content's hash; the object's source_hash already says whether it changed.
    return _ASSET.sub("asset", json.dumps(body, sort_keys=True))


def changed_blocks(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    """The blocks whose configuration differs (added and removed ones included)."""
    old, new = ({k: _text(v) for k, v in blocks(d).items()} for d in (before, after))
    return {a for a in old.keys() | new.keys() if old.get(a) != new.get(a)}


def dependents(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """``stack:block`` -> the ``stack:block``s whose configuration refers to it (one step),
    across stacks too: a network output -> the workload's blocks that read it."""
    edges: dict[str, set[str]] = {}
    for stack, doc in docs.items():
        names = blocks(doc)
        for address, body in names.items():
            if not address.startswith(("data.", "local.", "output.", "provider.")):
                edges.setdefault(f"{stack}:provider.aws", set()).add(f"{stack}:{address}")
            text = json.dumps(body)
            for ref in set(_NAME.findall(text)):
                ref = ref.split(".outputs.")[0]
                if ref in names and ref != address:
                    edges.setdefault(f"{stack}:{ref}", set()).add(f"{stack}:{address}")
            for output in set(_REMOTE_OUTPUT.findall(text)):
                edges.setdefault(f"network:output.{output}", set()).add(f"{stack}:{address}")
    return edges


def closure(start: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    """``start`` and everything that depends on it, transitively."""
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
