"""HTML, Jinja and typst syntax in applicant text (issue 13 §6.2): company, representative and
product names from the round package, through the `round` flow, into the notices a real SMTP
server received and into the certificate PDFs the round issued — shown as written, never
interpreted.
"""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.integration.helpers import run
from tests.mail.smtp_server import ScriptedServer
from tests.security.hostile import (
    CONFIG,
    ENTITY,
    JINJA_EXPR,
    JINJA_RAW,
    NOW,
    ROUND,
    SCRIPT,
    TYPST,
    hostile_package,
)
from tests.security.wire import outbox_by_message_id, text_parts

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.prefect]

LEAD_007 = f"{SCRIPT} {JINJA_EXPR}"
PRODUCT_007 = f"{JINJA_RAW} {ENTITY} ]"
LEAD_009 = f"{ENTITY} 주식회사 #set text(fill: red) $x$ ]"
PRODUCT_009 = "<b>굵게</b> {{7*7}} *bold* _x_"
PARTNER_002 = '{{ 7*7 }} #panic("x") ]'
REPRESENTATIVE_007 = TYPST

NAMES = {
    ("2022-2-007", "lead"): {"name": LEAD_007, "representative": REPRESENTATIVE_007},
    ("2022-2-009", "lead"): {"name": LEAD_009},
    ("2022-2-002", "partner"): {"name": PARTNER_002},
}
PRODUCTS = {"2022-2-007": PRODUCT_007, "2022-2-009": PRODUCT_009}


class _Html(HTMLParser):
    """What a mail client shows of an HTML part: its text (entities decoded) and its tags."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def squeeze(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def markup_round(smtp: ScriptedServer, tmp_path: Path) -> ScriptedServer:
    """The 2022-2 round, run to the end, with markup in its names."""
    package = hostile_package(tmp_path, participants=NAMES, products=PRODUCTS)
    assert run(CONFIG, package, NOW, approve=True).state == "support"
    return smtp


def test_markup_in_names_is_escaped_in_html_and_literal_in_text_of_every_notice(
        markup_round: ScriptedServer) -> None:
    """Probes `<script>`, `<b>`, `{{ 7*7 }}`, `{% raw %}`, `&amp;` and typst markup in company
    and product names through receipt, selection and certificate notices: the HTML part shows
    them as text (no script or bold element, `&amp;` shown as `&amp;`), the text part as
    written, and no template evaluates them (`{{ 7*7 }}` is never 49)."""
    rows = outbox_by_message_id()
    probes = {LEAD_007, LEAD_009, PARTNER_002, PRODUCT_007, PRODUCT_009}
    seen: dict[str, set[str]] = {}
    for got in markup_round.received:
        row = rows[got.message_id]
        body = text_parts(got)
        shown = _Html(body["html"])
        html_text = squeeze("".join(shown.text))
        assert not shown.tags & {"script", "b"}, (row.kind, shown.tags)
        for probe in probes:
            if probe in body["plain"]:
                assert squeeze(probe) in html_text, (row.kind, probe)
                seen.setdefault(probe, set()).add(row.kind)
            else:
                assert squeeze(probe) not in html_text, (row.kind, probe)
        assert "<script" not in body["html"].lower() and "<b>" not in body["html"]
    assert set(seen) == probes  # every probe reached a notice
    assert {"application.received", "selection.selected", "certificate.issued"} <= seen[LEAD_007]
    assert "certificate.issued" in seen[PRODUCT_009]
    assert "&amp;amp;" in "".join(text_parts(g)["html"] for g in markup_round.received)


def _pdf_texts(folder: Path) -> dict[str, str]:
    return {pdf.name: squeeze(subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
        text=True).stdout) for pdf in sorted(folder.glob("*.pdf"))}


def test_markup_in_names_is_printed_literally_on_the_certificate_pdf(
        markup_round: ScriptedServer, env: Path) -> None:
    """Probes typst markup (`#set page(fill: red)`, `#panic("x")`, `$x$`, `]`, `*bold*`, `_x_`),
    HTML and Jinja syntax in the lead's name, representative, product and partner names: the
    certificates are issued (no template error) and their text, read back with pdftotext,
    shows every name as written."""
    texts = _pdf_texts(env / "certificates" / ROUND)
    assert len(texts) == 29  # every confirmed lead's certificate, the hostile ones included
    expected = {"LEAD_007": LEAD_007, "REPRESENTATIVE_007": REPRESENTATIVE_007,
                "PRODUCT_007": PRODUCT_007, "LEAD_009": LEAD_009, "PRODUCT_009": PRODUCT_009,
                "PARTNER_002": PARTNER_002}
    missing = {name: probe for name, probe in expected.items()
               if not any(squeeze(probe) in text for text in texts.values())}
    assert missing == {}
