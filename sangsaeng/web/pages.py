"""What both apps answer with: Korean HTML pages from `templates/web/` (autoescaped), their
security headers, and a Korean error page for every refusal (never a closed connection)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

STYLE_SRC = "style-src 'nonce-{nonce}'"
# What a page may load: nothing but its own inline style (a nonce per answer) and its own forms.
CSP = ("default-src 'none'; " + STYLE_SRC + "; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
SAFETY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                  "Referrer-Policy": "same-origin"}

ERROR_TITLES = {
    HTTPStatus.BAD_REQUEST: "잘못된 요청입니다",
    HTTPStatus.UNAUTHORIZED: "비밀번호가 필요합니다",
    HTTPStatus.FORBIDDEN: "허용되지 않은 요청입니다",
    HTTPStatus.NOT_FOUND: "찾을 수 없습니다",
    HTTPStatus.METHOD_NOT_ALLOWED: "허용되지 않은 방식입니다",
    HTTPStatus.GONE: "더 이상 제공하지 않습니다",
    HTTPStatus.LENGTH_REQUIRED: "요청의 길이가 필요합니다",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "요청이 너무 큽니다",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "받지 않는 형식입니다",
    HTTPStatus.TOO_MANY_REQUESTS: "요청이 너무 많습니다",
    HTTPStatus.INTERNAL_SERVER_ERROR: "서버 오류입니다",
    HTTPStatus.NOT_IMPLEMENTED: "지원하지 않는 요청입니다",
}


class Pages:
    """The apps' Jinja2 templates (`templates/web/`), autoescaped, strict about names."""

    def __init__(self, templates_dir: Path) -> None:
        self.env = Environment(loader=FileSystemLoader(templates_dir), autoescape=True,
                               undefined=StrictUndefined, auto_reload=False)

    def page(self, name: str, status: int = HTTPStatus.OK, *, cache: str = "no-cache",
             headers: Mapping[str, str] | None = None, **values: Any) -> HTMLResponse:
        """A rendered page with its security headers (its inline style under a fresh nonce)."""
        nonce = secrets.token_urlsafe(16)
        body = self.env.get_template(name).render(nonce=nonce, **values)
        return HTMLResponse(body, status, headers={
            "Content-Security-Policy": CSP.format(nonce=nonce), "Cache-Control": cache,
            **SAFETY_HEADERS, **(headers or {})})

    def error(self, status: int, message: str, *, cache: str = "no-store",
              headers: Mapping[str, str] | None = None) -> HTMLResponse:
        """A refusal: the status, a Korean title and the reason, as a small page."""
        title = ERROR_TITLES.get(HTTPStatus(status), HTTPStatus(status).phrase)
        return self.page("web/error.html.j2", status, cache=cache, headers=headers,
                         title=title, message=message, status_code=int(status))
