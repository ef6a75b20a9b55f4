"""The office's after-selection inputs (INTERFACES §5: production, changes, cancellations,
cost claims, listing, evaluations) from files (`support import`) or a typed form: each kind
in its own transaction over all its rows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sangsaeng.db import session_scope
from sangsaeng.io.after_selection import SupportFiles, read_support
from sangsaeng.io.sources import rows_refused
from sangsaeng.rejections import keep_rejections
from sangsaeng.services import after_selection, uploads
from sangsaeng.settings import get_settings
from tasks.certificates import printer
from tasks.results import SAMPLE, SupportApplied
from tasks.steps import step_task


def apply_support(found: SupportFiles, now: datetime, actor: str) -> SupportApplied:
    """Apply after-selection rows in order, each kind in its own transaction
    (services/after_selection.py); past SAMPLE refused rows, all of them go to a file."""
    done = after_selection.apply(found, now, actor, printer(), session_scope)
    refused = [str(error) for error in done.refused]
    kept = keep_rejections(get_settings().var_dir, "support", refused, now) \
        if len(refused) > SAMPLE else None
    return SupportApplied(done.recorded, done.unchanged, tuple(done.refused[:SAMPLE]),
                          len(refused), rows_refused(done.refused), str(kept) if kept else None,
                          tuple(done.rounds_to_issue), tuple(found.not_read),
                          tuple(done.pending))


@step_task
def import_support(path: str, now: datetime, actor: str) -> SupportApplied:
    """INTERFACES §5 `support import`: read the files at `path` (an upload received by
    another machine: copied from the program database) and apply their good rows."""
    with session_scope() as session:
        found = uploads.local_copy(session, Path(path), get_settings().inbox_dir)
    return apply_support(read_support(found), now, actor)


@step_task
def record_support(form: SupportFiles, now: datetime, actor: str) -> SupportApplied:
    """The same from a typed form (one kind at a time, e.g. `SupportFiles(changes=[…])`)."""
    return apply_support(form, now, actor)
