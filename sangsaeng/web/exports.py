"""The rounds' export files (`<var>/exports/`), read-only, on the office app: a file, or a
folder's plain list — never a path outside the folder (`..` in any spelling, symbolic links
leading out), never a hidden name (an export being written is a dot file), never a redirect to
another host. A file holding personal data (`services.access.PERSONAL_FILES`) is given only
after a form asks who takes it and why, to the office (the shared password, or loopback), and
each such download is a row of the access log (issue 27, docs/privacy.md)."""

from __future__ import annotations

import contextlib
import mimetypes
import os
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from sangsaeng.exports import FILES as ROUND_FILES
from sangsaeng.services.access import PERSONAL_FILES
from sangsaeng.services.round_files import ROUND_ID
from sangsaeng.web.pages import Pages
from sangsaeng.web.upload import Refusal, account_of, admit, auth_string, is_same_origin

CACHE = "no-cache"  # every step may rewrite a file
TYPES = {".csv": "text/csv; charset=utf-8",
         ".md": "text/plain; charset=utf-8",  # shown in the browser, Korean intact
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
NOT_AN_EXPORT = "내보낸 파일이 아닙니다"
MAX_REASON_FORM = 4096  # bytes of the reason form's body (two short text fields)
AUTH_CHALLENGE = {"WWW-Authenticate": 'Basic realm="sangsaeng", charset="UTF-8"'}


class ExportFiles:
    """GET/HEAD of the files under `root`; other methods are refused (read-only)."""

    def __init__(self, root: Path, pages: Pages) -> None:
        self.root, self.pages = root, pages
        self.real_root = os.path.realpath(root)

    def answer(self, request: Request) -> Response:
        """Run in a worker thread (it reads the disk)."""
        if request.method not in ("GET", "HEAD"):
            return self.pages.error(HTTPStatus.NOT_IMPLEMENTED,
                                    "내보낸 파일은 읽기만 할 수 있습니다 (read-only)")
        path = request.scope["path"]
        found = self.locate(path)
        if isinstance(found, Response):
            return found
        target, parts = found
        if os.path.isdir(target):
            if not path.endswith("/"):  # one leading slash: never `//host/…`
                return RedirectResponse("/" + "".join(quote(p) + "/" for p in parts),
                                        HTTPStatus.MOVED_PERMANENTLY)
            return self.listing(target, parts)
        holds = PERSONAL_FILES.get(parts[-1])
        if holds is not None:
            return self.ask_reason(request, parts[-1], holds)
        return self.file(target)

    def locate(self, path: str) -> tuple[str, list[str]] | Response:
        """The export `path` names (its file or folder, and the path's parts), or the refusal:
        no NUL, no hidden or backslashed part, nothing outside the folder, nothing missing."""
        if "\x00" in path:  # no file has one (and os.path would raise on it)
            return self.pages.error(HTTPStatus.BAD_REQUEST, "경로에 NUL 문자가 있습니다")
        parts = [part for part in path.split("/") if part]
        if any(part.startswith(".") or "\\" in part for part in parts):
            return self.pages.error(HTTPStatus.NOT_FOUND, NOT_AN_EXPORT)
        target = os.path.join(self.root, *parts)
        if self.inside(target) and not os.path.lexists(target) and ROUND_ID.match(parts[0]) \
                and (len(parts) == 1 or (len(parts) == 2 and parts[1] in ROUND_FILES)):
            self.render(parts[0])  # a round folder, or one of its exports, not written here
        if not self.inside(target) or not os.path.exists(target):
            return self.pages.error(HTTPStatus.NOT_FOUND, NOT_AN_EXPORT)
        return target, parts

    def render(self, round_id: str) -> None:
        """A round's exports this machine has not written (a worker elsewhere ran the round:
        issue 24 item 4) rendered from the program database into this exports folder; a name
        that is no round of the database renders nothing."""
        from sangsaeng.config import load_program
        from sangsaeng.db import get_engine, session_scope
        from sangsaeng.exports import write_round_exports
        from sangsaeng.models import Round
        from sangsaeng.settings import get_settings

        program = load_program(get_settings().config_dir).program
        with session_scope(get_engine()) as session:
            rnd = session.get(Round, round_id)
            if rnd is not None:
                with contextlib.suppress(OSError):  # not writable here: the 404 says so
                    write_round_exports(session, rnd, self.root, program.name,
                                        program.ministry)

    def file(self, target: str, **headers: str) -> FileResponse:
        """The file as it is, typed by its suffix."""
        suffix = Path(target).suffix.lower()
        media = TYPES.get(suffix) or mimetypes.guess_type(target)[0] or "application/octet-stream"
        return FileResponse(target, media_type=media, headers={"Cache-Control": CACHE, **headers})

    def personal(self, path: str) -> bool:
        """`path` names a file of personal data (POST on it gives it with a reason)."""
        return path.rsplit("/", 1)[-1] in PERSONAL_FILES

    def ask_reason(self, request: Request, name: str, holds: str, *, problem: str = "",
                   status: int = HTTPStatus.OK, operator: str = "",
                   reason: str = "") -> Response:
        """The form asking who takes the file and why (after the office's password)."""
        refused = self.refusal(request, auth_string(os.environ))
        if refused is not None:
            return refused
        return self.pages.page("web/reason.html.j2", status, cache="no-store", file_name=name,
                               holds=holds, problem=problem, operator=operator, reason=reason)

    def refusal(self, request: Request, expected: str | None) -> Response | None:
        """The upload page's admission (the shared password, else loopback only), as a page."""
        try:
            admit(request, expected)
        except Refusal as refusal:
            return self.pages.error(refusal.status, str(refusal), headers=AUTH_CHALLENGE
                                    if refusal.status == HTTPStatus.UNAUTHORIZED else None)
        return None

    def give(self, request: Request, fields: dict[str, str]) -> Response:
        """POST of the reason form (run in a worker thread): the access logged, then the file
        as an attachment; without a name or a reason, the form again."""
        from sangsaeng.db import get_engine, session_scope
        from sangsaeng.domain.access import AccessAction
        from sangsaeng.services import access

        found = self.locate(request.scope["path"])
        if isinstance(found, Response):
            return found
        target, parts = found
        if len(parts) < 2 or not os.path.isfile(target):
            return self.pages.error(HTTPStatus.NOT_FOUND, NOT_AN_EXPORT)
        name, round_id = parts[-1], parts[-2]
        holds = PERSONAL_FILES[name]
        expected = auth_string(os.environ)
        refused = self.refusal(request, expected)
        if refused is not None:
            return refused
        if not is_same_origin(request.headers):
            return self.pages.error(HTTPStatus.FORBIDDEN, "다른 사이트에서 보낸 요청은 받지 "
                                                          "않습니다 (cross-site request refused)")
        operator = " ".join(fields.get("operator", "").split())[:60]
        try:
            reason = access.checked_reason(fields.get("reason"), name, holds)
            if not operator:
                raise access.ReasonMissing("담당자 이름을 적어 주세요")
        except access.ReasonMissing:
            return self.ask_reason(request, name, holds, status=HTTPStatus.BAD_REQUEST,
                                   problem="담당자 이름과 내려받는 사유(두 글자 이상)를 "
                                           "적어 주세요",
                                   operator=operator, reason=fields.get("reason", ""))
        account = account_of(request, expected)
        with session_scope(get_engine()) as session:
            receipts = (access.certificate_receipts(session, round_id)
                        if name == "certificates.csv" else access.round_receipts(session, round_id))
            access.record(session, access.Request(
                f"{operator} ({account})", (request.client or ("-",))[0], AccessAction.DOWNLOAD,
                f"{round_id}/{name}", round_id, receipts, reason), datetime.now(UTC))
        return self.file(target, **{
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

    def inside(self, path: str) -> bool:
        """`path` is the exports folder or in it, once symbolic links are followed."""
        real = os.path.realpath(path)
        return real == self.real_root or real.startswith(self.real_root + os.sep)

    def listing(self, folder: str, parts: list[str]) -> Response:
        """A plain list of the folder's exports (what `answer` would refuse left out)."""
        try:
            names = sorted(n for n in os.listdir(folder) if not n.startswith(".")
                           and self.inside(os.path.join(folder, n)))
        except OSError:
            return self.pages.error(HTTPStatus.NOT_FOUND, NOT_AN_EXPORT)
        shown = [n + "/" if os.path.isdir(os.path.join(folder, n)) else n for n in names]
        title = "/" + "".join(p + "/" for p in parts)
        return self.pages.page("web/listing.html.j2", cache=CACHE, title=title,
                               entries=[(quote(n), n) for n in shown])
