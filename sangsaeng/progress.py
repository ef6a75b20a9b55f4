"""Progress of long steps, shown by whoever is watching (the CLI's rich bar, or nothing).

A process-wide hook rather than a context variable: Prefect runs tasks in worker threads.
"""

from __future__ import annotations

from collections.abc import Callable

Reporter = Callable[[str, int, int], None]
_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    """Install (or remove with None) the function called as `reporter(step, done, total)`."""
    global _reporter
    _reporter = reporter


def report(step: str, done: int, total: int) -> None:
    """Tell the watcher that `done` of `total` items of `step` are finished."""
    if _reporter is not None:
        _reporter(step, done, total)
