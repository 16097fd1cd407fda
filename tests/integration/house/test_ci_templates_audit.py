"""The GitHub workflow audited offline: GitHub's workflow schema (check-jsonschema's vendored
`vendor.github-workflows`) and zizmor's security audit (`zizmor --offline`), with no finding."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
@pytest.mark.slow
def test_github_workflow_matches_githubs_schema(path):
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_zizmor_finds_nothing_high_or_medium_and_nothing_is_suppressed():
    proc = subprocess.run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--persona",
            "pedantic",
            "--format",
            "json",
            str(ROOT / ".github" / "workflows"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 10, 11, 12, 13, 14), proc.stderr  # zizmor exits >= 10 with findings
    findings = json.loads(proc.stdout or "[]")
    serious = [
        (f["ident"], f["determinations"]["severity"])
        for f in findings
        if f["determinations"]["severity"] in ("High", "Medium")
    ]
    assert serious == []
    # Even the pedantic audits (job names, documented permissions...) pass, with no ignore file.
    assert findings == [], [f["ident"] for f in findings]
    assert not list(ROOT.glob("zizmor.y*ml")) and not list((ROOT / ".github").glob("zizmor.y*ml"))
