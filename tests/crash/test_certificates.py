"""Issue 13 §3: certificate_issuance killed (SIGKILL) after k of its 29 PDFs were written,
inside the write of one PDF (before its rename), and after its rows were flushed; then
`round run` again. No number is skipped or used twice (K2/K2a), every certificate's PDF is
the file its row names and hashes, and the rerun ends as an undisturbed run."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.crash.harness import ROUND, Snapshot, Workspace, query
from tests.crash.steps import Case, assert_same, crash_then_rerun

pytestmark = pytest.mark.crash

NO_CERTIFICATE = "SELECT count(*) FROM certificate"
CASES = [
    Case("certificate_issuance-after-pdf-written@10", "10 of 29 PDFs written", "notified",
         NO_CERTIFICATE, 0, pdfs=10),
    Case("certificate-pdf-before-rename@10", ".tmp written", "notified", NO_CERTIFICATE, 0,
         pdfs=9),
    Case("certificate_issuance-after-certificates-flushed", "29 certificate(s)", "notified",
         NO_CERTIFICATE, 0, pdfs=29),
]


def assert_numbering(ws: Workspace, point: str) -> None:
    """K2: per (year, track) the numbers run 0001…n without a gap, none twice; every row's PDF
    is on disk with the row's digest, and no other certificate file is there."""
    rows = query(ws.db, "SELECT number, issue_year, track_code, seq, version, pdf_sha256 "
                        "FROM certificate ORDER BY number")
    assert len(rows) == 29, f"after the kill at {point}: {len(rows)} certificates, expected 29"
    numbers = [r[0] for r in rows]
    assert len(set(numbers)) == len(numbers), f"after the kill at {point}: a number twice"
    by_track: dict[tuple[int, str], list[int]] = {}
    for number, year, track, seq, _, _ in rows:
        assert re.fullmatch(rf"{year % 100:02d}-{track}{seq:04d}", number), number
        by_track.setdefault((year, track), []).append(seq)
    for (year, track), seqs in by_track.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), (
            f"after the kill at {point}: {year} {track} numbers {sorted(seqs)} skip or repeat")
    folder = ws.var / "certificates" / ROUND
    visible = sorted(f.name for f in folder.iterdir() if not f.name.startswith("."))
    assert visible == sorted(f"{r[0]}-v{r[4]}.pdf" for r in rows), (
        f"after the kill at {point}: certificate files other than the rows' PDFs: {visible}")
    for number, *_, version, sha in rows:
        data = (folder / f"{number}-v{version}.pdf").read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), number
        assert hashlib.sha256(data).hexdigest() == sha, (
            f"after the kill at {point}: {number}'s PDF is not the one its row hashes")
    owed = query(ws.db, "SELECT subject_id FROM outboxmessage WHERE kind = 'certificate.issued'"
                        " AND state = 'sent' ORDER BY subject_id")
    assert [o[0] for o in owed] == numbers, (
        f"after the kill at {point}: certificate.issued sent for {owed}, not once per number")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_certificate_issuance_killed_and_run_again_skips_and_repeats_no_number(
    workspace: Workspace, undisturbed: Snapshot, case: Case
) -> None:
    rerun = crash_then_rerun(workspace, case)
    assert_numbering(workspace, case.point)
    assert_same(undisturbed, rerun, case)
