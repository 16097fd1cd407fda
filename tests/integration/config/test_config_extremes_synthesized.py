"""The accepted extreme configurations (tests/config_extremes.py) synthesized: the stacks send only what AWS accepts."""

from __future__ import annotations

import json

import pytest
from config_extremes import ACCEPTED, accepted_config, aws_problems, default_tags, profile_name

from isolated_studio.config import aws_constraints


@pytest.fixture(scope="session")
def synth_extremes(tmp_path_factory) -> dict[str, dict[str, dict]]:
    """Each accepted extreme synthesized once: ~1.5 s each."""
    from main import build_app

    out: dict[str, dict[str, dict]] = {}
    for number, name in enumerate(ACCEPTED):
        outdir = tmp_path_factory.mktemp(f"extreme-{number}")
        build_app(accepted_config(name), outdir).synth()
        out[name] = {p.parent.name: json.loads(p.read_text()) for p in (outdir / "stacks").glob("*/cdk.tf.json")}
    return out


@pytest.mark.slow  # synthesizes three more environments (~5 s): make test, not make test-fast
@pytest.mark.parametrize("name", ACCEPTED)
def test_an_accepted_extreme_synthesizes_only_values_aws_accepts(synth_extremes, name):
    found, checked = aws_problems(synth_extremes[name])
    assert found == []
    assert checked > 40, checked  # the walk reached the stacks' names and tags, not an empty document


@pytest.mark.slow
def test_the_extremes_reach_the_stacks_as_configured(synth_extremes):
    longest = synth_extremes["longest names"]["workload"]["resource"]
    assert sorted(p["user_profile_name"] for p in longest["aws_sagemaker_user_profile"].values()) == sorted(
        [profile_name(1, 63), profile_name(2, 63)]
    )
    assert [
        r["repository"] for r in longest["aws_codeartifact_repository"].values() if r["repository"].startswith("r")
    ] == ["r" * 100]
    most = synth_extremes["most zones and accounts"]
    assert len(most["network"]["resource"]["aws_subnet"]) == 6
    tags = default_tags(synth_extremes["most tags"]["workload"])
    assert len(tags) == aws_constraints.S3_OBJECT_MAX_TAGS  # exactly what an S3 object takes
