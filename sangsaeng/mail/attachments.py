"""Files sent with a notice (the certificate PDF on `certificate.issued`).

An attachment is part of its notice's body: recorded with it when the notice is owed (file
name, path under the var dir, sha256 of the bytes then), read and checked when the body's
shared part is composed. A file that is missing, unreadable or changed since, or a recorded
path that leaves the var dir, fails the rows of that body with one line naming the file and
the cause: a message is sent whole, with the bytes that were owed, or not at all.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sangsaeng.errors import SangsaengError
from sangsaeng.mail.headers import clean_text

# ASCII only, no quote, space or separator: the name goes into a header as it is.
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CONTENT_TYPE = re.compile(r"[a-z]{1,20}/[a-z0-9][a-z0-9.+-]{0,99}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Attachment:
    """One file sent with a notice, as it was when the notice was owed."""

    filename: str  # ASCII file name shown to the recipient, e.g. "22-IG0001-v1.pdf"
    path: str  # relative to the var dir, e.g. "certificates/2022-2/22-IG0001-v1.pdf"
    sha256: str  # hex digest (lowercase, as hashlib writes it) of the file's bytes when owed
    content_type: str = "application/pdf"


class AttachmentError(SangsaengError):
    """An attachment cannot be sent as owed; the message is not sent (its row fails)."""


def _escapes(path: str) -> bool:
    """Whether a recorded path is not a plain relative path under the var dir."""
    pure = PurePosixPath(path)
    return (not path or "\\" in path or "\0" in path or pure.is_absolute()
            or ".." in pure.parts)


def problem(a: Attachment) -> str | None:
    """What makes a recorded attachment unsendable whatever the file holds, or None."""
    if not _FILENAME.fullmatch(a.filename):
        return "has an unsafe file name"
    if _escapes(a.path):
        return "has a path outside the var dir"
    if not _SHA256.fullmatch(a.sha256):
        return "has no valid sha256"
    if not _CONTENT_TYPE.fullmatch(a.content_type):
        return "has an invalid content type"
    return None


def checked(attachments: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
    """The attachments of a notice being owed; a malformed one is a bug of the caller."""
    for a in attachments:
        if (why := problem(a)) is not None:
            raise ValueError(f"attachment {a.filename!r} ({a.path!r}) {why}")
    return attachments


def _failure(a: Attachment, cause: str) -> AttachmentError:
    name = clean_text(a.filename, limit=100) or "(no name)"
    return AttachmentError(f"attachment {name} {cause}: nothing was sent")


# The program database's copy of a file by digest, kept at a path (blobs.cached), or None.
Fetch = Callable[[str, Path], bytes | None]


def read(a: Attachment, var_dir: Path, fetch: Fetch | None = None) -> bytes:
    """The file's bytes, checked against the digest recorded when the notice was owed: the
    var directory's copy, else the program database's (`fetch`: a worker that did not write
    the file, issue 24 item 4)."""
    if (why := problem(a)) is not None:
        raise _failure(a, why)
    path = var_dir / a.path
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        if fetch is not None and (stored := fetch(a.sha256, path)) is not None:
            return stored
        raise _failure(a, "is missing") from None
    except OSError as exc:
        raise _failure(a, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if hashlib.sha256(data).hexdigest() != a.sha256:
        if fetch is not None and (stored := fetch(a.sha256, path)) is not None:
            return stored
        raise _failure(a, "has changed since the notice was owed (sha256 differs)")
    return data


def as_json(a: Attachment) -> dict[str, str]:
    """The attachment as `MailBody.attachments` stores it."""
    return {"filename": a.filename, "path": a.path, "sha256": a.sha256,
            "content_type": a.content_type}


def from_json(value: Mapping[str, Any]) -> Attachment:
    """An attachment as stored; a malformed entry still loads (and fails when composed)."""
    return Attachment(str(value.get("filename", "")), str(value.get("path", "")),
                      str(value.get("sha256", "")),
                      str(value.get("content_type", "application/pdf")))


def digest_parts(attachments: tuple[Attachment, ...]) -> list[list[str]]:
    """What of the attachments makes a body distinct (digests and boundaries)."""
    return [[a.filename, a.path, a.sha256, a.content_type] for a in attachments]
