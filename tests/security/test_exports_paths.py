"""Path traversal and symbolic links on the exports server (issue 13 §6.3): `sangsaeng serve`'s
office app over `<var>/exports/` (sangsaeng/web/exports.py), asked with raw request
lines — nothing a client library would clean up first.

tests/integration/test_exports_server.py covers `/../`, single-encoded `%2e%2e`, one symbolic
link to a file and a NUL; these cover the other spellings and links.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sangsaeng.web.office import office_server

CSV = "\ufeffreceipt_no,track,status\r\n2022-2-001,innovation,selected\r\n".encode()
HTML_FOLDER = "<img src=x onerror=alert(1)>"
HTML_FILE = '"><svg onload=alert(2)>.csv'
SECRETS = (b"OUTSIDE-FILE", b"OUTSIDE-FOLDER", b"SIBLING-FOLDER", b"root:x:0:0")


def request(url: str, target: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request with `target` sent byte for byte; (status, headers, body)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Connection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An exports folder with one export and links out of it, and secrets around it (one
    server for the module: every probe only reads)."""
    var = tmp_path_factory.mktemp("served") / "var"
    exports = var / "exports"
    (exports / "2022-2").mkdir(parents=True)
    (exports / "2022-2" / "decisions.csv").write_bytes(CSV)
    (var / "secret.txt").write_bytes(b"OUTSIDE-FILE the database password")
    (var / "private").mkdir()
    (var / "private" / "data.csv").write_bytes(b"OUTSIDE-FOLDER brn,email")
    (var / "exports-old").mkdir()  # shares the exports folder's name as a prefix
    (var / "exports-old" / "x.csv").write_bytes(b"SIBLING-FOLDER")
    os.symlink("../../secret.txt", exports / "2022-2" / "relative.txt")  # relative, to a file
    os.symlink(var / "private", exports / "linked")  # absolute, to a folder
    os.symlink("../../exports-old/x.csv", exports / "2022-2" / "sibling.csv")
    os.symlink("loop.csv", exports / "2022-2" / "loop.csv")  # a link to itself
    os.symlink("/etc/passwd", exports / "passwd")
    os.symlink("decisions.csv", exports / "2022-2" / "latest.csv")  # inside: may be served
    (exports / HTML_FOLDER).mkdir()
    (exports / HTML_FOLDER / HTML_FILE).write_bytes(CSV)
    with office_server(exports, 0) as url:
        yield url, var


TRAVERSALS = [
    pytest.param("/2022-2/../../secret.txt", id="dot-dot"),
    pytest.param("/2022-2/%2e%2e/%2E%2E/secret.txt", id="encoded-dots"),
    pytest.param("/%2e%2e%2fsecret.txt", id="encoded-slash"),
    pytest.param("/2022-2/%2e%2e%2f%2e%2e%2fsecret.txt", id="encoded-dots-and-slashes"),
    pytest.param("/%252e%252e%252fsecret.txt", id="double-encoded"),
    pytest.param("/2022-2/%252e%252e/%252e%252e/secret.txt", id="double-encoded-dots"),
    pytest.param("/%c0%ae%c0%ae/secret.txt", id="overlong-utf8-dots"),
    pytest.param("/..\\secret.txt", id="backslash"),
    pytest.param("/2022-2/..\\..\\secret.txt", id="backslashes"),
    pytest.param("/2022-2/..%5c..%5csecret.txt", id="encoded-backslashes"),
    pytest.param("/%5c..%5c..%5csecret.txt", id="leading-encoded-backslash"),
    pytest.param("//etc/passwd", id="double-slash-absolute"),
    pytest.param("/%2fetc%2fpasswd", id="encoded-absolute"),
    pytest.param("ABSOLUTE", id="absolute-file-path"),
    pytest.param("http://127.0.0.1/../secret.txt", id="absolute-form-url"),
    pytest.param("file:///etc/passwd", id="file-url"),
    pytest.param("/2022-2/decisions.csv/../../secret.txt", id="through-a-file"),
    pytest.param("/certificates/../secret.txt", id="certificates-dot-dot"),
    pytest.param("/certificates/%2e%2e%2f%2e%2e%2fsecret.txt", id="certificates-encoded"),
    pytest.param("/2022-2/..%00/secret.txt", id="nul-in-dot-dot"),
    pytest.param("/2022-2/decisions.csv%00../../secret.txt", id="nul-after-name"),
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_spelling_of_a_path_out_of_the_exports_folder_reaches_a_file_outside(
        served: tuple[str, Path], target: str) -> None:
    """Probes path traversal (`..` plain, percent-encoded, double-encoded, overlong UTF-8,
    with backslashes), absolute paths and URLs, and NUL bytes: each is answered with a 4xx
    error that shows nothing of the files outside, and the server keeps serving."""
    url, var = served
    if target == "ABSOLUTE":
        target = str(var / "secret.txt")
    for method in ("GET", "HEAD"):
        status, headers, body = request(url, target, method)
        assert status in (400, 404), (method, status, headers)
        assert not any(secret in body for secret in SECRETS)
    assert request(url, "/2022-2/decisions.csv")[::2] == (200, CSV)


LINKS = [
    pytest.param("/2022-2/relative.txt", id="relative-link-to-a-file-outside"),
    pytest.param("/linked/data.csv", id="file-in-a-linked-folder-outside"),
    pytest.param("/linked/", id="listing-of-a-linked-folder-outside"),
    pytest.param("/linked", id="linked-folder-without-slash"),
    pytest.param("/2022-2/sibling.csv", id="link-to-a-folder-sharing-the-prefix"),
    pytest.param("/passwd", id="link-to-an-absolute-system-file"),
    pytest.param("/2022-2/loop.csv", id="link-to-itself"),
]


@pytest.mark.parametrize("target", LINKS)
def test_a_symbolic_link_inside_the_exports_folder_pointing_outside_is_not_served(
        served: tuple[str, Path], target: str) -> None:
    """Probes symbolic links placed inside the exports folder — relative and absolute, to a
    file, to a folder (its files and its listing), to a sibling folder whose name starts with
    `exports`, to /etc/passwd, to itself: none is followed out of the folder, none redirects."""
    url, _ = served
    status, headers, body = request(url, target)
    assert status == 404, (status, headers)
    assert not any(secret in body for secret in SECRETS)


def test_listings_leave_out_the_links_that_lead_outside(served: tuple[str, Path]) -> None:
    """Probes the folder listings: a link that leads outside is not even named (only what
    would be served), while a link to another export inside the folder is served."""
    url, _ = served
    top = request(url, "/")[2].decode()
    inner = request(url, "/2022-2/")[2].decode()
    assert 'href="2022-2/"' in top and "linked" not in top and "passwd" not in top
    assert 'href="decisions.csv"' in inner and 'href="latest.csv"' in inner
    for name in ("relative.txt", "sibling.csv"):
        assert name not in inner
    assert request(url, "/2022-2/latest.csv")[::2] == (200, CSV)


@pytest.mark.parametrize("target", ["//2022-2", "///2022-2", "//evil.example/..//2022-2",
                                    "/%2f/evil.example"])
def test_a_folder_redirect_never_points_to_another_host(
        served: tuple[str, Path], target: str) -> None:
    """Probes the open redirect of `http.server` (a folder asked without its trailing slash,
    spelt `//host/…`): any redirect stays on this server, as a path with one leading slash."""
    url, _ = served
    status, headers, _ = request(url, target)
    if 300 <= status < 400:
        location = headers["location"]
        assert location.startswith("/") and not location.startswith("//"), location
        assert "evil" not in location
    else:
        assert status in (400, 404)


@pytest.mark.parametrize("target", [
    pytest.param("/%3Cimg%20src=x%20onerror=alert(1)%3E/", id="listing-of-a-folder-named-html"),
    pytest.param("/%3Cscript%3Ealert(3)%3C/script%3E", id="error-page-of-a-path-in-html"),
])
def test_html_in_file_and_path_names_is_escaped_in_listings_and_error_pages(
        served: tuple[str, Path], target: str) -> None:
    """Probes HTML in names (a folder `<img onerror>`, a file `"><svg onload>`, a path asked for
    that holds `<script>`): the listing or error page shows them as text, no element."""
    url, _ = served
    status, _, body = request(url, target)
    assert status in (200, 404)
    page = body.decode()
    assert not any(tag in page.lower() for tag in ("<script", "<img", "<svg"))
    if status == 200:
        assert "&lt;img src=x onerror=alert(1)&gt;" in page and "alert(2)" in page
