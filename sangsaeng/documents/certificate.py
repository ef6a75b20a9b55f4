"""Certificate PDFs (상생협력 확인서): one A4 page in Korean, rendered with typst (INTERFACES §5).

The page shows the K4 fields, the program and track, the issue date, the issuing authority and a
QR code of the verification address. Data reaches the template `templates/documents/
certificate.ko.typ` only as JSON in typst's `sys.inputs`, where every value is a string shown as
text: a company called `#panic("x")` or `*bold*` is printed as written, never evaluated.

Fonts are the Nanum fonts of Debian's `fonts-nanum` (`make install`), embedded as subsets; the
system's other fonts and typst's bundled ones are ignored, so the bytes do not depend on what
else a machine has installed. The same document gives the same bytes: the PDF's creation time is
the issue date at 00:00 KST. Given signing keys, every PDF is signed where it is rendered (in
the pool's workers), at that same time (`sealing.py`): signed, the same document still gives
the same bytes.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import re
import secrets
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import segno
import typst

from sangsaeng import crashpoints
from sangsaeng.documents.signing import SigningKeys
from sangsaeng.errors import DocumentError

if TYPE_CHECKING:
    from sangsaeng.documents.sealing import PdfSealer

TEMPLATE = Path("documents") / "certificate.ko.typ"
FONT_DIR_ENV = "SANGSAENG_FONT_DIR"
DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/nanum")  # Debian's fonts-nanum
FONT_FAMILY = "NanumMyeongjo"  # the template's font (regular and bold)
KST = timezone(timedelta(hours=9), "KST")  # T1; a fixed offset, as typst's timestamp wants
# Below this many documents a pool does not pay: starting its workers (fresh interpreters,
# typst, the fonts) costs ~15–25 renders on 2 CPUs, more when the forkserver itself starts
# (bench/README.md "Certificate PDFs").
POOL_MIN_DOCS = 64
QR_MASK = 2  # ISO/IEC 18004 mask pattern 2: (column) mod 3 == 0
_CHUNK = 16  # documents per task sent to a worker: fewer round trips, bounded memory
_PLAIN_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")


@dataclass(frozen=True, slots=True)
class CertificateDocument:
    """What one version of a certificate shows (K4 fields, K3 period; INTERFACES §5)."""

    number: str  # K2, e.g. "22-IG0001"
    version: int  # 1, then 2, 3, … on reissue
    issued_on: date  # this version's issue date (KST)
    valid_from: date
    valid_to: date
    lead_name: str
    representative: str
    address: str
    product_code: str
    product_name: str
    partners: tuple[tuple[str, str], ...]  # (name, BRN) in order; K4 shows name(BRN)
    track_name: str  # e.g. "혁신성장"
    program_name: str  # "공공조달 상생협력 지원제도"
    issuer: str  # the issuing authority, e.g. "중소벤처기업부장관"
    verify_url: str  # the verification address (SANGSAENG_VERIFY_URL + number)


def format_period(valid_from: date, valid_to: date) -> str:
    """K4: the period as the public 확인서 API writes it, `YYYYMMDD ~ YYYYMMDD`."""
    return f"{valid_from:%Y%m%d} ~ {valid_to:%Y%m%d}"


def format_partner(name: str, brn: str) -> str:
    """K4: a partner company as `name(BRN)`."""
    return f"{name}({brn})"


def signing_time(doc: CertificateDocument) -> datetime:
    """The PDF's creation and signing time: the issue date at 00:00 KST (same doc, same bytes)."""
    return datetime.combine(doc.issued_on, time(), tzinfo=KST)


def signing_reason(doc: CertificateDocument) -> str:
    """What the signature says it is for (a PDF reader shows it; `verify --pdf` reads it)."""
    return f"공공조달 상생협력 확인서 {doc.number} (제{doc.version}판) 발급"


def _korean_date(day: date) -> str:
    return f"{day.year}년 {day.month}월 {day.day}일"


def _qr_svg(url: str) -> str:
    """The verification address as a QR code (SVG text, error correction M).

    One fixed mask pattern (any of the eight is valid and every reader decodes it): segno's
    search for the best mask scores all eight, ~5 ms CPU per certificate, more than signing
    it costs (bench/README.md "Certificate PDFs", issue 25)."""
    out = io.BytesIO()
    segno.make_qr(url, error="m", mask=QR_MASK).save(out, kind="svg", border=2,
                                                      xmldecl=False, nl=False)
    return out.getvalue().decode("ascii")


def template_data(doc: CertificateDocument) -> dict[str, object]:
    """The template's `sys.inputs.data`: every value already formatted, nothing to evaluate."""
    return {
        "number": doc.number,
        "version": doc.version,
        "lead_name": doc.lead_name,
        "representative": doc.representative,
        "address": doc.address,
        "product_code": doc.product_code,
        "product_name": doc.product_name,
        "partners": [format_partner(name, brn) for name, brn in doc.partners],
        "track_name": doc.track_name,
        "program_name": doc.program_name,
        "issuer": doc.issuer,
        "period": format_period(doc.valid_from, doc.valid_to),
        "period_long": f"{_korean_date(doc.valid_from)}부터 {_korean_date(doc.valid_to)}까지",
        "issued_on_long": _korean_date(doc.issued_on),
        "verify_url": doc.verify_url,
        "qr_svg": _qr_svg(doc.verify_url),
    }


def font_dir() -> Path:
    """Where the Nanum fonts are: `SANGSAENG_FONT_DIR`, else Debian's fonts-nanum folder."""
    return Path(os.environ.get(FONT_DIR_ENV) or DEFAULT_FONT_DIR)


def _load_fonts(folder: Path) -> typst.Fonts:
    """The Nanum fonts only (no system or bundled fonts); refuses a folder without them."""
    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False,
                        font_paths=[str(folder)])
    if FONT_FAMILY not in fonts.families():
        raise DocumentError(f"no Korean font ({FONT_FAMILY}) in {folder}: run `make install` "
                            f"(it installs Debian's fonts-nanum) or set {FONT_DIR_ENV}")
    return fonts


def _read_template(templates_dir: Path) -> bytes:
    path = templates_dir / TEMPLATE
    try:
        return path.read_bytes()
    except OSError as error:
        raise DocumentError(f"cannot read the certificate template {path}: "
                            f"{error.strerror or error}") from error


class PdfRenderer:
    """Renders certificates with one typst compiler: template and fonts are loaded once.

    `fonts_dir` is the Nanum fonts' folder (default: `font_dir()`); with `signing`, every PDF
    is signed with that key (INTERFACES §6). Safe to share between threads (they take turns);
    give each process its own.
    """

    def __init__(self, templates_dir: Path, *, fonts_dir: Path | None = None,
                 signing: SigningKeys | None = None) -> None:
        self._source = _read_template(templates_dir)
        self._root = str(templates_dir / TEMPLATE.parent)
        fonts = _load_fonts(fonts_dir or font_dir())
        self._compiler = typst.Compiler(font_paths=fonts, ignore_system_fonts=True)
        self._lock = threading.Lock()  # one compilation at a time per compiler
        self._sealer: PdfSealer | None = None
        if signing is not None:
            from sangsaeng.documents.sealing import PdfSealer  # pyHanko: ~0.6 s to import

            self._sealer = PdfSealer(signing)

    def render(self, doc: CertificateDocument) -> bytes:
        """One certificate version as PDF bytes (K4 fields, INTERFACES §5); same doc, same bytes."""
        if doc.version < 1:
            raise DocumentError(f"certificate {doc.number}: version {doc.version} is not 1 or more")
        inputs = {"data": json.dumps(template_data(doc), ensure_ascii=False)}
        stamp = signing_time(doc)
        try:
            with self._lock:
                # typst 0.15.2: a Compiler built with the source compiles it only once, so the
                # source goes with each call (typst caches the parse).
                pdf = self._compiler.compile(self._source, format="pdf", root=self._root,
                                             sys_inputs=inputs, timestamp=stamp)
        except typst.TypstError as error:
            message = " ".join(str(error.message).split())
            raise DocumentError(f"certificate {doc.number}: the PDF template failed: "
                                f"{message}") from error
        assert isinstance(pdf, bytes)  # one PDF, no output path: bytes
        if self._sealer is None:
            return pdf
        return self._sealer.seal(pdf, at=stamp, reason=signing_reason(doc))


def render_all(templates_dir: Path, docs: Sequence[CertificateDocument], *,
               workers: int | None = None, signing: SigningKeys | None = None
               ) -> Iterator[bytes]:
    """PDF bytes in the order of `docs`, in worker processes when it pays (INTERFACES §5).

    `workers=None`: a pool of one process per usable CPU when there are `POOL_MIN_DOCS` or more
    documents and more than one CPU, else this process. `workers=1`: this process; `workers=N`:
    a pool of N. Workers start by forkserver (spawn where there is none), never by fork: a
    forked copy of a threaded process (Prefect's) can inherit a held lock. A missing font or
    template, or a certificate that cannot be rendered, raises DocumentError while iterating.
    With `signing`, each PDF is signed where it is rendered: in the workers, in parallel.
    """
    size = _pool_size(len(docs), workers)
    if size <= 1:
        if docs:
            renderer = PdfRenderer(templates_dir, signing=signing)
            for doc in docs:
                yield renderer.render(doc)
        return
    fonts = font_dir()  # the workers' too, whatever their environment
    _read_template(templates_dir)  # a missing template or font says so here, once,
    _load_fonts(fonts)  # not in every worker
    if signing is not None:
        from sangsaeng.documents.sealing import PdfSealer

        PdfSealer(signing)  # so is an unreadable key or a key without its certificate
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    pool = ProcessPoolExecutor(size, mp_context=context, initializer=_start_worker,
                               initargs=(templates_dir, fonts, signing))
    try:
        yield from _in_order(pool, docs, size)
    finally:
        pool.shutdown(cancel_futures=True)


def _pool_size(count: int, workers: int | None) -> int:
    if workers is not None:
        return max(1, min(workers, count))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cpus or 1, count) if count >= POOL_MIN_DOCS else 1


def _in_order(pool: ProcessPoolExecutor, docs: Sequence[CertificateDocument],
              size: int) -> Iterator[bytes]:
    """Chunks of documents to the pool, at most two per worker in flight; results in order."""
    chunk = max(1, min(_CHUNK, len(docs) // (size * 4)))
    pending: deque[Future[list[bytes]]] = deque()
    for start in range(0, len(docs), chunk):
        pending.append(pool.submit(_render_chunk, tuple(docs[start:start + chunk])))
        if len(pending) >= 2 * size:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()


_worker_renderer: PdfRenderer | None = None  # one per worker process


def _start_worker(templates_dir: Path, fonts_dir: Path, signing: SigningKeys | None) -> None:
    global _worker_renderer
    _worker_renderer = PdfRenderer(templates_dir, fonts_dir=fonts_dir, signing=signing)


def _render_chunk(docs: tuple[CertificateDocument, ...]) -> list[bytes]:
    assert _worker_renderer is not None, "the pool's initializer did not run"
    return [_worker_renderer.render(doc) for doc in docs]


def pdf_path(var_dir: Path, round_id: str, number: str, version: int) -> Path:
    """INTERFACES §5: `<var>/certificates/<round>/<number>-v<version>.pdf`; plain names only."""
    for what, name in (("round id", round_id), ("certificate number", number)):
        if not _PLAIN_NAME.fullmatch(name) or ".." in name:
            raise DocumentError(f"{what} {name!r} is not a plain file name "
                                "(letters, digits, '-', '_', '.'; no '/' or '..')")
    if version < 1:
        raise DocumentError(f"certificate {number}: version {version} is not 1 or more")
    return var_dir / "certificates" / round_id / f"{number}-v{version}.pdf"


def write_pdf(path: Path, data: bytes) -> None:
    """Writes `data` to `path` atomically: a temporary file in the same folder, fsync, rename.

    Creates the folder. On an OS error (disk full, read-only) the temporary file is removed,
    `path` is as it was (absent, or its previous complete version), and a DocumentError names
    `path` and the reason in one line.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        crashpoints.reach("certificate-pdf-before-rename", f"{temp.name} written")
        os.replace(temp, path)
    except OSError as error:
        with suppress(OSError):
            temp.unlink(missing_ok=True)
        raise DocumentError(f"cannot write {path}: {error.strerror or error}") from error
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Makes the rename durable; a folder that cannot be opened for fsync is left as is."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
