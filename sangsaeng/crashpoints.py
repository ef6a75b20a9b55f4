"""Crash points: a test hook that kills this process at a named point (issue 13 §3).

Test hook only. It is armed only when the environment says so explicitly twice: the test
mode `SANGSAENG_TEST_MODE=1` (never set in use) and `SANGSAENG_CRASH_AT`. Without the test mode
the crash point is ignored, so a stray `SANGSAENG_CRASH_AT` in a production environment kills
nothing; without either, every `reach()` returns at once. Armed, it names one point,
optionally the N-th time it is reached:

    SANGSAENG_TEST_MODE=1 SANGSAENG_CRASH_AT=intake-after-applications-flushed
    SANGSAENG_TEST_MODE=1 SANGSAENG_CRASH_AT=certificate_issuance-after-pdf-written@10

and the process sends itself SIGKILL there — no `finally`, no rollback, no atexit, as a power
cut or the OOM killer would end it — after one line on stderr naming the point and what was
in flight. The crash suite (tests/crash/) runs a step that way, runs it again, and compares
the outcome with an undisturbed run's.

The points sit inside a step's transaction after some of its rows were flushed, between the
transactions of a step, and in the sender between the server's acceptance of a message and
the write of its `sent` state (the worst case for duplicates).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

ENV = "SANGSAENG_CRASH_AT"
TEST_MODE_ENV = "SANGSAENG_TEST_MODE"  # issue 21 item 7: crash points fire only in a test run

_target: tuple[str, int] | None = None
_read = False
_counts: dict[str, int] = {}
_lock = threading.Lock()


def _armed() -> tuple[str, int] | None:
    """The point named by SANGSAENG_CRASH_AT and its occurrence, if SANGSAENG_TEST_MODE=1
    (read once per process)."""
    global _target, _read
    if not _read:
        value = os.environ.get(ENV, "").strip()
        if value and os.environ.get(TEST_MODE_ENV, "").strip() == "1":
            name, _, nth = value.partition("@")
            _target = (name.strip(), int(nth) if nth.strip() else 1)
        _read = True
    return _target


def reach(name: str, detail: str = "") -> None:
    """Crash point `name`: SIGKILL this process if SANGSAENG_CRASH_AT names it (and this is
    the N-th time it is reached) in test mode; else nothing."""
    target = _target if _read else _armed()
    if target is None or target[0] != name:
        return
    with _lock:
        _counts[name] = seen = _counts.get(name, 0) + 1
    if seen != target[1]:
        return
    sys.stderr.write(f"crash point {name}@{seen} reached: SIGKILL"
                     + (f" ({detail})" if detail else "") + "\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
