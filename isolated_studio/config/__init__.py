"""Typed, validated configuration for one environment.

An environment is a TOML file under ``config/`` (``config/dev.toml``, ...), chosen by
``STUDIO_ENV`` (default ``dev``) or named directly by ``STUDIO_CONFIG``. The region is
``project.region`` when the file pins one; otherwise it comes from ``AWS_REGION`` (then
``AWS_DEFAULT_REGION``, default ``us-west-2`` as in the seed), so that the same file can be
deployed to several regions: the region is part of every state key and of the bootstrap
state path, so two regions never share state.

Every setting is declared once, in isolated_studio/config/model.py (type, default,
constraint, description); config/schema.json and docs/configuration.md's table are written
from those declarations (``make schema``). Validation collects *every* problem, each with
its key path, into one :class:`ConfigError` before any Terraform is written: a platform
engineer fixing a config file wants the whole list at once, not one error per ``make synth``.
A key the declarations do not know is a problem too, with the nearest valid key suggested:
a typo must never silently keep a default.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ValidationError

from isolated_studio.base.terraform import decide_provider_mirror
from isolated_studio.config import aws_constraints
from isolated_studio.config.model import (
    PROBLEM,
    SECTIONS,
    ConfigFile,
    Derived,
    EmulatorConfig,
    NetworkConfig,
    ProjectConfig,
    StateConfig,
    StudioConfig,
    TerraformConfig,
    WorkloadConfig,
)
from isolated_studio.config.rules import (
    ACCOUNT_ID_RE,
    CONFIG_DIR,
    DEFAULT_ENV,
    DEFAULT_INTERFACE_ENDPOINTS,
    DEFAULT_REGION,
    EMULATOR_CREDENTIAL,
    EMULATOR_PLAN_ONLY_VARIABLE,
    ENDPOINT_SERVICES,
    IAM_MODES,
    INSTANCE_TYPES_DEFAULT,
    LOCK_MODES,
    LOG_RETENTION_DAYS,
    MLFLOW_SIZES,
    PROFILE_PATTERN,
    PROJECT_ROOT,
    TRAFFIC_TYPES,
    bucket_name_problem,
    carve_subnets,
    studio_image_region_problems,
    zone_id_prefix,
)

__all__ = [
    "ACCOUNT_ID_RE",
    "PROFILE_PATTERN",
    "TRAFFIC_TYPES",
    "CONFIG_DIR",
    "DEFAULT_ENV",
    "DEFAULT_INTERFACE_ENDPOINTS",
    "DEFAULT_REGION",
    "EMULATOR_CREDENTIAL",
    "EMULATOR_PLAN_ONLY_VARIABLE",
    "ENDPOINT_SERVICES",
    "IAM_MODES",
    "INSTANCE_TYPES_DEFAULT",
    "LOCK_MODES",
    "LOG_RETENTION_DAYS",
    "MLFLOW_SIZES",
    "PROJECT_ROOT",
    "ConfigError",
    "ConfigFile",
    "EmulatorConfig",
    "NetworkConfig",
    "ProjectConfig",
    "StateConfig",
    "StudioConfig",
    "TerraformConfig",
    "WorkloadConfig",
    "bucket_name_problem",
    "carve_subnets",
    "config_path",
    "load_config",
    "parse_config",
]


class ConfigError(ValueError):
    """Every problem found in one configuration, reported together."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{source}: {len(self.problems)} configuration {noun}; nothing was synthesized:\n{lines}")


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
    problems = [_unknown_key((key,)) for key in raw if key not in ConfigFile.model_fields]
    document = {key: _copy(value) for key, value in raw.items() if key in ConfigFile.model_fields}
    for name in SECTIONS:
        document.setdefault(name, {})
    project = document["project"] if isinstance(document["project"], dict) else {}

    # The shell chooses the region, the emulator and the provider mirror of a run.
    pinned = project.get("region")
    region, region_source = _region(pinned if isinstance(pinned, str) else "", env)
    if env.get("STUDIO_EMULATOR_ENDPOINT") and "emulator" not in raw:
        # Emulator mode skips the account check and keeps its bootstrap state apart: only a
        # configuration written for the emulator may switch to it.
        problems.append(
            f"STUDIO_EMULATOR_ENDPOINT is set, but this configuration "
            f"({project.get('environment', default_environment)!r}) has no [emulator] section: emulator mode is "
            "only for configurations written for it; unset STUDIO_EMULATOR_ENDPOINT, or use STUDIO_ENV=emulator"
        )
    else:  # refused, the endpoint is not applied: checks of emulator mode would only repeat the refusal
        _override(document, "emulator", "endpoint", env.get("STUDIO_EMULATOR_ENDPOINT"))
    state = document["state"] if isinstance(document["state"], dict) else {}
    if "emulator" in raw and "bootstrap_state_path" not in state and isinstance(document["state"], dict):
        environment = project.get("environment", default_environment)
        state["bootstrap_state_path"] = f"{EMULATOR_STATE_DIR}/{environment}/state.tfstate"
    # The one decision of the mirror (env, this file, the usual places), for every caller.
    configured = document["terraform"].get("provider_mirror") if isinstance(document["terraform"], dict) else 0
    if configured is None or isinstance(configured, str):  # anything else is reported by validation
        mirror = decide_provider_mirror(env, configured)
        if mirror:
            document["terraform"]["provider_mirror"] = mirror
        else:
            document["terraform"].pop("provider_mirror", None)
    derived = _fill_derived(
        document,
        {
            "file_stem": default_environment,
            "name_prefix": project.get("name_prefix", ""),
            "environment": project.get("environment", default_environment),
            "account_id": project.get("account_id") or None,
            "region": region,
        },
    )
    if isinstance(state.get("bucket"), str):
        # "{region}" in the name: one file can deploy to several regions (S3 names are global).
        state["bucket"] = state["bucket"].replace("{region}", region)
    try:
        config = StudioConfig.model_validate(
            {
                **document,
                "region": region,
                "region_source": region_source,
                "source": source,
                "defaulted": frozenset(f"{s}.{k}" for s, k in derived),
            }
        )
        problems += _emulator_state_problems(config) + _regional_problems(config)
    except ValidationError as exc:
        errors = exc.errors()
        # A default derived from a bad project setting or region repeats that problem, and so
        # does the region's own check when project.region pinned it: each is reported once.
        repeats = derived | ({("region",)} if region_source == "project.region" else set())
        if any(e["loc"][:1] in (("project",), ("region",)) for e in errors):
            errors = [e for e in errors if e["loc"][0] == "project" or tuple(e["loc"][:2]) not in repeats]
        problems += [line for error in errors for line in _describe(error)]
    if problems:
        raise ConfigError(source, problems)
    return config


EMULATOR_STATE_DIR = PurePosixPath("terraform-state/emulator")


def _region(pinned: str, env: Mapping[str, str]) -> tuple[str, str]:
    """The region and where it came from: a pinned ``project.region`` wins over the shell."""
    if pinned:
        return pinned, "project.region"
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if env.get(variable):
            return env[variable], variable
    return DEFAULT_REGION, "default"


def _emulator_state_problems(config: StudioConfig) -> list[str]:
    """The emulator's bootstrap state lives apart from every real environment's, so that an
    emulator run can never write over the local state of a real state bucket."""
    path = config.state.bootstrap_state_path
    emulated = PurePosixPath(path).parts[:2] == EMULATOR_STATE_DIR.parts
    if config.emulator.enabled and not emulated:
        return [
            f"state.bootstrap_state_path: {path!r} must be under {EMULATOR_STATE_DIR}/ in emulator mode "
            "(apart from every real environment's state)"
        ]
    if not config.emulator.enabled and emulated:
        return [
            f"state.bootstrap_state_path: {path!r} is under {EMULATOR_STATE_DIR}/, which is the emulator's; "
            "a real environment keeps its bootstrap state elsewhere"
        ]
    return []


def _regional_problems(config: StudioConfig) -> list[str]:
    """What the region must offer for these settings: each interface endpoint's service
    (botocore's endpoint data), the zones pinned by ID must be the region's, and the Studio
    image must have an ARN there that SageMaker accepts."""
    found = [
        f"network.interface_endpoints: {p}"
        for p in aws_constraints.region_problems(config.region, config.network.interface_endpoints)
        if "does not offer" in p
    ]
    prefix = zone_id_prefix(config.region)
    found += [
        f"network.availability_zone_ids: {az!r} is not a zone of {config.region} (its zone IDs start with {prefix}-)"
        for az in config.network.availability_zone_ids
        if prefix and not az.startswith(prefix + "-az")
    ]
    found += [
        f"workload.studio_image_arn: {p}"
        for p in studio_image_region_problems(config.region, config.workload.studio_image_arn)
    ]
    return found


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _override(document: dict[str, Any], section: str, key: str, value: str | None) -> None:
    if value and isinstance(document[section], dict):
        document[section][key] = value


def _fill_derived(document: dict[str, Any], values: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Set every unset setting with a Derived default; return where it did."""
    filled = set()
    for name, model in SECTIONS.items():
        section = document[name]
        if not isinstance(section, dict):
            continue
        for key, field in model.model_fields.items():
            rule = next((m for m in field.metadata if isinstance(m, Derived)), None)
            if rule is not None and key not in section:
                section[key] = rule.compute(values)
                filled.add((name, key))
    return filled


# --------------------------------------------------------------------------- messages

_KINDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "tuple_type": "a list of strings",
    "list_type": "a list of strings",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (a key)"
        else:
            out += f".{part}" if out else str(part)
    return out


def _field(loc: tuple):
    """The declaration of the setting at ``loc`` (None for list items and unknown keys)."""
    model: type[BaseModel] | None = StudioConfig
    field = None
    for part in loc:
        if not isinstance(part, str) or model is None or part not in model.model_fields:
            return None
        field = model.model_fields[part]
        annotation = field.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return field


def _describe(error: Mapping[str, Any]) -> list[str]:
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    path = _path(loc)
    if kind == PROBLEM:
        return [f"{p[0]}: {p[1]}" if isinstance(p, tuple) else f"{path}: {p}" for p in error["ctx"]["problems"]]
    if kind == "extra_forbidden":
        return [_unknown_key(loc)]
    if kind == "missing":
        field = _field(loc)
        why = f" ({field.description.rstrip('.')})" if field is not None and field.description else ""
        return [f"{path}: must be set{why}"]
    if kind == "literal_error":
        field = _field(loc)
        choices = list(typing.get_args(field.annotation)) if field is not None else error["ctx"]["expected"]
        return [f"{path}: {value!r} must be one of {choices}"]
    if kind in _KINDS:
        return [f"{path}: must be {_KINDS[kind]}, got {value!r}"]
    return [f"{path}: {error['msg']}"]


#: Settings that were removed, with what to use instead.
REMOVED: dict[tuple[str, ...], str] = {
    ("network", "availability_zones"): (
        "AZ letters are gone: the letter b names a different zone in every account, and new accounts in "
        "ap-northeast-1 or ca-central-1 have none; unset, the stacks use the zones the account has available "
        "(read at plan time); to pin zones, give their IDs in network.availability_zone_ids (e.g. "
        '["use1-az4", "use1-az6"]; `aws ec2 describe-availability-zones` lists each zone\'s ZoneId)'
    ),
}


def _unknown_key(loc: tuple) -> str:
    """A key no declaration knows, with the nearest one suggested."""
    *parents, key = (str(part) for part in loc)
    if tuple(parents + [key]) in REMOVED:
        return f"{'.'.join((*parents, key))}: {REMOVED[tuple(parents + [key])]}"
    if not parents:
        sections = [name for name in ConfigFile.model_fields]
        homes = [name for name, model in SECTIONS.items() if key in model.model_fields]
        if homes:
            return f"{key}: not a section; did you mean {homes[0]}.{key} (under [{homes[0]}])?"
        near = difflib.get_close_matches(key, sections, n=1, cutoff=0.6)
        hint = f"; did you mean [{near[0]}]?" if near else ""
        return f"{key}: unknown section{hint} (expected one of {sorted(sections)})"
    model = SECTIONS.get(parents[0])
    known = list(model.model_fields) if model is not None else []
    path = ".".join((*parents, key))
    near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if near:
        return f"{path}: unknown key; did you mean {'.'.join((*parents, near[0]))!r}?"
    homes = [name for name, other in SECTIONS.items() if key in other.model_fields]
    if homes:
        return f"{path}: unknown key; {key!r} belongs in [{homes[0]}] ({homes[0]}.{key})"
    return f"{path}: unknown key (known: {', '.join(known)})"
