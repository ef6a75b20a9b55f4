"""The fuzz suite's tally: printed at the end of the session ("fuzzed inputs: N, tracebacks: 0,
partial rows: 0"); a full run of the suite that fuzzed fewer than MINIMUM inputs fails."""

from __future__ import annotations

import pytest

from tests.fuzz.properties import TALLY

MINIMUM = 10_000
_collected: set[str] = set()
_passed: set[str] = set()


@pytest.fixture(autouse=True, scope="module")
def _no_prefect_threads_drawing_random() -> None:
    """Stop the Prefect services earlier tests left running in this process (events, logs).

    Hypothesis fails a draw when the global `random` state moves during it, and their threads
    move it now and then (reconnect jitter): seen once in CI as a FlakyFailure after the fault
    tests. They start again on demand.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (EventsWorker, APILogWorker):
        service.drain_all(timeout=30)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _collected.update(item.nodeid for item in items if item.get_closest_marker("fuzz"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and report.nodeid in _collected:
        _passed.add(report.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _collected and _passed == _collected and TALLY.inputs < MINIMUM:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.inputs:
        terminalreporter.write_sep("-", "fuzz")
        terminalreporter.write_line(TALLY.line())
        if _collected and _passed == _collected and TALLY.inputs < MINIMUM:
            terminalreporter.write_line(f"FAILED: fewer than {MINIMUM} fuzzed inputs")
