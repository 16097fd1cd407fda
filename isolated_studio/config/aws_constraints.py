"""What AWS's own API models accept, for every setting that becomes an API field.

The constraints come from botocore's service models and endpoint data (the version in
Pipfile.lock), not from memory: each request field's ``pattern``, ``min``/``max`` and
``enum``, the tag rules of every service the stacks tag, and the regions of each partition
with the services each offers. botocore is a dev/lab package, not one that ``make synth``
installs, so the constraints we use are generated into ``aws_constraints.json`` beside this
file (``python -m isolated_studio.config.aws_constraints``) and read from there at run time;
tests/unit/config/test_config_aws_constraints.py regenerates them from the installed (locked) botocore
and fails when the file differs, so a botocore upgrade in the lock shows up as a diff to
review, not as silently different rules.

AWS evaluates its patterns against the whole value (Java's ``matches``), so they are matched
with ``fullmatch`` here; Java's Unicode classes (``\\p{L}``, ``\\p{Z}``, ``\\p{N}``,
``\\P{C}``), which Python's ``re`` lacks, are evaluated with :mod:`unicodedata`.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import gzip
import json
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DATA_PATH = Path(__file__).with_name("aws_constraints.json")

# (service, shape) of every request field a setting becomes; the generator copies exactly these.
SHAPES: tuple[tuple[str, str], ...] = (
    ("sagemaker", "DomainName"),
    ("sagemaker", "UserProfileName"),
    ("sagemaker", "StudioLifecycleConfigName"),
    ("sagemaker", "AppInstanceType"),
    ("sagemaker", "VpcOnlyTrustedAccounts"),
    ("sagemaker", "AccountId"),
    ("sagemaker", "ImageArn"),  # ResourceSpec.SageMakerImageArn (the Studio image)
    ("sagemaker", "ImageVersionAlias"),  # ResourceSpec.SageMakerImageVersionAlias
    ("sagemaker", "RetentionType"),
    ("sagemaker", "TrackingServerName"),
    ("sagemaker", "TrackingServerSize"),
    ("sagemaker", "MlflowVersion"),
    ("sagemaker", "WeeklyMaintenanceWindowStart"),
    ("sagemaker", "S3Uri"),  # CreateMlflowTrackingServer.ArtifactStoreUri
    ("sagemaker", "Subnets"),
    ("sagemaker", "SecurityGroupIds"),
    ("sagemaker", "TagList"),
    ("codeartifact", "DomainName"),
    ("codeartifact", "RepositoryName"),
    ("dynamodb", "TableName"),
    ("ec2", "TrafficType"),
    ("iam", "roleNameType"),
    ("iam", "policyNameType"),
    ("kms", "AliasNameType"),
    ("logs", "LogGroupName"),
    ("route53resolver", "FirewallDomainName"),
)

# The services whose resources the stacks tag (provider default_tags reach every one of them),
# with the structure shape of one tag and its key/value member names.
TAGGED_SERVICES: dict[str, tuple[str, str, str]] = {
    "sagemaker": ("Tag", "Key", "Value"),
    "iam": ("Tag", "Key", "Value"),
    "logs": ("Tags", "", ""),  # a map: its key and value shapes
    "codeartifact": ("Tag", "key", "value"),
    "kms": ("Tag", "TagKey", "TagValue"),
    "dynamodb": ("Tag", "Key", "Value"),
}

# Interface endpoint short names (rules.ENDPOINT_SERVICES) -> botocore endpoint data's service
# key. "experiments" is SageMaker managed MLflow: botocore has no endpoint entry of its own for
# it, so SageMaker's regions stand for it. Feature Store runtime has none at all (not checked).
ENDPOINT_DATA_SERVICE: dict[str, str | None] = {
    "sagemaker.api": "api.sagemaker",
    "sagemaker.runtime": "runtime.sagemaker",
    "experiments": "api.sagemaker",
    "codeartifact.api": "codeartifact",
    "codeartifact.repositories": "codeartifact",
    "sts": "sts",
    "ecr.api": "api.ecr",
    "ecr.dkr": "api.ecr",
    "logs": "logs",
    "monitoring": "monitoring",
    "ec2": "ec2",
    "kms": "kms",
    "ssm": "ssm",
    "sagemaker.featurestore-runtime": None,
    "servicecatalog": "servicecatalog",
    "elasticfilesystem": "elasticfilesystem",
    "s3": "s3",
}
# What every deployment needs whatever its endpoints: the domain, MLflow and pip's CodeArtifact.
REQUIRED_SERVICES: dict[str, str] = {
    "api.sagemaker": "SageMaker (Studio and MLflow)",
    "codeartifact": "CodeArtifact (pip inside the VPC)",
}

# S3 allows at most 10 tags on an object (PutObject's x-amz-tagging; "Categorizing your storage
# using tags" in the S3 user guide), and the provider's default_tags reach every aws_s3_object.
S3_OBJECT_MAX_TAGS = 10


# --------------------------------------------------------------------------- generating


def _botocore_data() -> Path:
    # Lazy for speed: only regenerating the table reads botocore; loading a configuration never does.
    import botocore

    return Path(botocore.__file__).parent / "data"


def _load(path: Path) -> Any:
    if path.exists():
        return json.loads(path.read_text())
    return json.loads(gzip.decompress(path.with_name(path.name + ".gz").read_bytes()))


def _model(data: Path, service: str) -> dict[str, Any]:
    version = sorted(p.name for p in (data / service).iterdir() if p.is_dir())[-1]
    return _load(data / service / version / "service-2.json")["shapes"]


_KEPT = ("type", "min", "max", "pattern", "enum")


def _shape(shapes: Mapping[str, Any], name: str) -> dict[str, Any]:
    shape = shapes[name]
    kept = {k: shape[k] for k in _KEPT if k in shape}
    if shape["type"] == "list":
        kept["member"] = _shape(shapes, shape["member"]["shape"])
    return kept


def generate() -> dict[str, Any]:
    """The constraints, read from the installed botocore's models and endpoint data."""
    import botocore  # lazy for speed, as in _botocore_data

    data = _botocore_data()
    models: dict[str, dict[str, Any]] = {}

    def shapes_of(service: str) -> dict[str, Any]:
        if service not in models:
            models[service] = _model(data, service)
        return models[service]

    shapes = {f"{service}.{name}": _shape(shapes_of(service), name) for service, name in SHAPES}
    tags = {}
    for service, (tag, key, value) in TAGGED_SERVICES.items():
        model = shapes_of(service)
        if model[tag]["type"] == "map":
            key_shape, value_shape = model[tag]["key"]["shape"], model[tag]["value"]["shape"]
        else:
            members = model[tag]["members"]
            key_shape, value_shape = members[key]["shape"], members[value]["shape"]
        tags[service] = {"key": _shape(model, key_shape), "value": _shape(model, value_shape)}
    partitions = {}
    for partition in _load(data / "endpoints.json")["partitions"]:
        regions = sorted(partition["regions"])
        services = {}
        for service in sorted({s for s in ENDPOINT_DATA_SERVICE.values() if s} | set(REQUIRED_SERVICES)):
            endpoints = partition["services"].get(service, {}).get("endpoints", {})
            services[service] = sorted(r for r in endpoints if r in partition["regions"])
        partitions[partition["partition"]] = {"regions": regions, "services": services}
    return {"botocore": botocore.__version__, "shapes": shapes, "tags": tags, "partitions": partitions}


def render(constraints: Mapping[str, Any]) -> str:
    return json.dumps(constraints, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


# --------------------------------------------------------------------------- reading


@functools.cache
def constraints() -> dict[str, Any]:
    return json.loads(DATA_PATH.read_text())


def shape(ref: str) -> dict[str, Any]:
    """One shape, as ``"sagemaker.UserProfileName"``."""
    return constraints()["shapes"][ref]


def enum(ref: str) -> tuple[str, ...]:
    return tuple(shape(ref)["enum"])


_CLASSES = {"L": "\ue000", "Z": "\ue001", "N": "\ue002"}
_NOT_CONTROL = "\ue003"


def fullmatch(pattern: str, value: str) -> bool:
    """Whether AWS's pattern matches the whole value (Java regular expression semantics for the
    Unicode classes the models use: ``\\p{L}``, ``\\p{Z}``, ``\\p{N}`` and ``\\P{C}``)."""
    if "\\P{C}" in pattern:
        text = "".join(_NOT_CONTROL if not unicodedata.category(c).startswith("C") else c for c in value)
        return re.fullmatch(pattern.replace("\\P{C}", _NOT_CONTROL), text) is not None
    if "\\p{" in pattern:
        text = "".join(_CLASSES.get(unicodedata.category(c)[0], c) for c in value)
        translated = re.sub(r"\\p\{([LZN])\}", lambda m: _CLASSES[m.group(1)], pattern)
        return re.fullmatch(translated, text) is not None
    return re.fullmatch(pattern, value) is not None


def _service_name(ref: str) -> str:
    service = ref.split(".", 1)[0]
    return {
        "sagemaker": "SageMaker",
        "codeartifact": "CodeArtifact",
        "dynamodb": "DynamoDB",
        "ec2": "EC2",
        "iam": "IAM",
        "kms": "KMS",
        "logs": "CloudWatch Logs",
    }.get(service, service)


def value_problems(value: Any, ref: str) -> list[str]:
    """Why the API field ``ref`` would refuse ``value`` (empty: it accepts it)."""
    return _problems(value, shape(ref), f"{_service_name(ref)}'s {ref.split('.', 1)[1]}")


def _problems(value: Any, rule: Mapping[str, Any], where: str) -> list[str]:
    if rule["type"] == "list":
        items = list(value)
        found = []
        if "max" in rule and len(items) > rule["max"]:
            found.append(f"{len(items)} given; {where} takes at most {rule['max']}")
        if "min" in rule and len(items) < rule["min"]:
            found.append(f"{len(items)} given; {where} takes at least {rule['min']}")
        return found + [p for item in items for p in _problems(item, rule["member"], f"each of {where}")]
    text = str(value)
    if "enum" in rule and text not in rule["enum"]:
        near = difflib.get_close_matches(text, rule["enum"], n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else f" ({len(rule['enum'])} values)"
        return [f"{text!r} is not one of {where}{hint}"]
    found = []
    if "max" in rule and len(text) > rule["max"]:
        found.append(f"{text!r} is {len(text)} characters; {where} takes at most {rule['max']}")
    if "min" in rule and len(text) < rule["min"]:
        found.append(f"{text!r} is {len(text)} characters; {where} takes at least {rule['min']}")
    if "pattern" in rule and not fullmatch(rule["pattern"], text):
        found.append(f"{text!r} does not match {where} pattern {rule['pattern']}")
    return found


def tag_problems(key: str, value: str) -> list[str]:
    """Why a service the stacks tag would refuse this tag: one message per rule broken, naming
    the services whose models have that rule."""
    found: dict[str, list[str]] = {}
    if key.lower().startswith("aws:"):
        found["keys starting with 'aws:' are reserved for AWS"] = []
    for service, rules in constraints()["tags"].items():
        name = _service_name(service)
        for part, text in (("key", key), ("value", value)):
            rule = rules[part]
            if "max" in rule and len(text) > rule["max"]:
                found.setdefault(f"{part} is {len(text)} characters, more than {rule['max']}", []).append(name)
            if "min" in rule and len(text) < rule["min"]:
                found.setdefault(f"{part} is empty", []).append(name)
            if "pattern" in rule and not fullmatch(rule["pattern"], text):
                bad = sorted({c for c in text if not fullmatch(rule["pattern"], c)})
                shown = f" ({' '.join(repr(c) for c in bad)})" if bad else ""
                found.setdefault(
                    f"{part} {text!r} has characters tags may not hold{shown}: letters, digits, "
                    "spaces and _ . : / = + - @ only",
                    [],
                ).append(name)
    return [
        f"{message} ({', '.join(services)} refuse it)" if services else message for message, services in found.items()
    ]


# --------------------------------------------------------------------------- regions


def partition_of(region: str) -> str | None:
    for name, partition in constraints()["partitions"].items():
        if region in partition["regions"]:
            return name
    return None


def regions(partition: str = "aws") -> tuple[str, ...]:
    return tuple(constraints()["partitions"][partition]["regions"])


def supported_regions() -> tuple[str, ...]:
    """The regions the stacks can be deployed to: those offering every service they need."""
    return tuple(
        sorted(
            region
            for partition in constraints()["partitions"].values()
            for region in partition["regions"]
            if all(region in partition["services"].get(service, []) for service in REQUIRED_SERVICES)
        )
    )


def region_problems(region: str, endpoints: Sequence[str]) -> list[str]:
    """Why the stacks cannot be deployed to ``region`` with these interface endpoints."""
    name = partition_of(region)
    version = constraints()["botocore"]
    if name is None:
        known = [r for p in constraints()["partitions"].values() for r in p["regions"]]
        near = difflib.get_close_matches(region, known, n=2)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        return [f"{region!r} is not a region of any AWS partition (botocore {version}){hint}"]
    offered = constraints()["partitions"][name]["services"]
    lacking = [(service, what) for service, what in REQUIRED_SERVICES.items() if region not in offered.get(service, [])]
    # The way out: a region of the same partition that has every service the stacks need; the
    # endpoint data is botocore's, so a service AWS launched since needs the newer botocore.
    elsewhere = [r for r in supported_regions() if partition_of(r) == name]
    way_out = (
        f"; way out: deploy to a region of {name} that has every service the stacks need ({', '.join(elsewhere)})"
        if elsewhere
        else f"; no region of {name} has every service the stacks need"
    )
    way_out += (
        f"; if AWS has launched it in {region} since, upgrade botocore in Pipfile.lock and run "
        "`python -m isolated_studio.config.aws_constraints`"
    )
    found = [
        f"{region} has no {what} (botocore {version} endpoint data); the stacks need it{way_out}"
        for service, what in lacking
    ]
    missing = [
        e
        for e in endpoints
        if ENDPOINT_DATA_SERVICE.get(e)
        and region not in offered.get(ENDPOINT_DATA_SERVICE[e], [])
        and ENDPOINT_DATA_SERVICE[e] not in REQUIRED_SERVICES
    ]
    if missing:
        found.append(
            f"{region} does not offer {', '.join(missing)} (botocore {version} endpoint data): "
            "remove them from network.interface_endpoints or choose another region"
        )
    return found


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m isolated_studio.config.aws_constraints",
        description=f"write {DATA_PATH.name} from the installed botocore",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs instead of writing it")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        same = DATA_PATH.exists() and DATA_PATH.read_text() == text
        print(f"{DATA_PATH}: {'current' if same else 'differs from the installed botocore'}")
        return 0 if same else 1
    DATA_PATH.write_text(text)
    print(f"wrote {DATA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
