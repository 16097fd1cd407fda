"""`python main.py` (what `make synth` and the cdktf CLI run) prints only what a user needs.

A newcomer's first `make synth` printed cdktf's "You're using escape sequences (${...}) with
CDKTF Built-in functions ... the output may be incorrect" twice, with a kilobyte of HCL each:
alarming, and it hides any warning that matters. Whatever either configuration builds, stderr
stays empty and stdout is the summary.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from isolated_studio.config import load_config

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow  # two syntheses in subprocesses, ~10 s each on a loaded machine

#: config/dev.toml with what the suite's variant changes (tests/conftest.py), as a file main.py reads.
VARIANT_OVERRIDES = """
[project]
account_id = "123456789012"
[state]
locking = "both"
[workload]
iam_mode = "least-privilege"
force_destroy_buckets = false
retain_home_efs = true
user_profiles = ["alice", "bob"]
docker_trusted_accounts = ["123456789012"]
attach_lifecycle_config = false
"""


def _variant_file(tmp_path: Path) -> Path:
    import tomllib

    document = tomllib.loads((ROOT / "config" / "dev.toml").read_text())
    for section, values in tomllib.loads(VARIANT_OVERRIDES).items():
        document.setdefault(section, {}).update(values)
    lines = []
    for section, values in document.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    path = tmp_path / "variant.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_the_variant_file_is_the_variant_the_suite_synthesizes(tmp_path, variant_config):
    loaded = load_config(_variant_file(tmp_path), env={"AWS_REGION": "us-west-2"})
    variant = variant_config
    # (model_copy does not derive the state bucket's name from the account, as loading a file does)
    assert (loaded.project.account_id, loaded.state.locking, loaded.workload, loaded.network, loaded.tags) == (
        variant.project.account_id,
        variant.state.locking,
        variant.workload,
        variant.network,
        variant.tags,
    )


@pytest.mark.parametrize("which", ["default", "variant"])
def test_synthesis_writes_nothing_to_stderr(which, tmp_path):
    env = {**os.environ, "AWS_REGION": "us-west-2", "CDKTF_OUTDIR": str(tmp_path / "out")}
    for name in ("STUDIO_ENV", "STUDIO_CONFIG", "AWS_DEFAULT_REGION", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"):
        env.pop(name, None)  # main.py must silence jsii's Node banner itself, as make does not have to
    if which == "variant":
        env["STUDIO_CONFIG"] = str(_variant_file(tmp_path))
    proc = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == "", f"python main.py ({which}) wrote to stderr:\n{proc.stderr[-3000:]}"
    assert proc.stdout.startswith("Synthesized environment 'dev'"), proc.stdout[:500]
