"""The cdktf CLI drives the app through cdktf.json, and its HCL output is a valid exit path.

cdktf is archived; `cdktf synth --hcl` is how a team leaves it for plain Terraform. This
proves the HCL of every stack is valid Terraform for the real provider.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import IN_CI, require_terraform

from isolated_studio.base.terraform import run, terraform_env

ROOT = Path(__file__).resolve().parents[3]
CDKTF = ROOT / "node_modules" / ".bin" / "cdktf"

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def hcl_outdir(tmp_path_factory):
    if not CDKTF.exists():
        if IN_CI:
            pytest.fail("node_modules/.bin/cdktf is missing: `make cli` installs the pinned cdktf CLI")
        pytest.skip("the cdktf CLI is not installed (make cli)")
    outdir = tmp_path_factory.mktemp("hcl")
    env = {
        **os.environ,
        "CHECKPOINT_DISABLE": "1",
        "CI": "true",
        "AWS_REGION": "us-west-2",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    env.pop("STUDIO_CONFIG", None)
    env.pop("STUDIO_ENV", None)
    # The app command of cdktf.json is `pipenv run ...`; the test runs inside that environment.
    proc = subprocess.run(
        [str(CDKTF), "synth", "--hcl", "--app", f"{sys.executable} main.py", "--output", str(outdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return outdir


def test_cdktf_json_names_the_python_app():
    config = json.loads((ROOT / "cdktf.json").read_text())
    assert config["language"] == "python" and config["app"].endswith("python main.py")


@pytest.mark.parametrize("stack", ["state", "network", "workload"])
def test_hcl_output_is_valid_terraform(hcl_outdir, provider_mirror, tmp_path, stack):
    require_terraform()
    source = hcl_outdir / "stacks" / stack
    assert (source / "cdk.tf").is_file()
    work = tmp_path / stack
    shutil.copytree(source, work)
    env = terraform_env(provider_mirror)
    run(["init", "-backend=false", "-input=false", "-no-color"], cwd=work, env=env)
    result = run(["validate", "-json", "-no-color"], cwd=work, env=env, check=False)
    report = json.loads(result.stdout)
    assert report["valid"], report["diagnostics"]
