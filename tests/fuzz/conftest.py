"""The fuzz suite's fixture; its tally (MINIMUM fuzzed inputs) is the plugin tests/fuzz/tally.py,
which tests/conftest.py registers (it must run in pytest-xdist's controller too, which does not
load this conftest)."""

from __future__ import annotations

import pytest


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
