"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_terraform() -> str:
    """Terraform tests skip on a laptop without terraform, but never in CI."""
    path = shutil.which("terraform")
    if path is None:
        if IN_CI:
            pytest.fail("terraform is not on PATH, and CI=true forbids skipping Terraform tests")
        pytest.skip("terraform is not on PATH")
    return path


STUDIO_PYTHON = Path(__file__).resolve().parents[1] / ".venv-studio" / "bin" / "python"


def require_studio_python() -> Path:
    """The lab's Studio-pinned interpreter (`make studio-env`); never skipped in CI."""
    if not STUDIO_PYTHON.exists():
        if IN_CI:
            pytest.fail(f"{STUDIO_PYTHON} is missing, and CI=true forbids skipping: run make studio-env")
        pytest.skip(f"{STUDIO_PYTHON} is missing: run make studio-env")
    return STUDIO_PYTHON


def run_studio_python(code: str, *args: str, env: dict | None = None, timeout: int = 120) -> str:
    """Run ``code`` with the Studio interpreter (the real SageMaker SDK); return its stdout."""
    import subprocess

    result = subprocess.run([str(require_studio_python()), "-c", code, *args], capture_output=True, text=True,
                            env=env, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"studio interpreter failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout
