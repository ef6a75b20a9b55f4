"""The fuzz suite's tally: printed at the end of the session ("fuzzed inputs: N, tracebacks: 0,
partial rows: 0"); a full run of the suite that fuzzed fewer than MINIMUM inputs fails.

A plugin that tests/conftest.py registers, so that it runs in pytest-xdist's controller too:
there each worker fuzzes its share and hands its tally and the fuzz tests it collected to the
controller (`workeroutput`), which adds them up and judges the whole run."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

import pytest

from tests.fuzz.properties import TALLY

MINIMUM = 10_000
_collected: set[str] = set()
_passed: set[str] = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _collected.update(item.nodeid for item in items if item.get_closest_marker("fuzz"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        _passed.add(report.nodeid)


def _too_few() -> bool:
    """Every fuzz test of the session ran and passed, yet fewer than MINIMUM inputs."""
    return bool(_collected) and _collected <= _passed and TALLY.inputs < MINIMUM


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # an xdist worker: the controller judges the whole run
        worker_output["fuzz_tally"] = asdict(TALLY)
        worker_output["fuzz_collected"] = sorted(_collected)
        return
    if _too_few():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist's controller: a worker finished; add its tally and what it collected."""
    output = getattr(node, "workeroutput", None) or {}
    _collected.update(output.get("fuzz_collected", ()))
    for field in fields(TALLY):
        counted = output.get("fuzz_tally", {}).get(field.name, 0)
        setattr(TALLY, field.name, getattr(TALLY, field.name) + counted)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.inputs:
        terminalreporter.write_sep("-", "fuzz")
        terminalreporter.write_line(TALLY.line())
        if _too_few():
            terminalreporter.write_line(f"FAILED: fewer than {MINIMUM} fuzzed inputs")
