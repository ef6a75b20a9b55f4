"""The certificate PDF (INTERFACES §5, K4), read back as a user's tools read it: poppler's
pdftotext/pdffonts/pdfinfo/pdftoppm and zbarimg for the QR code (`make browser` installs them)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from sangsaeng.documents import certificate
from sangsaeng.documents.certificate import (
    KST,
    CertificateDocument,
    PdfRenderer,
    pdf_path,
    render_all,
    write_pdf,
)
from sangsaeng.errors import DocumentError
from tests.conftest import REPO

TEMPLATES = REPO / "templates"
DOC = CertificateDocument(
    number="22-IG0001", version=1, issued_on=date(2022, 6, 30),
    valid_from=date(2022, 6, 30), valid_to=date(2025, 6, 29),
    lead_name="(주)한빛전자", representative="김서연", address="대전광역시 유성구 대학로 99",
    product_code="4321567801", product_name="스마트 LED 가로등",
    partners=(("(주)다온테크", "123-45-67890"), ("새솔정밀", "234-56-78901")),
    track_name="혁신성장", program_name="공공조달 상생협력 지원제도", issuer="중소벤처기업부장관",
    verify_url="https://sangsaeng.example.kr/certificates/22-IG0001")


def run(tool: str, *args: str | Path) -> str:
    """A PDF tool's standard output; a missing tool fails the test and says how to get it."""
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: run `make browser` (installs poppler-utils and "
                    "zbar-tools)", pytrace=False)
    done = subprocess.run([tool, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def renderer() -> PdfRenderer:
    return PdfRenderer(TEMPLATES)


def rendered(renderer: PdfRenderer, tmp_path: Path, doc: CertificateDocument = DOC) -> Path:
    path = tmp_path / f"{doc.number}-v{doc.version}.pdf"
    path.write_bytes(renderer.render(doc))
    return path


def text_of(pdf: Path) -> str:
    """pdftotext's text with every run of white space as one space."""
    return " ".join(run("pdftotext", pdf, "-").split())


def test_text_shows_the_k4_fields_in_korean(renderer: PdfRenderer, tmp_path: Path) -> None:
    text = text_of(rendered(renderer, tmp_path))
    for shown in ("공공조달 상생협력 확인서", "22-IG0001", "(주)한빛전자", "김서연",
                  "대전광역시 유성구 대학로 99", "4321567801", "스마트 LED 가로등",
                  "(주)다온테크(123-45-67890)", "새솔정밀(234-56-78901)",  # K4: name(BRN)
                  "20220630 ~ 20250629", "2022년 6월 30일부터 2025년 6월 29일까지",
                  "공공조달 상생협력 지원제도 (혁신성장 분야)", "상생협력제품임을 확인합니다",
                  "2022년 6월 30일", "중소벤처기업부장관", DOC.verify_url):
        assert shown in text, shown
    assert "재발급" not in text  # version 1


def test_a_reissue_says_which_version_it_is(renderer: PdfRenderer, tmp_path: Path) -> None:
    text = text_of(rendered(renderer, tmp_path, replace(DOC, version=2)))
    assert "재발급 (제2판)" in text


def test_fonts_are_embedded_as_subsets_with_unicode_maps(renderer: PdfRenderer,
                                                        tmp_path: Path) -> None:
    rows = run("pdffonts", rendered(renderer, tmp_path)).splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        # name type… encoding emb sub uni object-id generation
        name, *_, emb, sub, uni, _obj, _gen = row.split()
        assert re.fullmatch(r"[A-Z]{6}\+Nanum\w+", name), row  # subset tag + a Nanum font
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row


def test_one_a4_page_created_at_the_issue_date_kst(renderer: PdfRenderer,
                                                  tmp_path: Path) -> None:
    info = dict(line.split(":", 1) for line in
                run("pdfinfo", "-isodates", rendered(renderer, tmp_path)).splitlines())
    assert info["Pages"].strip() == "1"
    assert info["Page size"].strip().endswith("(A4)")
    created = datetime.fromisoformat(info["CreationDate"].strip().replace("Z", "+00:00"))
    assert created == datetime(2022, 6, 30, tzinfo=KST)


def test_the_qr_code_reads_as_the_verification_address(renderer: PdfRenderer,
                                                      tmp_path: Path) -> None:
    image = tmp_path / "page"
    run("pdftoppm", "-r", "150", "-png", "-singlefile", rendered(renderer, tmp_path), image)
    assert run("zbarimg", "--raw", "-q", f"{image}.png").strip() == DOC.verify_url


def test_markup_in_names_is_printed_as_written(renderer: PdfRenderer, tmp_path: Path) -> None:
    tricky = replace(DOC, lead_name='#panic("x") 주식회사', representative="*bold* $x$",
                     address='<tag> ] " \\ @ref', product_name="#{1 + 1} _em_ `raw`",
                     partners=(("]#eval(\"1\")", "123-45-67890"),))
    text = text_of(rendered(renderer, tmp_path, tricky))
    for shown in ('#panic("x") 주식회사', "*bold* $x$", '<tag> ] " \\ @ref',
                  "#{1 + 1} _em_ `raw`", ']#eval("1")(123-45-67890)'):
        assert shown in text, shown


def test_the_same_document_gives_the_same_bytes(renderer: PdfRenderer) -> None:
    first = renderer.render(DOC)
    assert PdfRenderer(TEMPLATES).render(DOC) == first  # a fresh compiler too
    assert renderer.render(replace(DOC, issued_on=date(2022, 7, 1))) != first


def test_a_certificate_that_would_run_over_one_page_is_refused(renderer: PdfRenderer) -> None:
    crowded = replace(DOC, partners=tuple((f"(주)협력기업{i}", f"123-45-{i:05d}")
                                          for i in range(80)))
    with pytest.raises(DocumentError, match="does not fit on one A4 page"):
        renderer.render(crowded)


def test_without_a_korean_font_the_error_says_to_run_make_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANGSAENG_FONT_DIR", str(tmp_path))
    with pytest.raises(DocumentError, match=r"make install") as refused:
        PdfRenderer(TEMPLATES)
    assert "\n" not in str(refused.value) and str(tmp_path) in str(refused.value)


def test_a_given_fonts_folder_without_nanum_is_refused_too(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"no Korean font .* run `make install`"):
        PdfRenderer(TEMPLATES, fonts_dir=tmp_path)


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"certificate template .*certificate\.ko\.typ"):
        PdfRenderer(tmp_path)


def test_render_all_keeps_the_order_across_two_workers(renderer: PdfRenderer) -> None:
    docs = [replace(DOC, number=f"22-IG{n:04d}", verify_url=f"{DOC.verify_url[:-4]}{n:04d}")
            for n in range(1, 7)]
    assert list(render_all(TEMPLATES, docs, workers=2)) == [renderer.render(d) for d in docs]


def test_render_all_renders_a_handful_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started for three documents")

    monkeypatch.setattr(certificate, "ProcessPoolExecutor", no_pool)
    pdfs = list(render_all(TEMPLATES, [DOC] * 3))
    assert len(pdfs) == 3 and pdfs[0].startswith(b"%PDF-")


def test_write_pdf_replaces_the_file_whole(tmp_path: Path) -> None:
    path = pdf_path(tmp_path, "2022-2", "22-IG0001", 1)
    write_pdf(path, b"%PDF-old")
    write_pdf(path, b"%PDF-new")
    assert path.read_bytes() == b"%PDF-new"
    assert os.listdir(path.parent) == [path.name]  # no temporary file left


@pytest.mark.parametrize("before", [None, b"%PDF-previous"], ids=["new", "existing"])
def test_a_failed_write_leaves_no_half_written_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: bytes | None) -> None:
    path = tmp_path / "certificates" / "2022-2" / "22-IG0001-v1.pdf"
    if before is not None:
        write_pdf(path, before)

    def disk_full(fd: int) -> None:  # a full disk cannot be produced here: fsync says so
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(DocumentError) as refused:
        write_pdf(path, b"%PDF-" + b"x" * 100_000)
    assert str(refused.value) == f"cannot write {path}: No space left on device"
    assert (path.read_bytes() if path.exists() else None) == before
    assert os.listdir(path.parent) == ([path.name] if before else [])


def test_pdf_path_follows_interfaces_5(tmp_path: Path) -> None:
    assert pdf_path(tmp_path, "2022-2", "22-IG0001", 2) == (
        tmp_path / "certificates" / "2022-2" / "22-IG0001-v2.pdf")


@pytest.mark.parametrize(("round_id", "number", "version"), [
    ("..", "22-IG0001", 1), ("2022-2", "../22-IG0001", 1), ("2022-2/x", "22-IG0001", 1),
    ("2022-2", "22-IG0001/..", 1), ("", "22-IG0001", 1), ("2022-2", ".hidden", 1),
    ("2022-2", "a\\b", 1), ("2022-2", "22..IG", 1), ("2022-2", "22-IG0001", 0),
], ids=["dotdot-round", "dotdot-number", "slash-round", "slash-number", "empty", "hidden",
        "backslash", "inner-dotdot", "version-0"])
def test_pdf_path_refuses_anything_but_plain_names(tmp_path: Path, round_id: str, number: str,
                                                   version: int) -> None:
    with pytest.raises(DocumentError):
        pdf_path(tmp_path, round_id, number, version)
