"""Under CI=true a skipped test fails the run: a test that does not run proves nothing.

Terraform tests already fail instead of skipping there (``support.require_terraform``); this
catches every other way a test can skip (a marker, a fixture, an import), so that CI is never
green with part of the suite silently left out. conftest.py registers it on the controller
(under pytest-xdist the workers' reports arrive there too).
"""

from __future__ import annotations

import pytest


class NoSkipInCI:
    def __init__(self) -> None:
        self.skipped: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skipped.append(report.nodeid)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:
            self.skipped.append(report.nodeid)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.skipped and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.skipped:
            terminalreporter.write_sep("=", "CI=true: skipped tests fail the run", red=True)
            for nodeid in self.skipped:
                terminalreporter.write_line(f"skipped: {nodeid}")
