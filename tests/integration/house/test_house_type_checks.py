"""mypy passes over the product code (the house's checks, `[tool.mypy]` in pyproject.toml), from a cold cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


@pytest.mark.slow  # test-fast runs mypy itself (make lint); cold, it takes half a minute
def test_the_product_code_type_checks(tmp_path: Path):
    proc = subprocess.run(
        [str(BIN / "mypy"), "--cache-dir", str(tmp_path / "mypy-cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
