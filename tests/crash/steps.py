"""One crash case: the round run killed at a crash point, what the kill must leave behind, then
the same command again, to the end of the round."""

from __future__ import annotations

from dataclasses import dataclass

from tests.crash.harness import (
    ROUND_RUN,
    Snapshot,
    Workspace,
    completed,
    differences,
    killed_at,
    mailbox,
    pdfs,
    query,
    snapshot,
)


@dataclass(frozen=True)
class Case:
    """Where the round run is killed and what the database holds afterwards."""

    point: str  # SANGSAENG_CRASH_AT: the crash point, `@N` for its N-th time
    flushed: str  # what the hook's line says was written but not committed
    state: str | None  # the round's state the kill leaves (None: no round at all)
    probe: str  # SQL counting the killed step's own rows …
    found: int  # … as the kill leaves them
    pdfs: int = 0  # certificate PDFs on disk after the kill

    @property
    def id(self) -> str:
        return self.point.replace("@", "-at-")


def crash_then_rerun(ws: Workspace, case: Case) -> Snapshot:
    """Kill `round run` at `case.point`, check what the kill left, run it again to the end."""
    line = killed_at(ws.run(*ROUND_RUN, crash_at=case.point), case.point)
    assert case.flushed in line, f"{case.point}: the kill came before any row was flushed: {line}"
    rounds = query(ws.db, "SELECT state FROM round")
    state = rounds[0][0] if rounds else None
    assert state == case.state, (
        f"killed at {case.point}: the round is {state}, expected {case.state} (the killed "
        "step's transaction must leave nothing behind)")
    (found,) = query(ws.db, case.probe)[0]
    assert found == case.found, (
        f"killed at {case.point}: `{case.probe}` finds {found}, expected {case.found} "
        "(rows of the killed transaction survived the kill)")
    assert len(pdfs(ws)) == case.pdfs, (
        f"killed at {case.point}: {len(pdfs(ws))} certificate PDFs on disk, expected {case.pdfs}")
    assert not mailbox(ws), f"killed at {case.point}: a message was sent before the delivery"
    completed(ws.run(*ROUND_RUN), f"the round run again after the kill at {case.point}")
    return snapshot(ws)


def assert_same(undisturbed: Snapshot, rerun: Snapshot, case: Case) -> None:
    """The rerun after the kill equals the undisturbed run: nothing lost, nothing twice."""
    problems = differences(undisturbed, rerun, what=f"the kill at {case.point} and a rerun")
    assert not problems, "\n".join(problems)
