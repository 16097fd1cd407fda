"""Typed, validated configuration for one environment.

An environment is a TOML file under ``config/`` (``config/dev.toml``, ...), chosen by
``STUDIO_ENV`` (default ``dev``) or named directly by ``STUDIO_CONFIG``. The region comes
from ``AWS_REGION`` (default ``us-west-2``, as in the seed) so that the same file can be
deployed to several regions.

Validation collects *every* problem into one :class:`ConfigError` before any Terraform is
written: a platform engineer fixing a config file wants the whole list at once, not one
error per ``make synth``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULT_ENV = "dev"
DEFAULT_REGION = "us-west-2"

# Interface endpoints Studio in VpcOnly mode can use. The value is the service name
# template; "experiments" (SageMaker managed MLflow) lives under a different namespace.
ENDPOINT_SERVICES: dict[str, str] = {
    "sagemaker.api": "com.amazonaws.{region}.sagemaker.api",
    "sagemaker.runtime": "com.amazonaws.{region}.sagemaker.runtime",
    "experiments": "aws.sagemaker.{region}.experiments",
    "codeartifact.api": "com.amazonaws.{region}.codeartifact.api",
    "codeartifact.repositories": "com.amazonaws.{region}.codeartifact.repositories",
    "sts": "com.amazonaws.{region}.sts",
    "ecr.api": "com.amazonaws.{region}.ecr.api",
    "ecr.dkr": "com.amazonaws.{region}.ecr.dkr",
    "logs": "com.amazonaws.{region}.logs",
    "monitoring": "com.amazonaws.{region}.monitoring",
    "ec2": "com.amazonaws.{region}.ec2",
    "kms": "com.amazonaws.{region}.kms",
    "ssm": "com.amazonaws.{region}.ssm",
    "sagemaker.featurestore-runtime": "com.amazonaws.{region}.sagemaker.featurestore-runtime",
    "servicecatalog": "com.amazonaws.{region}.servicecatalog",
    "elasticfilesystem": "com.amazonaws.{region}.elasticfilesystem",
    "s3": "com.amazonaws.{region}.s3",
}

# The seed's list (../shared/seed/FACTS.md): what Studio, MLflow, @remote jobs and pip need.
DEFAULT_INTERFACE_ENDPOINTS: tuple[str, ...] = (
    "sagemaker.api",
    "sagemaker.runtime",
    "experiments",
    "codeartifact.api",
    "codeartifact.repositories",
    "sts",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "monitoring",
    "ec2",
)

# CloudWatch Logs accepts only these retention values.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
     2557, 2922, 3288, 3653}
)
LOCK_MODES = ("dynamodb", "lockfile", "both")
IAM_MODES = ("managed", "least-privilege")
MLFLOW_SIZES = ("Small", "Medium", "Large")
INSTANCE_TYPES_DEFAULT = "ml.t3.medium"

_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_STATE_KEY_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]{1,512}$")
_TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$")
_PROFILE_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_MLFLOW_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_MLFLOW_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?$")
_MAINT_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):[0-5]\d$")
_CA_DOMAIN_RE = re.compile(r"^[a-z][a-z0-9-]{0,48}[a-z0-9]$")
_CA_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$")
_S3_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]{1,200}$")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


class ConfigError(ValueError):
    """Every problem found in one configuration, reported together."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(
            f"{source}: {len(self.problems)} configuration {noun}; nothing was synthesized:\n{lines}"
        )


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class NetworkConfig:
    vpc_cidr: str = "10.10.0.0/16"
    az_count: int = 2
    # AZ suffixes ("a", "b", ...) appended to the region; empty means the first az_count letters.
    availability_zones: tuple[str, ...] = ()
    subnet_prefix_length: int = 24
    # Explicit subnet CIDRs (one per AZ); empty means carved from the VPC CIDR in order.
    subnet_cidrs: tuple[str, ...] = ()
    interface_endpoints: tuple[str, ...] = DEFAULT_INTERFACE_ENDPOINTS
    flow_log_retention_days: int = 365
    flow_log_traffic_type: str = "ALL"


@dataclass(frozen=True)
class StateConfig:
    bucket: str = ""
    lock_table: str = ""
    key_prefix: str = ""
    # "dynamodb" (default), "lockfile" (S3 native locking, Terraform >= 1.10) or "both".
    locking: str = "dynamodb"
    # prevent_destroy and deletion protection on the state bucket, table and key.
    protect: bool = True
    # Where the bootstrap stack keeps its own (local) state, relative to the project root.
    bootstrap_state_path: str = ""


@dataclass(frozen=True)
class WorkloadConfig:
    iam_mode: str = "managed"
    user_profiles: tuple[str, ...] = ("data-scientist",)
    # Buckets are emptied on destroy only when an environment says so (dev).
    force_destroy_buckets: bool = False
    retain_home_efs: bool = False
    docker_trusted_accounts: tuple[str, ...] = ()
    jupyterlab_instance_type: str = INSTANCE_TYPES_DEFAULT
    attach_lifecycle_config: bool = True
    noncurrent_version_expiration_days: int = 90
    mlflow_server_name: str = ""
    mlflow_size: str = "Small"
    mlflow_version: str = "2.16"
    mlflow_artifact_prefix: str = "mlflow"
    mlflow_automatic_model_registration: bool = True
    mlflow_maintenance_window: str = "Sun:03:00"
    codeartifact_domain: str = ""
    codeartifact_repository: str = "pip"
    codeartifact_upstream_repository: str = "pypi-store"
    data_file: str = ""
    data_prefix: str = "data"
    notebooks_prefix: str = "lab"


@dataclass(frozen=True)
class EmulatorConfig:
    """Point the provider and the S3 backend at a local AWS emulator (moto)."""

    endpoint: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.endpoint)


@dataclass(frozen=True)
class StudioConfig:
    """Everything that differs between environments, in one typed object."""

    environment: str
    name_prefix: str
    region: str
    account_id: str | None
    tags: Mapping[str, str]
    network: NetworkConfig
    state: StateConfig
    workload: WorkloadConfig
    emulator: EmulatorConfig
    provider_mirror: str | None
    source: str = "<memory>"

    # Derived values live here so that every stack computes them the same way.
    @property
    def availability_zones(self) -> tuple[str, ...]:
        letters = self.network.availability_zones or tuple(
            "abcdefghijklmnop"[: self.network.az_count]
        )
        return tuple(f"{self.region}{letter}" for letter in letters)

    @property
    def subnet_cidrs(self) -> tuple[str, ...]:
        return self.network.subnet_cidrs or carve_subnets(
            self.network.vpc_cidr, self.network.subnet_prefix_length, self.network.az_count
        )

    def endpoint_service_name(self, short_name: str) -> str:
        return ENDPOINT_SERVICES[short_name].format(region=self.region)

    def state_key(self, stack: str) -> str:
        return f"{self.state.key_prefix}/{stack}.tfstate"

    @property
    def mlflow_server_name(self) -> str:
        return self.workload.mlflow_server_name or f"{self.name_prefix}-mlflow"

    @property
    def codeartifact_domain(self) -> str:
        return self.workload.codeartifact_domain or self.name_prefix


def carve_subnets(vpc_cidr: str, prefix_length: int, count: int) -> tuple[str, ...]:
    network = ipaddress.ip_network(vpc_cidr)
    subnets = network.subnets(new_prefix=prefix_length)
    return tuple(str(next(subnets)) for _ in range(count))


# --------------------------------------------------------------------------- loading


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("STUDIO_CONFIG"):
        return Path(env["STUDIO_CONFIG"])
    name = env.get("STUDIO_ENV") or DEFAULT_ENV
    return CONFIG_DIR / f"{name}.toml"


def load_config(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> StudioConfig:
    """Read, parse and validate one environment's file; raise ConfigError with every problem."""
    env = os.environ if env is None else env
    path = Path(path) if path is not None else config_path(env)
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))) or "none"
        raise ConfigError(str(path), [f"configuration file not found (environments: {available})"])
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_config(raw, env=env, source=str(path), default_environment=path.stem)


def parse_config(
    raw: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    source: str = "<memory>",
    default_environment: str = DEFAULT_ENV,
) -> StudioConfig:
    env = os.environ if env is None else env
    reader = _Reader(raw)
    project = reader.table("project")
    environment = reader.str(project, "project.environment", default_environment)
    prefix = reader.str(project, "project.name_prefix", "")
    account = reader.str(project, "project.account_id", "") or None
    region = env.get("AWS_REGION") or reader.str(project, "project.region", "") or DEFAULT_REGION
    tags = reader.str_map(reader.table("tags"), "tags")

    net = reader.table("network")
    network = NetworkConfig(
        vpc_cidr=reader.str(net, "network.vpc_cidr", NetworkConfig.vpc_cidr),
        az_count=reader.int(net, "network.az_count", NetworkConfig.az_count),
        availability_zones=reader.str_list(net, "network.availability_zones", ()),
        subnet_prefix_length=reader.int(net, "network.subnet_prefix_length", NetworkConfig.subnet_prefix_length),
        subnet_cidrs=reader.str_list(net, "network.subnet_cidrs", ()),
        interface_endpoints=reader.str_list(net, "network.interface_endpoints", DEFAULT_INTERFACE_ENDPOINTS),
        flow_log_retention_days=reader.int(net, "network.flow_log_retention_days", NetworkConfig.flow_log_retention_days),
        flow_log_traffic_type=reader.str(net, "network.flow_log_traffic_type", NetworkConfig.flow_log_traffic_type),
    )
    st = reader.table("state")
    state = StateConfig(
        bucket=reader.str(st, "state.bucket", f"{prefix}-tfstate"),
        lock_table=reader.str(st, "state.lock_table", f"{prefix}-tflock"),
        key_prefix=reader.str(st, "state.key_prefix", f"isolated-studio/{environment}"),
        locking=reader.str(st, "state.locking", StateConfig.locking),
        protect=reader.bool(st, "state.protect", StateConfig.protect),
        bootstrap_state_path=reader.str(st, "state.bootstrap_state_path", f"terraform-state/{environment}/state.tfstate"),
    )
    wl = reader.table("workload")
    d = WorkloadConfig
    workload = WorkloadConfig(
        iam_mode=reader.str(wl, "workload.iam_mode", d.iam_mode),
        user_profiles=reader.str_list(wl, "workload.user_profiles", d.user_profiles),
        force_destroy_buckets=reader.bool(wl, "workload.force_destroy_buckets", d.force_destroy_buckets),
        retain_home_efs=reader.bool(wl, "workload.retain_home_efs", d.retain_home_efs),
        docker_trusted_accounts=reader.str_list(wl, "workload.docker_trusted_accounts", ()),
        jupyterlab_instance_type=reader.str(wl, "workload.jupyterlab_instance_type", d.jupyterlab_instance_type),
        attach_lifecycle_config=reader.bool(wl, "workload.attach_lifecycle_config", d.attach_lifecycle_config),
        noncurrent_version_expiration_days=reader.int(wl, "workload.noncurrent_version_expiration_days", d.noncurrent_version_expiration_days),
        mlflow_server_name=reader.str(wl, "workload.mlflow_server_name", ""),
        mlflow_size=reader.str(wl, "workload.mlflow_size", d.mlflow_size),
        mlflow_version=reader.str(wl, "workload.mlflow_version", d.mlflow_version),
        mlflow_artifact_prefix=reader.str(wl, "workload.mlflow_artifact_prefix", d.mlflow_artifact_prefix),
        mlflow_automatic_model_registration=reader.bool(wl, "workload.mlflow_automatic_model_registration", d.mlflow_automatic_model_registration),
        mlflow_maintenance_window=reader.str(wl, "workload.mlflow_maintenance_window", d.mlflow_maintenance_window),
        codeartifact_domain=reader.str(wl, "workload.codeartifact_domain", ""),
        codeartifact_repository=reader.str(wl, "workload.codeartifact_repository", d.codeartifact_repository),
        codeartifact_upstream_repository=reader.str(wl, "workload.codeartifact_upstream_repository", d.codeartifact_upstream_repository),
        data_file=reader.str(wl, "workload.data_file", ""),
        data_prefix=reader.str(wl, "workload.data_prefix", d.data_prefix),
        notebooks_prefix=reader.str(wl, "workload.notebooks_prefix", d.notebooks_prefix),
    )
    emu = reader.table("emulator")
    emulator = EmulatorConfig(
        endpoint=env.get("STUDIO_EMULATOR_ENDPOINT") or reader.str(emu, "emulator.endpoint", ""),
    )
    tf = reader.table("terraform")
    mirror = env.get("STUDIO_PROVIDER_MIRROR") or reader.str(tf, "terraform.provider_mirror", "") or None

    config = StudioConfig(
        environment=environment,
        name_prefix=prefix,
        region=region,
        account_id=account,
        tags=tags,
        network=network,
        state=state,
        workload=workload,
        emulator=emulator,
        provider_mirror=mirror,
        source=source,
    )
    problems = reader.problems + validate(config)
    if problems:
        raise ConfigError(source, problems)
    return config


class _Reader:
    """Type-checked access to the raw TOML that records problems instead of raising."""

    _SECTIONS = {"project", "tags", "network", "state", "workload", "emulator", "terraform"}

    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw
        self.problems: list[str] = []
        self._known: dict[str, set[str]] = {}
        for key in raw:
            if key not in self._SECTIONS:
                self.problems.append(f"{key}: unknown section (expected one of {sorted(self._SECTIONS)})")

    def table(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name, {})
        if not isinstance(value, Mapping):
            self.problems.append(f"{name}: must be a table")
            return {}
        return value

    def _get(self, table: Mapping[str, Any], dotted: str, default: Any, kinds: tuple[type, ...], kind_name: str) -> Any:
        section, _, key = dotted.rpartition(".")
        self._known.setdefault(section, set()).add(key)
        if key not in table:
            return default
        value = table[key]
        # bool is an int in Python; a boolean where a number is expected is a mistake.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            self.problems.append(f"{dotted}: must be {kind_name}, got {value!r}")
            return default
        return value

    def str(self, table: Mapping[str, Any], dotted: str, default: str) -> str:
        return self._get(table, dotted, default, (str,), "a string")

    def int(self, table: Mapping[str, Any], dotted: str, default: int) -> int:
        return self._get(table, dotted, default, (int,), "an integer")

    def bool(self, table: Mapping[str, Any], dotted: str, default: bool) -> bool:
        return self._get(table, dotted, default, (bool,), "true or false")

    def str_list(self, table: Mapping[str, Any], dotted: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(table, dotted, default, (list, tuple), "a list of strings")
        if not all(isinstance(v, str) for v in value):
            self.problems.append(f"{dotted}: must be a list of strings, got {value!r}")
            return default
        return tuple(value)

    def str_map(self, table: Mapping[str, Any], name: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in table.items():
            if not isinstance(value, str):
                self.problems.append(f"{name}.{key}: must be a string, got {value!r}")
            else:
                out[key] = value
        return out


# --------------------------------------------------------------------------- validation


def validate(c: StudioConfig) -> list[str]:
    """Return every problem with the configuration (empty when it is valid)."""
    problems: list[str] = []
    add = problems.append

    if not c.name_prefix:
        add("project.name_prefix: must not be empty (it names every resource)")
    elif not _PREFIX_RE.match(c.name_prefix) or "--" in c.name_prefix:
        add(
            f"project.name_prefix: {c.name_prefix!r} must be 3-24 characters of lowercase letters, "
            "digits and single hyphens, starting with a letter (it becomes part of bucket, role and domain names)"
        )
    if not re.match(r"^[a-z][a-z0-9-]{0,15}$", c.environment):
        add(f"project.environment: {c.environment!r} must be 1-16 lowercase letters, digits or hyphens")
    if not _REGION_RE.match(c.region):
        add(f"region: {c.region!r} (from AWS_REGION or project.region) is not an AWS region name like us-west-2")
    if c.account_id is not None and not _ACCOUNT_RE.match(c.account_id):
        add(f"project.account_id: {c.account_id!r} must be 12 digits")
    for key, value in c.tags.items():
        if not _TAG_KEY_RE.match(key) or key.lower().startswith("aws:"):
            add(f"tags.{key}: not a valid tag key (1-128 characters, no 'aws:' prefix)")
        if len(value) > 256:
            add(f"tags.{key}: value longer than 256 characters")

    problems += _validate_network(c)
    problems += _validate_state(c)
    problems += _validate_workload(c)

    if c.emulator.endpoint and not re.match(r"^https?://[^/\s]+/?$", c.emulator.endpoint):
        add(f"emulator.endpoint: {c.emulator.endpoint!r} must be an http(s) URL like http://127.0.0.1:5000")
    if c.provider_mirror and not Path(c.provider_mirror).is_dir():
        add(f"terraform.provider_mirror / STUDIO_PROVIDER_MIRROR: {c.provider_mirror!r} is not a directory")
    return problems


def _validate_network(c: StudioConfig) -> list[str]:
    problems: list[str] = []
    add = problems.append
    n = c.network
    vpc = None
    try:
        vpc = ipaddress.ip_network(n.vpc_cidr, strict=True)
    except ValueError as exc:
        add(f"network.vpc_cidr: {n.vpc_cidr!r} is not a valid IPv4 network CIDR ({exc})")
    if vpc is not None:
        if vpc.version != 4:
            add(f"network.vpc_cidr: {n.vpc_cidr!r} must be IPv4")
            vpc = None
        elif not 16 <= vpc.prefixlen <= 28:
            add(f"network.vpc_cidr: {n.vpc_cidr!r} prefix must be between /16 and /28 (AWS VPC limits)")
            vpc = None
        elif not any(vpc.subnet_of(r) for r in _RFC1918):
            add(f"network.vpc_cidr: {n.vpc_cidr!r} must be inside a private range (10/8, 172.16/12, 192.168/16)")
    if n.az_count < 2:
        add(f"network.az_count: {n.az_count} is fewer than 2; a SageMaker domain needs subnets in at least two AZs")
    elif n.az_count > 6:
        add(f"network.az_count: {n.az_count} is more than 6")
    if n.availability_zones:
        if len(n.availability_zones) != n.az_count:
            add(f"network.availability_zones: {len(n.availability_zones)} given but az_count is {n.az_count}")
        for az in n.availability_zones:
            if not re.match(r"^[a-z]$", az):
                add(f"network.availability_zones: {az!r} must be a single AZ letter such as 'a'")
        if len(set(n.availability_zones)) != len(n.availability_zones):
            add("network.availability_zones: contains duplicates")
    if not 16 <= n.subnet_prefix_length <= 28:
        add(f"network.subnet_prefix_length: /{n.subnet_prefix_length} must be between /16 and /28")
    elif vpc is not None and not n.subnet_cidrs:
        if n.subnet_prefix_length < vpc.prefixlen:
            add(f"network.subnet_prefix_length: /{n.subnet_prefix_length} is larger than the VPC {n.vpc_cidr}")
        elif 2 ** (n.subnet_prefix_length - vpc.prefixlen) < n.az_count:
            add(
                f"network.subnet_prefix_length: {n.az_count} subnets of /{n.subnet_prefix_length} "
                f"do not fit in {n.vpc_cidr}"
            )
    if n.subnet_cidrs:
        if len(n.subnet_cidrs) != n.az_count:
            add(f"network.subnet_cidrs: {len(n.subnet_cidrs)} given but az_count is {n.az_count}")
        parsed = []
        for cidr in n.subnet_cidrs:
            try:
                sub = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                add(f"network.subnet_cidrs: {cidr!r} is not a valid IPv4 network CIDR ({exc})")
                continue
            if not 16 <= sub.prefixlen <= 28:
                add(f"network.subnet_cidrs: {cidr} prefix must be between /16 and /28")
            if vpc is not None and (sub.version != 4 or not sub.subnet_of(vpc)):
                add(f"network.subnet_cidrs: {cidr} is not inside the VPC {n.vpc_cidr}")
            parsed.append(sub)
        for i, a in enumerate(parsed):
            for b in parsed[i + 1:]:
                if a.version == b.version and a.overlaps(b):
                    add(f"network.subnet_cidrs: {a} and {b} overlap")
    unknown = [e for e in n.interface_endpoints if e not in ENDPOINT_SERVICES]
    if unknown:
        add(f"network.interface_endpoints: unknown service(s) {unknown}; known: {sorted(ENDPOINT_SERVICES)}")
    if len(set(n.interface_endpoints)) != len(n.interface_endpoints):
        add("network.interface_endpoints: contains duplicates")
    for needed in ("sagemaker.api", "sagemaker.runtime", "sts"):
        if needed not in n.interface_endpoints:
            add(f"network.interface_endpoints: {needed!r} is required for Studio in VpcOnly mode")
    if n.flow_log_retention_days not in LOG_RETENTION_DAYS:
        add(
            f"network.flow_log_retention_days: {n.flow_log_retention_days} is not a CloudWatch Logs "
            f"retention value ({sorted(LOG_RETENTION_DAYS)})"
        )
    if n.flow_log_traffic_type not in ("ALL", "ACCEPT", "REJECT"):
        add(f"network.flow_log_traffic_type: {n.flow_log_traffic_type!r} must be ALL, ACCEPT or REJECT")
    return problems


def bucket_name_problem(name: str) -> str | None:
    """Why S3 would reject this bucket name, or None."""
    if not _BUCKET_RE.match(name):
        return "must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain adjacent dots or a dot next to a hyphen"
    if _IPV4_RE.match(name):
        return "must not look like an IP address"
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(("-s3alias", "--ol-s3", "--x-s3", ".mrap")):
        return "uses a prefix or suffix that S3 reserves"
    return None


def _validate_state(c: StudioConfig) -> list[str]:
    problems: list[str] = []
    s = c.state
    why = bucket_name_problem(s.bucket)
    if why:
        problems.append(f"state.bucket: {s.bucket!r} {why}")
    if not _TABLE_RE.match(s.lock_table):
        problems.append(f"state.lock_table: {s.lock_table!r} must be 3-255 characters of letters, digits, '_', '-' and '.'")
    if not _STATE_KEY_RE.match(s.key_prefix) or s.key_prefix.startswith("/") or s.key_prefix.endswith("/"):
        problems.append(f"state.key_prefix: {s.key_prefix!r} must be an S3 key prefix without leading or trailing '/'")
    if s.locking not in LOCK_MODES:
        problems.append(f"state.locking: {s.locking!r} must be one of {list(LOCK_MODES)}")
    if not s.bootstrap_state_path or Path(s.bootstrap_state_path).is_absolute() or ".." in Path(s.bootstrap_state_path).parts:
        problems.append(f"state.bootstrap_state_path: {s.bootstrap_state_path!r} must be a relative path inside the project")
    return problems


def _validate_workload(c: StudioConfig) -> list[str]:
    problems: list[str] = []
    add = problems.append
    w = c.workload
    if w.iam_mode not in IAM_MODES:
        add(f"workload.iam_mode: {w.iam_mode!r} must be one of {list(IAM_MODES)}")
    if not w.user_profiles:
        add("workload.user_profiles: at least one user profile is needed")
    for name in w.user_profiles:
        if not _PROFILE_RE.match(name):
            add(f"workload.user_profiles: {name!r} must be 1-63 letters, digits and hyphens, starting with a letter or digit")
    dupes = sorted({n for n in w.user_profiles if w.user_profiles.count(n) > 1})
    if dupes:
        add(f"workload.user_profiles: duplicate name(s) {dupes}")
    for account in w.docker_trusted_accounts:
        if not _ACCOUNT_RE.match(account):
            add(f"workload.docker_trusted_accounts: {account!r} must be a 12-digit account id")
    if not re.match(r"^ml\.[a-z0-9]+\.[a-z0-9]+$", w.jupyterlab_instance_type):
        add(f"workload.jupyterlab_instance_type: {w.jupyterlab_instance_type!r} is not a SageMaker instance type like ml.t3.medium")
    if not 1 <= w.noncurrent_version_expiration_days <= 3650:
        add("workload.noncurrent_version_expiration_days: must be between 1 and 3650")
    if not _MLFLOW_NAME_RE.match(c.mlflow_server_name):
        add(f"workload.mlflow_server_name: {c.mlflow_server_name!r} must be letters, digits and hyphens")
    if w.mlflow_size not in MLFLOW_SIZES:
        add(f"workload.mlflow_size: {w.mlflow_size!r} must be one of {list(MLFLOW_SIZES)}")
    if not _MLFLOW_VERSION_RE.match(w.mlflow_version):
        add(f"workload.mlflow_version: {w.mlflow_version!r} must look like 2.16 or 2.16.2")
    if not _MAINT_RE.match(w.mlflow_maintenance_window):
        add(f"workload.mlflow_maintenance_window: {w.mlflow_maintenance_window!r} must be Ddd:HH:MM in UTC, e.g. Sun:03:00")
    if not _S3_PREFIX_RE.match(w.mlflow_artifact_prefix) or w.mlflow_artifact_prefix.startswith("/"):
        add(f"workload.mlflow_artifact_prefix: {w.mlflow_artifact_prefix!r} is not a valid S3 key prefix")
    for key in ("data_prefix", "notebooks_prefix"):
        value = getattr(w, key)
        if not _S3_PREFIX_RE.match(value) or value.startswith("/") or value.endswith("/"):
            add(f"workload.{key}: {value!r} must be an S3 key prefix without leading or trailing '/'")
    if not _CA_DOMAIN_RE.match(c.codeartifact_domain):
        add(f"workload.codeartifact_domain: {c.codeartifact_domain!r} must be 2-50 lowercase letters, digits and hyphens, starting with a letter")
    for key in ("codeartifact_repository", "codeartifact_upstream_repository"):
        value = getattr(w, key)
        if not _CA_REPO_RE.match(value):
            add(f"workload.{key}: {value!r} must be 2-100 letters, digits, '.', '_' or '-'")
    if w.codeartifact_repository == w.codeartifact_upstream_repository:
        add("workload.codeartifact_upstream_repository: must differ from codeartifact_repository")
    if w.data_file:
        data = Path(w.data_file)
        data = data if data.is_absolute() else PROJECT_ROOT / data
        if not data.is_file():
            add(f"workload.data_file: {w.data_file!r} does not exist (run `make data` or download ai4i2020.csv)")
    return problems
