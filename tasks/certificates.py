"""Certificate issuance (K1–K4) as a task: one transaction over all confirmed leads; a PDF
written before a failure is overwritten by the next run with the same number
(services/certificates.py), so numbering has no gap.
"""

from __future__ import annotations

from datetime import datetime

from prefect.context import FlowRunContext

from sangsaeng.config import load_program
from sangsaeng.db import session_scope
from sangsaeng.domain.certificates import number_ranges
from sangsaeng.rejections import keep_rejections
from sangsaeng.services import certificates, rounds
from sangsaeng.settings import get_settings
from tasks.results import Issued
from tasks.steps import step_task


def printer() -> certificates.Printer:
    """The PDF printer for this process's settings and program."""
    settings = get_settings()
    return certificates.Printer(settings, load_program(settings.config_dir),
                                served=on_work_pool())


def on_work_pool() -> bool:
    """A served installation (docs/deploy.md): this flow run was taken by a work pool's worker.

    Not `sangsaeng serve`'s runs (the one-machine default, served from its own process), nor
    in-process runs (the CLI, the tests)."""
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.work_pool_name)


@step_task
def issue_certificates(round_id: str, now: datetime, actor: str) -> Issued:
    """K1–K4: number, date, print and notify every confirmed lead not yet certified."""
    with session_scope() as session:
        rnd = rounds.get_round(session, round_id)
        done = certificates.issue(session, rnd, printer(), now=now, actor=actor)
        state = rnd.state
    kept = keep_rejections(get_settings().var_dir, f"{round_id}-no-certificate",
                           [line for _, line in done.skipped], now) if done.skipped else None
    why: dict[str, int] = {}
    for reason, _ in done.skipped:
        why[reason] = why.get(reason, 0) + 1
    return Issued(len(done.numbers), number_ranges(done.numbers), why,
                  str(kept) if kept else None, done.notices, state, done.address_warning)
