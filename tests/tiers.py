"""A test's tier is its folder: tests/unit/ for what runs in the test process (`make test-fast`),
tests/integration/ and tests/e2e/ for what starts Terraform, moto, MLflow, the notebook or a
heavy tool (docs/testing.md).

What makes a test slow is decided here: a marker of pytest.ini's slow tiers, or a fixture that
starts a server or a tool (tests/conftest.py marks their tests at collection). The session
syntheses (``synth`` ...) run in the test process: the unit tier has them.
tests/unit/house/test_test_tiers.py fails on a test outside its tier's folder.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

UNIT = "tests/unit/"
#: Terraform, moto with Terraform or the AWS CLI, the lab end to end, a heavy tool (pytest.ini).
SLOW_TIER_MARKERS = ("terraform", "emulator", "lab_e2e", "slow")
#: The lab end-to-end tests: a real MLflow server, or the notebook executed (marked lab_e2e).
LAB_E2E_FIXTURES = frozenset({"mlflow_server", "run_notebook"})
#: Fixtures that run a heavy tool, checkov scans (marked slow).
TOOL_FIXTURES = frozenset({"real_scan", "bad_scan"})


def slow_because(item: pytest.Item) -> list[str]:
    """What puts the test in a slow tier (nothing: it is a unit test)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    return [f"marker {m}" for m in SLOW_TIER_MARKERS if item.get_closest_marker(m)] + [
        f"fixture {f}" for f in sorted((LAB_E2E_FIXTURES | TOOL_FIXTURES) & fixtures)
    ]


def misplaced(items: Iterable[pytest.Item]) -> list[str]:
    """The tests outside their tier's folder: a slow one under tests/unit/, a fast one elsewhere."""
    found = []
    for item in items:
        why = slow_because(item)
        if item.nodeid.startswith(UNIT) and why:
            found.append(f"{item.nodeid}: slow ({', '.join(why)}) under {UNIT}")
        elif not item.nodeid.startswith(UNIT) and not why:
            found.append(f"{item.nodeid}: fast (no marker or fixture of the slow tiers) outside {UNIT}")
    return found
