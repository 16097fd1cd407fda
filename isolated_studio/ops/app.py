"""The synthesized app: synthesize it, and check that a reused one fits the configuration."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from isolated_studio.base.paths import PROJECT_ROOT
from isolated_studio.config import StudioConfig
from isolated_studio.config.emulator import EmulatorProfile
from isolated_studio.ops.errors import WorkflowError
from isolated_studio.ops.runner import tail


def synthesize(outdir: Path, env: Mapping[str, str], timeout_s: float = 900) -> str:
    """Run ``python main.py`` (the same synthesis as ``make synth``) into ``outdir``."""
    env = {**env, "CDKTF_OUTDIR": str(outdir)}
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        proc = subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "main.py")],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise WorkflowError(f"synthesis did not finish within {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        raise WorkflowError(
            f"synthesis failed (python main.py, exit {proc.returncode}):\n{tail(proc.stderr + proc.stdout)}"
        )
    return proc.stdout.strip()


def outdir_mismatches(config: StudioConfig, dirs: Mapping[str, Path]) -> list[str]:
    """Where the synthesized stacks point at other state than this configuration.

    ``--no-synth`` reuses whatever is in the output directory; planning another
    environment's stacks with this environment's checks would be the worst kind of mistake.
    """
    problems = []
    for stack, path in dirs.items():
        backend = json.loads((path / "cdk.tf.json").read_text()).get("terraform", {}).get("backend", {})
        if "local" in backend:
            if not Path(backend["local"].get("path", "")).as_posix().endswith(config.bootstrap_state_file):
                problems.append(
                    f"{stack}: local state {backend['local'].get('path')!r}, expected {config.bootstrap_state_file!r}"
                )
            continue
        s3 = backend.get("s3", {})
        expected = (config.state.bucket, config.state_key(stack))
        if (s3.get("bucket"), s3.get("key")) != expected:
            problems.append(
                f"{stack}: state in s3://{s3.get('bucket')}/{s3.get('key')}, expected s3://{expected[0]}/{expected[1]}"
            )
        endpoint = (s3.get("endpoints") or {}).get("s3", "")
        wanted = EmulatorProfile.of(config).url
        if endpoint.rstrip("/") != wanted:
            problems.append(f"{stack}: S3 endpoint {endpoint or 'AWS'!r}, expected {wanted or 'AWS'!r}")
    return problems
