"""Text inside Markdown (selection.md, announcement.md, the Prefect artifacts): shown as written,
never read as markup.

Product, company and reviewer names come from applicants. The Prefect UI renders an artifact's
Markdown with its raw HTML (sanitised, but `<img src=x onerror=…>` still becomes an image) and
GitHub-style extensions (tables, autolinks); `selection.md` is opened in Markdown viewers too.
So every such text goes through `escape` before it is put into Markdown.
"""

from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the characters
# that start markup inside a line: HTML (< > &), emphasis (* _ ~), code (`), links and images
# ([ ]), table cells (|), a heading's closing #, e-mail autolinks (@) and the backslash itself.
_MARKUP = re.compile(r"([\\`*_\[\]<>|~&#@])")
# GitHub-style autolinks: `http://…`, `https://…`, `www.…` become links without any markup.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(://)|(?<![\w.])(www)\.")
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def escape(text: str) -> str:
    """`text` as Markdown that shows exactly this text on one line (line breaks and other
    control characters become a space), for use inside a line: a paragraph, a heading or a
    table cell."""
    flat = _LINE_BREAKS.sub(" ", text)
    escaped = _MARKUP.sub(r"\\\1", flat)
    return _AUTOLINK.sub(lambda m: ":\\/\\/" if m.group(1) else f"{m.group(2)}\\.", escaped)
