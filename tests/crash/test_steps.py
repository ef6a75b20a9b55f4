"""Issue 13 §3: each step of the round killed (SIGKILL) in the middle of its transaction — or
between the two transactions of committee_review — then `round run` again. The kill leaves the
database as it was before the step, nothing is sent, and the rerun ends exactly as an
undisturbed run: same database (ids and wall-clock times aside), same exports, the same
messages (recipient, subject, Message-ID) each sent once."""

from __future__ import annotations

import pytest

from tests.crash.harness import Snapshot, Workspace
from tests.crash.steps import Case, assert_same, crash_then_rerun

pytestmark = pytest.mark.crash

CASES = [
    Case("open_call-after-call-published", "round registered and opened", None,
         "SELECT count(*) FROM auditevent", 0),
    Case("intake-after-applications-flushed", "36 new application(s) flushed", "open",
         "SELECT count(*) FROM application", 0),
    Case("close_intake-after-state-moved", "round closed", "open",
         "SELECT count(*) FROM auditevent WHERE to_state = 'closed'", 0),
    Case("screening-after-verdicts-flushed", "36 verdict(s) flushed", "closed",
         "SELECT count(*) FROM application WHERE state != 'received'", 0),
    Case("committee_review-after-proposal-flushed", "27 decision(s) proposed", "screening",
         "SELECT count(*) FROM decision", 0),
    Case("committee_review-before-chair-decision", "proposal committed", "review",
         "SELECT count(*) FROM decision WHERE approved_at IS NULL", 27),
    Case("committee_review-after-approval-flushed", "27 decision(s) approved", "review",
         "SELECT count(*) FROM decision WHERE approved_at IS NOT NULL", 0),
    Case("selection_notice-after-decisions-released", "27 decision(s) released", "decided",
         "SELECT count(*) FROM application WHERE state IN ('selected', 'not_selected')", 0),
    Case("mall_listing_support-after-state-moved", "round moved to support", "certifying",
         "SELECT count(*) FROM auditevent WHERE to_state = 'support'", 0, pdfs=29),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_step_killed_mid_transaction_and_run_again_ends_as_an_undisturbed_run(
    workspace: Workspace, undisturbed: Snapshot, case: Case
) -> None:
    assert_same(undisturbed, crash_then_rerun(workspace, case), case)
