"""Round-package bytes as text — INTERFACES §2: UTF-8 (with or without BOM) or CP949, detected.

A file that is neither as a whole is still read when only some of its bytes are bad (a cell
pasted from a file in the other encoding, a damaged byte): each bad byte becomes a marker
character that no decoded text holds (a lone surrogate), so that the row and column holding it
can be named and that row alone rejected (`unreadable`). A NUL is valid UTF-8 and CP949, but no
text has one (a UTF-16 or binary file has many): it is reported as a NUL, in its cell.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_MARKER = "sangsaeng-bad-byte"
_BAD_BYTE = re.compile("[\udc00-\udcff]")  # bytes ≥ 0x80 at U+DC80…, smaller ones at U+DC00…
_UNREADABLE = re.compile("[\x00\udc00-\udcff]")
NUL = "\x00"


def _mark(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


codecs.register_error(_MARKER, _mark)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A file's text; `marked` when some bytes could not be decoded (see `unreadable`)."""

    text: str
    encoding: str  # "utf-8", "utf-8-sig" or "cp949"
    truncated: bool = False  # the file ends inside a multi-byte character
    marked: bool = False


def decode(data: bytes, name: str) -> Decoded:
    """UTF-8 is tried first, then CP949; failing both, the one with fewer bad bytes, marked."""
    bom = data.startswith(codecs.BOM_UTF8)
    label = "utf-8-sig" if bom else "utf-8"
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(body, final=False)
    except UnicodeDecodeError:
        pass
    else:
        pending = decoder.getstate()[0]
        # The file stops inside a multi-byte character (a cut file) — unless all before it is
        # ASCII and the whole file is valid CP949 (a CP949 file whose only Korean is at the end).
        if not pending or bom or not text.isascii() or not _is_cp949(data):
            return Decoded(text, label, truncated=bool(pending))
    if not bom and _is_cp949(data):
        return Decoded(data.decode("cp949"), "cp949")
    # A BOM says UTF-8: only UTF-8 is tried then.
    tries = [(body.decode("utf-8", _MARKER), label)]
    if not bom:
        tries.append((data.decode("cp949", _MARKER), "cp949"))
    text, encoding = min(tries, key=lambda tried: len(_BAD_BYTE.findall(tried[0])))
    return Decoded(text, encoding, marked=True)


def _is_cp949(data: bytes) -> bool:
    try:
        data.decode("cp949")
    except UnicodeDecodeError:
        return False
    return True


def has_unreadable(text: str) -> bool:
    """True if some cell of `text` may hold a bad byte or a NUL (`unreadable`)."""
    return _UNREADABLE.search(text) is not None


def unreadable(cell: str, encoding: str | None = None) -> str | None:
    """Why a cell cannot be read — a NUL, text in the other encoding than its file's
    (`encoding`), or bytes that are neither UTF-8 nor CP949 — or None."""
    if NUL in cell:
        return ("NUL 문자(바이트 0x00)가 들어 있습니다: 텍스트에는 없는 문자입니다. 파일을 "
                "UTF-8 CSV로 저장해 주십시오")
    bad = _BAD_BYTE.findall(cell)
    if not bad:
        return None
    other = _other_encoding(cell, encoding)
    if other is not None:
        return (f"{other[1]} 파일 안의 {other[0]} 텍스트입니다 (다른 방식으로 저장된 파일에서 "
                "붙여 넣었습니까?): 파일 전체를 한 가지 인코딩, UTF-8 CSV로 저장해 주십시오")
    listed = " ".join(f"0x{ord(char) - 0xDC00:02x}" for char in bad[:8])
    more = " …" if len(bad) > 8 else ""
    return (f"UTF-8도 CP949도 아닌 바이트가 있습니다 ({listed}{more}): 칸을 다시 입력하거나 "
            "파일을 UTF-8 CSV로 저장해 주십시오")


def _other_encoding(cell: str, encoding: str | None) -> tuple[str, str] | None:
    """(the cell's encoding, the file's) when the cell's bytes are whole text in the other one
    of UTF-8 and CP949 than the file it was read from."""
    if encoding is None:
        return None
    read_as = "cp949" if encoding == "cp949" else "utf-8"
    raw = b"".join(bytes([ord(c) - 0xDC00]) if 0xDC00 <= ord(c) <= 0xDCFF
                   else c.encode(read_as) for c in cell)
    other = "utf-8" if read_as == "cp949" else "cp949"
    try:
        raw.decode(other)
    except UnicodeDecodeError:
        return None
    names = {"utf-8": "UTF-8", "cp949": "CP949"}
    return names[other], names[read_as]


def shown(cell: str) -> str:
    """A cell as an error message shows it: a bad byte as �, a NUL as ␀."""
    return _BAD_BYTE.sub("\ufffd", cell).replace(NUL, "\u2400")


def not_text(name: str, data: bytes, encoding: str, where: str) -> str:
    """Why a file cannot be read at all: its first bad byte or NUL, with its offset; `where`
    says what it spoils ("in its header row", "no row can be read")."""
    nul = data.find(b"\x00")
    bad = _first_bad_offset(data, encoding)
    if bad >= 0 and (nul < 0 or bad < nul):
        return (f"{name} is neither UTF-8 nor CP949 (first bad byte 0x{data[bad]:02x} at offset "
                f"{bad}, {where}); save it as UTF-8 CSV")
    return (f"{name} is not CSV text (a NUL byte at offset {nul}, {where}: UTF-16 or not a text "
            "file?); save it as UTF-8 CSV")


def _first_bad_offset(data: bytes, encoding: str) -> int:
    skip = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
    try:
        data[skip:].decode("cp949" if encoding == "cp949" else "utf-8")
    except UnicodeDecodeError as exc:
        return skip + exc.start
    return -1
