"""The lab's settings file: what Terraform knows, so that no notebook parameter is typed in.

At every JupyterLab start the lifecycle configuration writes
``~/.isolated-studio/settings.json`` from the deployed values (region,
account, CodeArtifact domain / owner / repository, tracking server ARN,
notebooks bucket, data object URI, KMS key, subnets, security group,
execution role; see ``stacks/workload.py``, ``lab_settings``). The notebook
fills every parameter left empty in its parameters cell from that file, so
it runs in Studio with no edit. Elsewhere (a laptop) the file is usually
absent and the parameters keep their local defaults; a hand-written file
with the same keys works too, and may add ``tracking_uri`` (an ``http(s)://``
MLflow server, which Terraform never writes) and a local path as
``data_uri``.

Pure standard library: the notebook reads the settings before the pinned
requirements are installed, and nothing here imports boto3.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pm_lab.errors import LabError

#: Relative to the user's home (the start script writes it there; modules/studio_domain.py).
SETTINGS_RELATIVE_PATH = Path(".isolated-studio") / "settings.json"
#: The Studio user's home in JupyterLab apps, used when HOME is not set.
STUDIO_HOME = Path("/home/sagemaker-user")
#: The local data file ``make data`` writes, seen from the notebook's folder.
LOCAL_DATA_PATH = "../data/ai4i2020.csv"
SCHEMA_VERSION = 1


class LabSettingsError(LabError, ValueError):
    """The settings file exists but cannot be used."""


@dataclass(frozen=True)
class LabSettings:
    """The settings file's values; every field may be empty in a hand-written file."""

    path: Path
    region: str = ""
    account_id: str = ""
    codeartifact_domain: str = ""
    codeartifact_domain_owner: str = ""
    codeartifact_repository: str = ""
    tracking_server_arn: str = ""
    tracking_uri: str = ""
    mlflow_version: str = ""
    notebooks_bucket: str = ""
    data_uri: str = ""
    remote_s3_root_uri: str = ""
    kms_key_arn: str = ""
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    execution_role_arn: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_STRING_KEYS = (
    "region",
    "account_id",
    "codeartifact_domain",
    "codeartifact_domain_owner",
    "codeartifact_repository",
    "tracking_server_arn",
    "tracking_uri",
    "mlflow_version",
    "notebooks_bucket",
    "data_uri",
    "remote_s3_root_uri",
    "kms_key_arn",
    "execution_role_arn",
)
_LIST_KEYS = ("subnet_ids", "security_group_ids")

#: Notebook parameter -> settings field that fills it when the parameter is left empty.
PARAMETER_SOURCES: dict[str, str] = {
    "tracking_uri": "tracking_uri",
    "tracking_server_arn": "tracking_server_arn",
    "data_path": "data_uri",
    "region": "region",
    "codeartifact_domain": "codeartifact_domain",
    "codeartifact_repository": "codeartifact_repository",
    "codeartifact_domain_owner": "codeartifact_domain_owner",
    "remote_s3_root_uri": "remote_s3_root_uri",
}
#: Last resort for a parameter neither the notebook nor the settings set.
PARAMETER_DEFAULTS: dict[str, str] = {"data_path": LOCAL_DATA_PATH}


def default_path() -> Path:
    """``~/.isolated-studio/settings.json``, with the Studio user's home when HOME is unset."""
    home = os.environ.get("HOME") or str(STUDIO_HOME)
    return Path(home) / SETTINGS_RELATIVE_PATH


def load(path: Path | None = None) -> LabSettings | None:
    """The settings file's values, or None when there is no file (a laptop, say).

    A file that exists but is not a JSON object of the expected shape raises
    :class:`LabSettingsError` naming the file and the problem: silently
    ignoring it would make the notebook fall back to laptop defaults in Studio.
    """
    path = path or default_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LabSettingsError(f"Cannot read the lab settings {path}: {exc}") from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise LabSettingsError(f"The lab settings {path} are not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise LabSettingsError(f"The lab settings {path} must be a JSON object.")
    problems = []
    version = document.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        problems.append(f"schema_version {version!r} (this lab reads {SCHEMA_VERSION})")
    values: dict[str, Any] = {}
    for key in _STRING_KEYS:
        value = document.get(key, "")
        if not isinstance(value, str):
            problems.append(f"{key} must be a string, got {value!r}")
        values[key] = value.strip() if isinstance(value, str) else ""
    for key in _LIST_KEYS:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            problems.append(f"{key} must be a list of strings, got {value!r}")
            value = []
        values[key] = tuple(value)
    if problems:
        raise LabSettingsError(f"The lab settings {path} are unusable: " + "; ".join(problems))
    known = {"schema_version", *_STRING_KEYS, *_LIST_KEYS}
    extra = {key: value for key, value in document.items() if key not in known}
    return LabSettings(path=path, extra=extra, **values)


def fill(settings: LabSettings | None, **parameters: Any) -> dict[str, Any]:
    """The values for the parameters left empty (``""``) that the settings or defaults provide.

    Only empty parameters are returned, so ``globals().update(fill(...))`` in
    the notebook never overrides a value set in the parameters cell.
    """
    filled: dict[str, Any] = {}
    for name, value in parameters.items():
        if value not in ("", None):
            continue
        source = PARAMETER_SOURCES.get(name)
        found = getattr(settings, source, "") if settings is not None and source else ""
        if found:
            filled[name] = found
        elif name in PARAMETER_DEFAULTS:
            filled[name] = PARAMETER_DEFAULTS[name]
    return filled


def describe(settings: LabSettings | None, filled: dict[str, Any]) -> str:
    """One line per filled parameter, saying where its value came from (for the notebook)."""
    if settings is None:
        head = f"no lab settings file at {default_path()}"
    else:
        head = f"lab settings: {settings.path}"
    lines = [head]
    for name, value in filled.items():
        source = PARAMETER_SOURCES.get(name)
        origin = (
            f"settings {source}"
            if settings is not None and source and getattr(settings, source, "") == value
            else "default"
        )
        lines.append(f"  {name} = {value!r}  ({origin})")
    return "\n".join(lines)
