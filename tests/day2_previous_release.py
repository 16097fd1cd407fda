"""Write tests/data/day2/previous-release.json: the state of an environment deployed by the
previous release, for the day-2 matrix's upgrade row (tests/integration/terraform/test_day2_matrix.py).

The previous release is main before issue 24 (the Studio domain then held JupyterLab's
settings, with the lifecycle configuration holding the whole start script): its source is
taken from git, synthesized with config/dev.toml as it was then, and both stacks' states are
built by the provider exactly as for the matrix's own before states (tests/offline_plan.py).
A release never changes, so neither does this file; rebuild it only when offline_plan's values
change (about a minute):

    .venv/bin/python tests/day2_previous_release.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]

import offline_plan as op  # noqa: E402

RELEASE = "4896d3af687b11ad37472a9a31eee043d74b3679"  # main before issue 24 was merged
REGION = "us-west-2"
OUT = Path(__file__).parent / "data" / "day2" / "previous-release.json"
ROOT = Path(__file__).resolve().parents[1]


def synthesize(workdir: Path) -> dict[str, dict]:
    source = workdir / "source"
    source.mkdir()
    archive = subprocess.run(["git", "archive", RELEASE], cwd=ROOT, capture_output=True, check=True, timeout=120)
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True, timeout=120)
    (source / ".venv").symlink_to((ROOT / ".venv").resolve())
    env = {
        **os.environ,
        "AWS_REGION": REGION,
        "STUDIO_ENV": "dev",
        "CDKTF_OUTDIR": str(workdir / "out"),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    for key in ("STUDIO_CONFIG", "AWS_DEFAULT_REGION", "STUDIO_EMULATOR_ENDPOINT"):
        env.pop(key, None)
    subprocess.run([sys.executable, "main.py"], cwd=source, env=env, check=True, timeout=600, stdout=subprocess.DEVNULL)
    return {
        s: json.loads((workdir / "out" / "stacks" / s / "cdk.tf.json").read_text()) for s in ("network", "workload")
    }


def main() -> int:
    from isolated_studio.config import load_config

    mirror = load_config(ROOT / "config" / "dev.toml", env={"AWS_REGION": REGION}).provider_mirror
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        docs = synthesize(workdir)
        tf = op.Terraform(workdir / "tf", op.env_for(mirror), docs["network"]["terraform"]["required_providers"])
        network = op.build_state(
            tf,
            workdir / "network",
            op.offline_stack(docs["network"], region=REGION),
            REGION,
            label="previous release: network",
        )
        workload = op.build_state(
            tf,
            workdir / "workload",
            op.offline_stack(docs["workload"], region=REGION),
            REGION,
            label="previous release: workload",
            network=op.outputs_state(None, network.state),
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "release": RELEASE,
                "configuration": "config/dev.toml",
                "region": REGION,
                "network": network.state,
                "workload": workload.state,
            },
            indent=1,
            sort_keys=True,
        )
        + "\n"
    )
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
