"""A name inside Markdown shows as written: a Markdown renderer (markdown-it, CommonMark with
GitHub's tables and strikethrough) turns the escaped text back into exactly that text."""

from __future__ import annotations

import html

import pytest
from markdown_it import MarkdownIt

from sangsaeng.markdown import escape
from sangsaeng.reports import to_markdown

NAMES = {
    "script": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "link": "[y](http://x.example/)",
    "image": "![y](http://x.example/y.png)",
    "emphasis": "**굵게** _기울임_ ~~취소~~",
    "code": "`rm -rf /`",
    "pipe": "A|B 주식회사",
    "entity": "&lt;b&gt; &amp;",
    "backslash": "C:\\temp\\",
    "heading-close": "주식회사 #1 #",
    "autolink": "http://x.example www.x.example a@x.example",
    "korean": "(주)와치캠 등 (18개 기업)",
}


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_an_escaped_name_renders_as_its_text(name: str) -> None:
    assert rendered(f"회사 {escape(name)}") == f"<p>회사 {html.escape(name, quote=False)}</p>\n"
    assert rendered(f"# 2022-2 · {escape(name)}") == (
        f"<h1>2022-2 · {html.escape(name, quote=False)}</h1>\n")


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_a_name_in_a_table_stays_in_its_cell_as_text(name: str) -> None:
    table = rendered(to_markdown(("NO", "상생협력제품", "지원기간"), [("1", name, "3년")]))
    assert f"<td>{html.escape(name, quote=False)}</td>" in table
    assert "<td>3년</td>" in table  # the row kept its columns


def test_a_line_break_in_a_name_keeps_the_table_row_whole() -> None:
    table = to_markdown(("NO", "상생협력제품"), [("1", "스마트\r\n가로등\x0b")])
    assert table.splitlines()[2] == "| 1 | 스마트 가로등  |"


def test_a_name_without_markup_is_written_as_it_is() -> None:
    assert escape("(주)와치캠 등 (18개 기업)") == "(주)와치캠 등 (18개 기업)"
