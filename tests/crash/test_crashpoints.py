"""The hook itself: SANGSAENG_CRASH_AT=name[@N] kills the process by SIGKILL at the N-th time
`name` is reached, and nowhere else; unset, `reach` does nothing; and it fires only in test mode
(SANGSAENG_TEST_MODE=1), never in a production run (issue 21 item 7)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.crash.harness import KILLED

pytestmark = pytest.mark.crash

SCRIPT = """
from sangsaeng import crashpoints
for i in range(1, 4):
    crashpoints.reach("other-point")
    crashpoints.reach("the-point", f"pass {i}")
    print(f"passed {i}", flush=True)
"""


def run(crash_at: str | None, test_mode: str | None = "1") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SANGSAENG_CRASH_AT", "SANGSAENG_TEST_MODE")}
    if crash_at is not None:
        env["SANGSAENG_CRASH_AT"] = crash_at
    if test_mode is not None:
        env["SANGSAENG_TEST_MODE"] = test_mode
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize(("crash_at", "passed", "code"), [
    (None, 3, 0), ("the-point", 0, KILLED), ("the-point@2", 1, KILLED),
    ("the-point@4", 3, 0), ("no-such-point", 3, 0)],
    ids=["unset", "first-reach", "second-reach", "never-reached-4-times", "other-name"])
def test_the_named_point_kills_at_its_nth_reach_only(crash_at: str | None, passed: int,
                                                     code: int) -> None:
    done = run(crash_at)
    assert done.returncode == code, done.stderr
    assert done.stdout.split("\n")[:-1] == [f"passed {i}" for i in range(1, passed + 1)]
    if code == KILLED:
        assert done.stderr == f"crash point the-point@{passed + 1} reached: SIGKILL " \
                              f"(pass {passed + 1})\n"


@pytest.mark.parametrize("test_mode", [None, "", "0", "yes"],
                         ids=["unset", "empty", "zero", "not-one"])
def test_a_crash_point_does_not_fire_outside_test_mode(test_mode: str | None) -> None:
    """A production run (no SANGSAENG_TEST_MODE=1) ignores SANGSAENG_CRASH_AT entirely."""
    done = run("the-point", test_mode)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:-1] == [f"passed {i}" for i in range(1, 4)]
    assert done.stderr == ""
