"""CI=true turns any skip into a failed run; without CI a skip stays a skip."""

from __future__ import annotations

import pytest
from no_skip_in_ci import NoSkipInCI

SUITE = """
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("no terraform here")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False
"""


def test_a_skipped_test_fails_the_run_and_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", plugins=[NoSkipInCI()])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*CI=true: skipped tests fail the run*", "skipped: test_suite.py::test_skips"])
    assert "test_expected_failure" not in result.stdout.str().split("skipped tests fail the run")[1]


def test_a_module_skipped_at_collection_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gone='import pytest\npytest.skip("whole module", allow_module_level=True)\n')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", plugins=[NoSkipInCI()])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["skipped: test_gone.py"])


def test_without_skips_the_run_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite="def test_runs():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", plugins=[NoSkipInCI()])
    assert result.ret == pytest.ExitCode.OK
    assert "skipped tests fail the run" not in result.stdout.str()


def test_real_failures_keep_their_exit_code(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_suite="import pytest\ndef test_bad():\n    assert False\ndef test_skip():\n    pytest.skip('x')\n"
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", plugins=[NoSkipInCI()])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, skipped=1)
