"""The round's tasks. One task per step over all rows (batched), never one per application.

Each takes ids and small values, calls one `sangsaeng` service in one transaction, and returns
a small typed result (`tasks.results`) that includes the round's new state.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import IntegrityError

from sangsaeng import crashpoints
from sangsaeng.config import load_program, load_round
from sangsaeng.db import session_scope
from sangsaeng.domain.ranking import ChairAction, ChairDecision
from sangsaeng.rejections import keep_rejections
from sangsaeng.services import intake, review, rounds, screening, selection, uploads
from sangsaeng.services.round_data import supplement_deadline_of
from sangsaeng.services.round_files import config_file, default_package
from sangsaeng.settings import REPO_ROOT, get_settings
from tasks.results import (
    SAMPLE,
    Cancelled,
    ChairRecorded,
    Closed,
    Imported,
    Opened,
    Proposed,
    Released,
    Screened,
)

# Business steps change the database: never cache them; a re-run is made safe by state checks.
step_task = task(cache_policy=NO_CACHE, persist_result=False)

P = ParamSpec("P")
R = TypeVar("R")
RACE_ATTEMPTS = 3


def again_if_raced(step: Callable[P, R]) -> Callable[P, R]:
    """Run an idempotent step again, in a new transaction, when it lost a race: another run of
    the same step (a second process importing the same package) committed the same keys first,
    and this one's transaction was rolled back on the unique key. The next attempt finds those
    rows and adds nothing twice."""

    @functools.wraps(step)
    def attempts(*args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(RACE_ATTEMPTS - 1):
            try:
                return step(*args, **kwargs)
            except IntegrityError:
                continue  # rolled back whole by session_scope: nothing of it was kept
        return step(*args, **kwargs)

    return attempts


@step_task
@again_if_raced
def open_round(config_ref: str, now: datetime, actor: str) -> Opened:
    """R1/R3: register the round from its configuration file (a round id names
    config/rounds/<id>.toml; the CLI gives a path); R2: publish the call."""
    config_dir = get_settings().config_dir
    program = load_program(config_dir)
    with session_scope() as session:
        config = load_round(config_file(session, config_dir, config_ref), program)
        rnd = rounds.register_round(session, program, config, now=now, actor=actor)
        opened = rounds.open_round(session, rounds.require_active(session, rnd), now=now,
                                   actor=actor)
        return Opened(rnd.id, opened, rnd.state, rnd.closes_at, supplement_deadline_of(rnd))


@step_task
@again_if_raced
def import_package(round_id: str, data_path: str, now: datetime, actor: str) -> Imported:
    """INTERFACES §2: read the package and store what is new; rejected rows are listed.

    No `data_path`: the round's latest upload, else the repository's data/rounds/<id>/package.
    """
    with session_scope() as session:
        rnd = rounds.get_active_round(session, round_id)
        inbox = get_settings().inbox_dir
        path = uploads.local_copy(session, Path(data_path.strip()), inbox) \
            if data_path.strip() else default_package(round_id, inbox, REPO_ROOT / "data",
                                                      session)
        package = intake.read_round_package(session, rnd, path)
        uploads.keep_read(session, round_id, path, inbox)
        summary = intake.import_package(session, rnd, package, now=now, actor=actor)
        state = rnd.state
    errors = [str(e) for e in summary.errors]
    kept = keep_rejections(get_settings().var_dir, round_id, errors, now) \
        if len(errors) > SAMPLE else None
    return Imported(summary.added, summary.corrected, summary.unchanged, len(errors),
                    tuple(errors[:SAMPLE]), str(kept) if kept else None, state,
                    shown_path(path))


def shown_path(path: Path) -> str:
    """A package's path as the run's log shows it: under `<var>` relative to it (an upload in
    `inbox/<round>/`), under the repository relative to that, else as given."""
    for root in (get_settings().var_dir, REPO_ROOT):
        with contextlib.suppress(ValueError):
            return str(path.resolve().relative_to(root.resolve()))
    return str(path)


@step_task
def close_intake(round_id: str, now: datetime, actor: str) -> Closed:
    """T2: close intake once the deadline has passed."""
    with session_scope() as session:
        rnd = rounds.get_active_round(session, round_id)
        closed = rounds.close_intake(session, rnd, now=now, actor=actor)
        return Closed(closed, rnd.state, rnd.closes_at)


@step_task
def screen(round_id: str, now: datetime, actor: str) -> Screened:
    """§4: screen all pending applications in one pass."""
    with session_scope() as session:
        rnd = rounds.get_active_round(session, round_id)
        result = screening.screen(session, rnd, now=now, actor=actor)
        return Screened({str(k): v for k, v in result.moved.items()}, result.waiting,
                        result.supplement_deadline, rnd.state)


@step_task
def propose(round_id: str, now: datetime, actor: str) -> Proposed:
    """§5: aggregate, rank and record the committee's pending decision."""
    with session_scope() as session:
        rnd = rounds.get_active_round(session, round_id)
        result = review.propose_decisions(session, rnd, now=now, actor=actor)
        return Proposed({str(k): v for k, v in result.proposed.items()}, len(result.excluded),
                        tuple(result.excluded[:SAMPLE]), rnd.state)


@step_task
def decide(round_id: str, approve: bool, exclude: list[tuple[str, str]],
           include: list[tuple[str, str]], reason: str, now: datetime, actor: str
           ) -> ChairRecorded:
    """V10: record the chair's decision: the approval (review → decided), or a refusal that
    changes nothing but the audit trail."""
    crashpoints.reach("committee_review-before-chair-decision",
                      "proposal committed, the chair's decision not yet recorded")
    with session_scope() as session:
        rnd = rounds.get_active_round(session, round_id)
        if not approve:
            review.refuse(session, rnd, reason=reason, now=now, actor=actor)
            return ChairRecorded(False, 0, rnd.state)
        chair = ChairDecision(approve=True,
                              exclude=tuple(ChairAction(r, why) for r, why in exclude),
                              include=tuple(ChairAction(r, why) for r, why in include))
        changes = review.approve(session, rnd, chair, now=now, actor=actor)
        return ChairRecorded(True, changes, rnd.state)


@step_task
def release(round_id: str, now: datetime, actor: str) -> Released:
    """V10: release the approved decisions and owe the selection notices."""
    with session_scope() as session:
        rnd = rounds.get_active_round(session, round_id)
        counts = selection.release(session, rnd, now=now, actor=actor)
        return Released({str(k): v for k, v in counts.items()}, rnd.state)


@step_task
def cancel_round(round_id: str, reason: str, now: datetime, actor: str) -> Cancelled:
    """The office withdraws the call (before the release); returns the round's cancellation."""
    with session_scope() as session:
        rnd = rounds.get_round(session, round_id)
        cancelled = rounds.cancel_round(session, rnd, reason=reason, now=now, actor=actor)
        event = rounds.cancellation(session, rnd)
        assert event is not None  # cancelled now or before
        return Cancelled(cancelled, event.at, event.reason, event.actor)
