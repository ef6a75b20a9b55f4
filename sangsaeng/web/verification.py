"""`GET /certificates/<number>` (docs/interfaces.md §6): a certificate as a buyer checks it —
a Korean page for a browser (a phone, from the QR code), the same facts as JSON for
`Accept: application/json`, and `/certificates/<number>.pdf`, never the original of a
cancelled certificate. Reads the public K4 facts of the register and nothing else."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http import HTTPStatus

from sqlalchemy import Connection, Engine
from starlette.requests import Request
from starlette.responses import Response

from sangsaeng.certificate_register import CertificateFacts, facts_at
from sangsaeng.domain.certificates import NUMBER_PATTERN, CertificateStatus
from sangsaeng.domain.clock import kst_date, parse_instant
from sangsaeng.errors import StepError
from sangsaeng.web.pages import Pages

PDF_SUFFIX = ".pdf"
STATUS_WORDS = {CertificateStatus.VALID: "유효", CertificateStatus.EXPIRED: "만료",
                CertificateStatus.CANCELLED: "취소"}


def korean_date(day: date) -> str:
    return f"{day.year}년 {day.month}월 {day.day}일"


def status_text(facts: CertificateFacts) -> str:
    """유효 / 만료 (the last valid day) / 취소 (the date) — no reason: that is not public."""
    word = STATUS_WORDS[facts.status]
    if facts.status is CertificateStatus.EXPIRED:
        return f"{word} ({korean_date(facts.valid_to)}까지 유효)"
    if facts.status is CertificateStatus.CANCELLED and facts.cancelled_on is not None:
        return f"{word} ({korean_date(facts.cancelled_on)}부터)"
    return word


def prefers_json(accept: str) -> bool:
    """`Accept` asks for JSON over HTML (a browser's `text/html` or `*/*` gets the page)."""
    best = {"json": 0.0, "html": 0.0}
    for item in accept.split(","):
        kind, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if kind.lower() in ("application/json", "application/*"):
            best["json"] = max(best["json"], q)
        if kind.lower() in ("text/html", "text/*", "*/*"):
            best["html"] = max(best["html"], q)
    return best["json"] > best["html"]


@dataclass(frozen=True)
class Asked:
    """What a request asks: a number, the PDF or the facts, in JSON or not, at which time."""

    number: str
    pdf: bool
    json: bool
    when: datetime


class Verification:
    """The certificate answers, shared by the public app and the office app."""

    def __init__(self, pages: Pages, issuer: str) -> None:
        self.pages, self.issuer = pages, issuer
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        """The program database's engine, looked up once (the settings do not change)."""
        if self._engine is None:
            from sangsaeng.db import get_engine

            self._engine = get_engine()
        return self._engine

    def answer(self, request: Request) -> Response:
        """One `/certificates/…` request: one read of the register, one small page (on the
        public app's event loop: sangsaeng/web/public.py READ_ON_THE_LOOP)."""
        name = request.path_params.get("name", "")
        wants_json = prefers_json(request.headers.get("accept", ""))
        number, pdf = name.removesuffix(PDF_SUFFIX), name.endswith(PDF_SUFFIX)
        if NUMBER_PATTERN.fullmatch(number) is None:
            return self.not_found(wants_json, "확인서 번호의 형식이 아닙니다 (예: 22-IG0001)")
        try:
            when = self.when(request, wants_json and not pdf)
        except ValueError:
            return self.refuse(wants_json, HTTPStatus.BAD_REQUEST,
                               "now: 1–9999년 안의 ISO 8601 날짜·시각이 아닙니다")
        return self.facts_answer(request, Asked(number, pdf, wants_json, when))

    @staticmethod
    def when(request: Request, honoured: bool) -> datetime:
        """`?now=ISO` (JSON only: a replay's or an auditor's date), else the clock."""
        asked = request.query_params.get("now")
        return parse_instant(asked) if honoured and asked is not None else datetime.now(UTC)

    def facts_answer(self, request: Request, asked: Asked) -> Response:
        with self.engine().connect() as db:  # read only: nothing to commit
            facts = facts_at(db, asked.number, kst_date(asked.when))
            if facts is None:
                return self.not_found(asked.json, f"확인서 {asked.number}는 등록되어 있지 "
                                                  "않습니다. 번호를 다시 확인하십시오.")
            if asked.pdf and facts.status is not CertificateStatus.CANCELLED:
                return self.pdf(request, db, facts)
        if asked.pdf:  # cancelled: the page that says so, never the original PDF
            return self.page(request, facts, HTTPStatus.GONE)
        if asked.json:
            return self.json(request, facts)
        return self.page(request, facts)

    def json(self, request: Request, facts: CertificateFacts) -> Response:
        value = {**facts.as_json(), "status_text": status_text(facts), "issuer": self.issuer}
        body = json.dumps(value, ensure_ascii=False, indent=1).encode() + b"\n"
        return self.cached(request, body, "application/json; charset=utf-8")

    def page(self, request: Request, facts: CertificateFacts,
             status: int = HTTPStatus.OK) -> Response:
        response = self.pages.page(
            "web/certificate.html.j2", status, facts=facts, issuer=self.issuer,
            status_text=status_text(facts), status_class=str(facts.status),
            period=f"{korean_date(facts.valid_from)} ~ {korean_date(facts.valid_to)}",
            issued_on=korean_date(facts.issued_on), pdf_gone=status == HTTPStatus.GONE)
        return self.revalidated(request, response, facts)

    def pdf(self, request: Request, db: Connection, facts: CertificateFacts) -> Response:
        from sangsaeng.certificate_register import pdf_file
        from sangsaeng.settings import get_settings

        try:
            data = pdf_file(db, get_settings(), facts.number).read_bytes()
        except StepError as exc:  # the office's problem: logged, not shown
            sys.stderr.write(f"verification: the PDF of {facts.number}: {exc}\n")
            return self.pages.error(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "확인서 파일을 지금 읽을 수 없습니다. 발급 기관에 문의하십시오.")
        return self.cached(request, data, "application/pdf", {
            "Content-Disposition": f'inline; filename="{facts.number}.pdf"'})

    def cached(self, request: Request, body: bytes, media_type: str,
               headers: dict[str, str] | None = None) -> Response:
        """The body with a strong ETag (its digest); 304 when the client holds it."""
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=HTTPStatus.NOT_MODIFIED, headers={
                "ETag": etag, "Cache-Control": "no-cache"})
        return Response(body, headers={"ETag": etag, "Cache-Control": "no-cache",
                                       "X-Content-Type-Options": "nosniff", **(headers or {})},
                        media_type=media_type)

    def revalidated(self, request: Request, response: Response,
                    facts: CertificateFacts) -> Response:
        """A page's ETag names what it shows (number, version, status, day), so a client
        revalidates cheaply; the page itself carries a fresh nonce each time."""
        tag = f"{facts.number}/{facts.version}/{facts.status}/{kst_date(datetime.now(UTC))}"
        etag = f'W/"{hashlib.sha256(tag.encode()).hexdigest()[:32]}"'
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=HTTPStatus.NOT_MODIFIED, headers={
                "ETag": etag, "Cache-Control": "no-cache"})
        response.headers["ETag"] = etag
        return response

    def not_found(self, wants_json: bool, message: str) -> Response:
        return self.refuse(wants_json, HTTPStatus.NOT_FOUND, message)

    def refuse(self, wants_json: bool, status: int, message: str) -> Response:
        if wants_json:
            body = json.dumps({"error": message}, ensure_ascii=False).encode() + b"\n"
            return Response(body, status, media_type="application/json; charset=utf-8",
                            headers={"Cache-Control": "no-store"})
        return self.pages.error(status, message)
