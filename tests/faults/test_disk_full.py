"""Fault: the disk fills up while exports or certificate PDFs are written.

Injected for real: a small tmpfs mounted for the test (`mount -t tmpfs -o size=…`; the tests
run as root, here and in CI) as the folder the office writes to — the `--out` folder of
`sangsaeng export …`, and `<SANGSAENG_VAR_DIR>/certificates` of the round's certificate
issuance — filled to the last page by a filler file where needed. Unmounted in a `finally`.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from sangsaeng.db import get_engine, session_scope
from sangsaeng.models import Certificate
from tests.faults.conftest import EXPECTED, NOW, cli, error_lines, plain, run_round

pytestmark = pytest.mark.usefixtures("prefect_harness")

PAGE = 4096
NUMBERS = [*(f"22-IG{n:04d}" for n in range(1, 8)), *(f"22-MP{n:04d}" for n in range(1, 19)),
           "22-TC0001", *(f"22-VC{n:04d}" for n in range(1, 4))]


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` while the block runs (skips if not permitted)."""
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                               str(where)], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("no mount(8) here: a real full disk needs a tmpfs mount")
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN), which this runner lacks: "
                    f"{done.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, room: int) -> Path:
    """Fill `disk` to the last page, then leave `room` bytes (whole pages) free; the filler."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        while True:
            try:
                os.write(fd, b"\0" * PAGE)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        os.ftruncate(fd, os.fstat(fd).st_size - room)
    finally:
        os.close(fd)
    return filler


def left_on(disk: Path) -> list[str]:
    return sorted(p.relative_to(disk).as_posix() for p in disk.rglob("*"))


def content(path: Path) -> object:
    """A file as the office reads it: the XLSX's cells (its zip stamps the time), else bytes."""
    if path.suffix != ".xlsx":
        return path.read_bytes()
    workbook = load_workbook(path, read_only=True)
    try:
        sheet = workbook.active
        assert sheet is not None
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


EXPORTS = {  # what the office exports, and the free room left when it does
    "decisions.csv": (("export", "decisions"), 0),
    "selection.xlsx": (("export", "selection", "--format", "xlsx"), PAGE),
    "certificates.csv": (("export", "certificates", "--now", NOW, "--reason", "확인서 대장 점검"),
                         PAGE),
}


def test_exports_on_a_full_disk_fail_in_one_line_and_leave_no_half_written_file(
        env: Path, tmp_path: Path) -> None:
    """Fault: the `--out` folder of `sangsaeng export decisions|selection|certificates` is a
    tmpfs filled to the last page (decisions.csv) or to one page short of the file (the XLSX
    and certificates.csv are larger than a page: a plain write stops halfway)."""
    code, _, stderr = run_round()
    assert code == 0, stderr
    undisturbed = tmp_path / "undisturbed"
    for name, (args, _) in EXPORTS.items():
        assert cli(*args, "--round", "2022-2", "--out", str(undisturbed / name))[0] == 0
        assert (undisturbed / name).stat().st_size > PAGE or name == "decisions.csv"
    with tmpfs(tmp_path / "disk", "1m") as disk:
        for name, (args, room) in EXPORTS.items():
            filler = fill(disk, room)
            code, _, stderr = cli(*args, "--round", "2022-2", "--out", str(disk / name))
            assert code == 1 and "Traceback" not in stderr
            assert error_lines(stderr) == [f"error: No space left on device: {disk / name}"]
            assert left_on(disk) == ["filler"]  # no truncated export, no temporary file
            filler.unlink()  # space is freed: the same command writes the whole file
            assert cli(*args, "--round", "2022-2", "--out", str(disk / name))[0] == 0
            assert content(disk / name) == content(undisturbed / name)
            (disk / name).unlink()
    assert plain((undisturbed / "decisions.csv").read_text(encoding="utf-8")) == plain(
        (EXPECTED / "decisions.csv").read_text(encoding="utf-8-sig"))


def certificates() -> dict[str, str]:
    with session_scope(get_engine()) as session:
        return {c.number: c.pdf_sha256 for c in session.scalars(select(Certificate))}


def test_certificate_issuance_on_a_full_disk_numbers_nothing_and_leaves_no_pdf(
        env: Path) -> None:
    """Fault: `<var>/certificates` is a 1 MB tmpfs; the round's certificate_issuance step
    (`sangsaeng round run`) fills it about halfway through the 29 PDFs (~66 KB each)."""
    code, _, stderr = run_round("--until", "selection_notice")
    assert code == 0, stderr
    with tmpfs(env / "certificates", "1m") as disk:
        code, stdout, stderr = run_round()
        assert code == 1 and "Traceback" not in stderr
        (line,) = error_lines(stderr)
        assert line.startswith(f"error: cannot write {disk / '2022-2'}/22-")
        assert line.endswith(".pdf: No space left on device")
        assert certificates() == {}  # nothing numbered (so nothing numbered without its PDF)
        assert left_on(disk) == ["2022-2"]  # no PDF of an unissued number, no temporary file
        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)  # freed
        code, stdout, stderr = run_round()
        assert code == 0, stderr
        assert "round 2022-2: support" in stdout
        issued = certificates()
        assert sorted(issued) == NUMBERS
        pdfs = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in (disk / "2022-2").iterdir()}
        assert pdfs == {f"{n}-v1.pdf": sha for n, sha in issued.items()}
        shutil.rmtree(disk / "2022-2")
