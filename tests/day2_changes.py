"""The day-2 matrix's rows (tests/integration/terraform/test_day2_matrix.py plans them,
tests/unit/ops/test_day2_matrix_rows.py checks them): every change a platform team makes to a
deployed environment with its expected outcome, the settings that are no day-2 change with
the reason, and the configuration and lab files each row is made of.

A row is a setting of isolated_studio/config/model.py given a new value in the TOML document
(parsed and validated as a user's file is), an edit of a lab file or of the start script, a
tag, a user added or removed, or an environment deployed by the previous release.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isolated_studio.config import (
    CONFIG_DIR,
    PROJECT_ROOT,
    StudioConfig,
    parse_config,
    rules,
)

ENV = {"AWS_REGION": "us-west-2"}

# What `make deploy` does (the table's third column).
NOTHING = "nothing to apply"
APPLIES = "applies in place"
HARMLESS = "replaces something harmless"
ASKS = "asks first (--yes only with --allow-replace)"
REFUSED = "refused before any apply"
RANK = [NOTHING, APPLIES, HARMLESS, ASKS, REFUSED]


@dataclass(frozen=True)
class Change:
    """One row. ``settings``: "section.key" (or "tags.Key") -> the new value, or a function of
    the run's directory that returns it; ``lab``: a file under notebooks/ -> the edit of its
    text; ``script``: the edit of the start script's text; ``deployed``: what the environment was
    deployed from ("main": the base configuration on this commit)."""

    name: str
    expected: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    lab: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    script: Callable[[str], str] | None = None
    deployed: str = "main"

    @property
    def covers(self) -> set[str]:
        return {"tags" if key.startswith("tags.") else key for key in self.settings}


def row(key: str, value: Any, expected: str, *, shown: str | None = None, **extra: Any) -> Change:
    """The row of one setting given a new value (``shown``: how the row names the new value)."""
    shown = shown or (value if isinstance(value, str) else json.dumps(value))
    return Change(f"{key} = {shown}", expected, {key: value}, **extra)


def _data_file(run: Path) -> str:
    """Another AI4I CSV than the deployed one (its last row twice); the deployed one is the file
    the base synthesis uploads (saved or generated: stacks.workload.lab_data_file)."""
    sources = [PROJECT_ROOT / "data" / "ai4i2020.csv", PROJECT_ROOT / "data" / "generated" / "ai4i2020.csv"]
    source = next((path for path in sources if path.is_file()), None)
    edited = run / "ai4i2020-v2.csv"
    if not edited.exists():
        lines = source.read_text().splitlines(keepends=True) if source else ["UDI,Type\n", "1,M\n"]
        edited.write_text("".join(lines) + lines[-1])
    return str(edited)


def _pin_mlflow(text: str) -> str:
    return text.replace("mlflow==2.16.2", "mlflow==2.20.3").replace(
        "sagemaker-mlflow==0.1.0", "sagemaker-mlflow==0.1.1"
    )


NETWORK_ENDPOINTS = list(rules.DEFAULT_INTERFACE_ENDPOINTS)

ROWS: list[Change] = [
    # The lab's files and the start script: S3 objects, updated in place.
    Change(
        "start script edited (modules/studio_domain.py's jupyterlab_startup_script)",
        APPLIES,
        script=lambda text: text.replace("\nexit 0\n", "\nlog edited by the platform team\nexit 0\n"),
    ),
    Change(
        "notebook edited (notebooks/private-mlflow.ipynb)",
        APPLIES,
        lab={"private-mlflow.ipynb": lambda text: text + "\n"},
    ),
    Change(
        "notebooks/requirements.txt edited (a package added)",
        APPLIES,
        lab={"requirements.txt": lambda text: text + "tqdm==4.67.1\n"},
    ),
    # Users and tags.
    row("workload.user_profiles", ["data-scientist", "alice", "bob"], APPLIES),
    row("workload.user_profiles", ["data-scientist"], ASKS),
    row("tags.CostCenter", "4711", APPLIES),
    # What a release changes: main deployed over an environment of the previous release.
    Change(
        "an environment deployed by the previous release (main before issue 24, 4896d3a), deployed again with "
        "this commit",
        REFUSED,
        settings={"workload.user_profiles": ["data-scientist"]},
        deployed="previous release",
    ),
    # [workload]
    row("workload.iam_mode", "least-privilege", ASKS),  # destroys the boundary policy and the managed attachment
    row("workload.force_destroy_buckets", False, APPLIES),
    row("workload.retain_home_efs", True, REFUSED),
    row("workload.docker_trusted_accounts", ["123456789012"], REFUSED),
    row("workload.jupyterlab_instance_type", "ml.m5.large", APPLIES),
    row("workload.studio_image_version", "4.5.0", APPLIES),
    row(
        "workload.studio_image_arn",
        "arn:aws:sagemaker:us-west-2:542918446943:image/sagemaker-distribution-cpu",
        NOTHING,
        shown="the release's own image ARN pinned",
    ),
    row("workload.attach_lifecycle_config", False, APPLIES),
    row("workload.noncurrent_version_expiration_days", 30, APPLIES),
    row("workload.mlflow_server_name", "studio-dev-tracking", ASKS),
    row("workload.mlflow_size", "Medium", APPLIES),
    row("workload.mlflow_version", "2.20", ASKS, lab={"requirements.txt": _pin_mlflow}),
    row("workload.mlflow_artifact_prefix", "runs", APPLIES),  # UpdateMlflowTrackingServer takes ArtifactStoreUri
    row("workload.mlflow_automatic_model_registration", False, APPLIES),
    row("workload.mlflow_maintenance_window", "Sat:22:00", APPLIES),
    row("workload.codeartifact_domain", "studio-dev-pkgs", ASKS),
    row("workload.codeartifact_repository", "pip-team", ASKS),
    row("workload.codeartifact_upstream_repository", "pypi-public", ASKS),
    row("workload.data_file", _data_file, HARMLESS, shown="another CSV"),  # the object's key names its content
    row("workload.data_prefix", "datasets", HARMLESS),
    row("workload.notebooks_prefix", "course", HARMLESS),
    # [network]
    row("network.vpc_cidr", "10.20.0.0/16", ASKS),
    row("network.az_count", 3, ASKS),
    row("network.availability_zone_ids", ["usw2-az1", "usw2-az2"], APPLIES),  # the zones deployed: names only
    row("network.subnet_cidrs", ["10.10.0.0/24", "10.10.1.0/24"], NOTHING),
    row("network.subnet_prefix_length", 25, ASKS),
    row("network.interface_endpoints", [*NETWORK_ENDPOINTS, "kms"], APPLIES, shown="the default ones and kms"),
    row(
        "network.interface_endpoints",
        [e for e in NETWORK_ENDPOINTS if e != "monitoring"],
        ASKS,
        shown="the default ones but monitoring",
    ),
    row("network.flow_log_retention_days", 90, APPLIES),
    row("network.flow_log_traffic_type", "REJECT", HARMLESS),
    row("network.dns_firewall", False, ASKS),
    row("network.dns_firewall_allowed_domains", ["pypi.corp.example.com"], APPLIES),
    row("network.dns_query_log_retention_days", 90, APPLIES),
]

# Settings that change no deployed stack in place, and why (the second table of docs/day-2.md).
ANOTHER_STATE = (
    "selects the state the stacks live in: a new value starts another environment beside the "
    "deployed one, whose resources keep their names, so AWS refuses their creation part-way"
)
NOT_DAY2: dict[str, str] = {
    "project.name_prefix": "names every resource (and the default state bucket): a new value is a new environment; "
    "deploy it beside this one, move the users' work, destroy this one",
    "project.environment": "names the environment: its tags, the default state keys and the bootstrap state's "
    "path; a new value is a new environment",
    "project.account_id": "where the environment is: Terraform and the workflow refuse any other account",
    "project.region": "where the environment is: the region is part of every state key and bucket name",
    "region": "where the environment is (project.region, else AWS_REGION): part of every state key",
    "state.bucket": ANOTHER_STATE,
    "state.key_prefix": ANOTHER_STATE,
    "state.lock_table": "the state stack's lock table: a new name creates a new table (the old one is protected)",
    "state.locking": "how Terraform locks the state: the backend's settings, no resource of the stacks",
    "state.protect": "the state stack's own resources (prevent_destroy), not the network or workload",
    "state.bootstrap_state_path": "where the state stack's local state lives on disk, no resource",
    "emulator.endpoint": "the emulator's URL: the emulator environment only",
    "terraform.provider_mirror": "where Terraform installs the provider from: no resource",
}


# --------------------------------------------------------------------------- configuration


def base_document(change: Change | None = None) -> dict:
    """config/dev.toml with a second user (so that one can be removed); as it is for the previous release."""
    raw = tomllib.loads((CONFIG_DIR / "dev.toml").read_text())
    if change is None or change.deployed == "main":
        raw["workload"]["user_profiles"] = ["data-scientist", "alice"]
    return raw


def document(changes: list[Change], run: Path) -> dict:
    raw = base_document(changes[0])
    for change in changes:
        for key, value in change.settings.items():
            section, name = key.split(".", 1)
            raw.setdefault(section, {})[name] = value(run) if callable(value) else value
    return raw


def parse(raw: Mapping[str, Any]) -> StudioConfig:
    return parse_config(raw, env=ENV, source="config/dev.toml (day-2 matrix)", default_environment="dev")


@contextlib.contextmanager
def edited_lab(changes: list[Change], workdir: Path, workload: Any = None, studio: Any = None):
    """The lab files and start script as the changes edit them: for the configuration's checks
    (the lab's mlflow pin) and, given the stacks.workload module (the lab's directory) and
    stacks.workload_studio (the start script), for its synthesis."""
    saved = (
        workload.NOTEBOOKS_DIR if workload else PROJECT_ROOT / "notebooks",
        studio.jupyterlab_startup_script if studio else None,
        rules.lab_mlflow_pin,
    )
    edits = [(name, edit) for change in changes for name, edit in change.lab.items()]
    scripts = [change.script for change in changes if change.script]
    try:
        if edits:
            lab = workdir / "notebooks"
            shutil.copytree(saved[0], lab, ignore=shutil.ignore_patterns("__pycache__", ".*"))
            for name, edit in edits:
                (lab / name).write_text(edit((lab / name).read_text()))
            if workload:
                workload.NOTEBOOKS_DIR = lab
            rules.lab_mlflow_pin = lambda requirements=lab / "requirements.txt": saved[2](requirements)
        if scripts and studio:

            def script(**kwargs: Any) -> str:
                text = saved[1](**kwargs)
                for edit in scripts:
                    text = edit(text)
                return text

            studio.jupyterlab_startup_script = script
        yield
    finally:
        rules.lab_mlflow_pin = saved[2]
        if workload:
            workload.NOTEBOOKS_DIR = saved[0]
        if studio:
            studio.jupyterlab_startup_script = saved[1]
