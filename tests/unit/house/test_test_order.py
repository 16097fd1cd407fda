"""The order a fresh clone's `make test` hands modules out in (tests/conftest.py, ModuleSeconds)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "tests" / "data" / "module-seconds.json"


def test_the_committed_module_seconds_name_modules_that_exist():
    """A moved or renamed module would silently lose its place at the front of the run."""
    seconds = {k: v for k, v in json.loads(COMMITTED.read_text()).items() if k != "//"}
    assert seconds
    assert [module for module in seconds if not (ROOT / module).is_file()] == []
    assert all(isinstance(value, int | float) and value > 0 for value in seconds.values())
