"""A test's tier is its folder (tests/tiers.py): no slow test under tests/unit/, no fast test outside it."""

from __future__ import annotations

import re
import textwrap

import pytest
from tiers import misplaced


def test_every_test_of_the_run_is_in_the_folder_of_its_tier(request: pytest.FixtureRequest) -> None:
    """The run's own tests, as collected (the markers tests/conftest.py adds included): in `make test-fast`
    every test of tests/unit/, in `make test` every test of the tree. No collection of its own."""
    found = misplaced(request.session.items)
    assert found == [], "tests outside their tier's folder (docs/testing.md):\n" + "\n".join(found)


PLANTED = {
    "tests/unit/test_planted_unit.py": """
        import pytest

        @pytest.fixture
        def real_scan():
            return None

        def test_in_process():
            pass

        @pytest.mark.slow
        def test_marked_slow():
            pass

        def test_scanning(real_scan):
            pass
    """,
    "tests/integration/test_planted_integration.py": """
        import pytest

        @pytest.mark.terraform
        def test_terraform():
            pass

        def test_in_process_outside():
            pass
    """,
    "tests/e2e/test_planted_e2e.py": """
        import pytest

        @pytest.fixture
        def mlflow_server():
            return "http://127.0.0.1:1"

        def test_against_a_server(mlflow_server):
            pass
    """,
    # The check above, unchanged, as a test of the planted tree's run.
    "tests/unit/house/test_planted_house.py": """
        from test_test_tiers import test_every_test_of_the_run_is_in_the_folder_of_its_tier
    """,
}
PYTEST_INI = """
    [pytest]
    markers =
        terraform: Terraform
        emulator: moto
        slow: a heavy tool
        lab_e2e: the lab end to end
"""


def _planted_run(pytester: pytest.Pytester, files: dict[str, str]) -> pytest.RunResult:
    pytester.makefile(".ini", pytest=textwrap.dedent(PYTEST_INI))
    for path, text in files.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-vv")


def test_a_slow_test_under_unit_and_a_fast_test_outside_it_fail_the_check(pytester: pytest.Pytester) -> None:
    result = _planted_run(pytester, PLANTED)
    result.assert_outcomes(passed=6, failed=1)
    failed = [line for line in result.outlines if line.startswith("FAILED ")]
    assert failed == [
        "FAILED tests/unit/house/test_planted_house.py::test_every_test_of_the_run_is_in_the_folder_of_its_tier"
        " - AssertionError: tests outside their tier's folder (docs/testing.md):"
    ]
    text = result.stdout.str()
    expected = [
        "tests/unit/test_planted_unit.py::test_marked_slow: slow (marker slow) under tests/unit/",
        "tests/unit/test_planted_unit.py::test_scanning: slow (fixture real_scan) under tests/unit/",
        "tests/integration/test_planted_integration.py::test_in_process_outside: fast (no marker or fixture of the"
        " slow tiers) outside tests/unit/",
    ]
    assert all(line in text for line in expected), text
    # Nothing else is named: the unit test, the Terraform test, the server's test and the check are in place.
    named = set(re.findall(r"(tests/\S+::\w+): (?:slow|fast) \(", text))
    assert named == {line.split(": ", 1)[0] for line in expected}, text


def test_the_tree_without_the_misplaced_tests_passes_the_check(pytester: pytest.Pytester) -> None:
    placed = {
        **PLANTED,
        "tests/unit/test_planted_unit.py": "def test_in_process():\n    pass\n",
        "tests/integration/test_planted_integration.py": PLANTED[
            "tests/integration/test_planted_integration.py"
        ].replace("def test_in_process_outside():\n            pass\n", ""),
    }
    result = _planted_run(pytester, placed)
    result.assert_outcomes(passed=4)
