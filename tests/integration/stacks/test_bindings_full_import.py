"""The fast provider bindings synthesize byte for byte what a full import of the provider writes, for every stack."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# The full import, in its own process so that this session keeps the fast path: the same
# two configurations the session synthesizes (managed and least-privilege IAM).
FULL_IMPORT_SYNTH = textwrap.dedent("""
    import sys
    from pathlib import Path

    import cdktf_cdktf_provider_aws  # the package's own __init__: every resource module

    sys.path[:0] = ["tests", "."]
    from conftest import default_config, make_variant_config
    from main import build_app

    out = Path(sys.argv[1])
    build_app(default_config(), out / "default").synth()
    build_app(make_variant_config(), out / "variant").synth()
    print(sum(name.startswith("cdktf_cdktf_provider_aws.") for name in sys.modules))
""")


def _files(root: Path) -> dict[str, bytes]:
    """What synthesis wrote; not what `terraform init` adds to the shared stack directories
    when a Terraform test runs first (the suite runs in random order)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".terraform") for part in p.relative_to(root).parts)
    }


@pytest.mark.slow  # the full import alone is ~10 s
def test_fast_and_full_import_synthesize_identical_output_for_every_stack(synth, synth_variant, tmp_path):
    from main import build_app

    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "AWS_REGION": "us-west-2"}
    (tmp_path / "full").mkdir()
    full = subprocess.Popen(
        [sys.executable, "-c", FULL_IMPORT_SYNTH, str(tmp_path / "full")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Fresh output directories: other tests run terraform in the session's.
    (tmp_path / "fast").mkdir()
    for name, config in (("default", synth.config), ("variant", synth_variant.config)):
        build_app(config, tmp_path / "fast" / name).synth()
    stdout, stderr = full.communicate(timeout=600)
    assert full.returncode == 0, stderr
    assert int(stdout.split()[-1]) > 2000, "the reference run did not import every resource module"
    for name in ("default", "variant"):
        expected, got = _files(tmp_path / "full" / name), _files(tmp_path / "fast" / name)
        assert {p.split("/")[1] for p in got if p.startswith("stacks/")} == {"state", "network", "workload"}
        assert sorted(got) == sorted(expected), f"{name}: different files"
        different = [path for path in expected if got[path] != expected[path]]
        assert different == [], f"{name}: fast path differs from the full import in {different}"
