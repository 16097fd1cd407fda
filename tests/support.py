"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import shutil

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
