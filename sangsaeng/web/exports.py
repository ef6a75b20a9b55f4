"""The rounds' export files (`<var>/exports/`), read-only, on the office app: a file, or a
folder's plain list — never a path outside the folder (`..` in any spelling, symbolic links
leading out), never a hidden name (an export being written is a dot file), never a redirect to
another host."""

from __future__ import annotations

import mimetypes
import os
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from sangsaeng.web.pages import Pages

CACHE = "no-cache"  # every step may rewrite a file
TYPES = {".csv": "text/csv; charset=utf-8",
         ".md": "text/plain; charset=utf-8",  # shown in the browser, Korean intact
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
NOT_AN_EXPORT = "내보낸 파일이 아닙니다"


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
        if "\x00" in path:  # no file has one (and os.path would raise on it)
            return self.pages.error(HTTPStatus.BAD_REQUEST, "경로에 NUL 문자가 있습니다")
        parts = [part for part in path.split("/") if part]
        if any(part.startswith(".") or "\\" in part for part in parts):
            return self.pages.error(HTTPStatus.NOT_FOUND, NOT_AN_EXPORT)
        target = os.path.join(self.root, *parts)
        if not self.inside(target) or not os.path.exists(target):
            return self.pages.error(HTTPStatus.NOT_FOUND, NOT_AN_EXPORT)
        if os.path.isdir(target):
            if not path.endswith("/"):  # one leading slash: never `//host/…`
                return RedirectResponse("/" + "".join(quote(p) + "/" for p in parts),
                                        HTTPStatus.MOVED_PERMANENTLY)
            return self.listing(target, parts)
        suffix = Path(target).suffix.lower()
        media = TYPES.get(suffix) or mimetypes.guess_type(target)[0] or "application/octet-stream"
        return FileResponse(target, media_type=media, headers={"Cache-Control": CACHE})

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
