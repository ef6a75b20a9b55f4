"""The rulebook is in the repository: every rule id and every section the code, templates and
tests cite resolves in `docs/` (issue 21).

- A rule id is a token of PROGRAM_RULES's scheme — a family letter, a number and an optional
  letter (`T2`, `R3`, `C1`, `S1`, `V10`, `A2`, `K2a`, `M1c`) — or a screening reason `§4.6`.
  It resolves when `docs/rules.md` has an entry for it: a list item or paragraph that starts
  with the bold id (`- **K2a** …`, `- **§4.6** …`).
- `PROGRAM_RULES §n` / `INTERFACES §n` resolve to a heading `§n …` of `docs/rules.md` /
  `docs/interfaces.md`; `ARCHITECTURE: topic` to a heading of `docs/architecture.md` naming the
  topic; `STYLE "heading"` to that heading of `docs/style.md`; FIELD_NOTES to
  `docs/field-notes.md`; `docs/<file>.md §n` to a heading `n. …` of that file.
- Relative links in README.md and `docs/*.md` point to files of the checkout.
- The "Implemented in" references of `docs/rules.md` name files that exist and functions,
  classes or constants defined in them, so a rename elsewhere shows here.

Not citations (they match the scheme but name no rule): Korean words and hex around a token
(`확인K4`, `3FA4C1`: the token must stand alone); spreadsheet cells (`A1:A9`, `!A0`, `=A1`);
reviewer ids, which share the R family (`R01`, `"R4"`, `2022-2-002,R01,…`: leading zero, quoted
or inside a data row); and the few tokens listed in NOT_RULES. docs/rules.md lists them too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SCANNED = ("sangsaeng", "flows", "tasks", "templates", "tests")
SUFFIXES = {".py", ".j2", ".typ", ".md", ".mako", ".txt"}

# Tokens of the id scheme that cite no rule (documented at the end of docs/rules.md).
NOT_RULES = {
    "A4": "the paper size of the certificate PDF",
    "C0": "the Unicode C0 control characters",
}

_HANGUL = "\uac00-\ud7a3\u3131-\u318e"
# Not after a letter, digit or Hangul (part of a word or hex), a spreadsheet operator or a
# cell range's `A1:`; not before a letter, digit, `&` or a cell range's `:A9`. Hangul may
# follow: Korean particles (`S1까지`).
RULE_ID = re.compile(
    rf"(?<![A-Za-z0-9_{_HANGUL}!=&$])(?<![0-9]:)(?P<id>[TRCSVAKM][0-9]{{1,2}}[a-z]?|§4\.[0-9]+)"
    rf"(?![A-Za-z0-9_&]|:[A-Z])")
SECTION = r"§\s?(\d+(?:\.\d+)?)((?:\s?(?:,|–|-|and)\s?§?\s?\d+(?:\.\d+)?)*)"
DOC_CITATION = re.compile(rf"\b(PROGRAM_RULES|INTERFACES)(?:\.md)?\s{SECTION}")
FILE_CITATION = re.compile(rf"\bdocs/([a-z_]+\.md)\s{SECTION}")
ARCH_CITATION = re.compile(r"\bARCHITECTURE(?:\.md)?:\s*([^)\n;,.]+)")
STYLE_CITATION = re.compile(r"\bSTYLE(?:\.md)?,?\s+\"([^\"]+)\"")
NOTES = {"FIELD_NOTES": "field-notes.md", "STYLE": "style.md", "ARCHITECTURE": "architecture.md"}
DOC_OF = {"PROGRAM_RULES": "rules.md", "INTERFACES": "interfaces.md"}


def _sources() -> Iterator[tuple[Path, int, str]]:
    """(file, line number, line) of every scanned text file but this one."""
    for root in SCANNED:
        for path in sorted((REPO / root).rglob("*")):
            if (path.suffix in SUFFIXES and "__pycache__" not in path.parts
                    and path.resolve() != Path(__file__).resolve()):
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    yield path, number, line


def _is_reviewer_id(token: str, line: str, start: int, end: int) -> bool:
    """R-tokens that are reviewer ids: `R01`, quoted `"R4"`, or a cell of a data row."""
    if not token.startswith("R"):
        return False
    before, after = line[start - 1:start], line[end:end + 1]
    return token[1] == "0" or before in {'"', "'", ",", "-"} or after in {'"', "'", "-"}


def cited_ids() -> dict[str, list[str]]:
    """Rule id → the `file:line` places citing it."""
    cited: dict[str, list[str]] = defaultdict(list)
    for path, number, line in _sources():
        for match in RULE_ID.finditer(line):
            token = match.group("id")
            if token in NOT_RULES or _is_reviewer_id(token, line, *match.span()):
                continue
            cited[token].append(f"{path.relative_to(REPO)}:{number}")
    return cited


def rule_entries() -> set[str]:
    """The ids docs/rules.md defines: a list item or paragraph starting with the bold id."""
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\s*(?:[-*]\s+|\d+\.\s+)?\*\*([^*\s]+)\*\*", text, re.M))


def sections(doc: str) -> set[str]:
    """Section numbers of a docs file's headings: `## §4 Screening`, `## 7. Authentication`."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    return set(re.findall(r"^#{1,6}\s+§?(\d+)[.\s]", text, re.M))


def headings(doc: str) -> list[str]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    return [h.lower() for h in re.findall(r"^#{1,6}\s+(.*)$", text, re.M)]


def _section_numbers(first: str, rest: str) -> list[str]:
    return [first, *re.findall(r"\d+(?:\.\d+)?", rest)]


def _unresolved_section(doc: str, number: str) -> bool:
    if "." in number:  # §4.6: the screening reason's entry
        return f"§{number}" not in rule_entries()
    return number not in sections(doc)


def unresolved_citations() -> list[str]:
    """`file:line: citation` for every section citation that docs/ does not resolve."""
    missing: list[str] = []
    for path, number, line in _sources():
        where = f"{path.relative_to(REPO)}:{number}"
        for doc_name, first, rest in DOC_CITATION.findall(line):
            doc = DOC_OF[doc_name]
            missing += [f"{where}: {doc_name} §{n} (docs/{doc})"
                        for n in _section_numbers(first, rest) if _unresolved_section(doc, n)]
        for doc, first, rest in FILE_CITATION.findall(line):
            if not (DOCS / doc).exists():
                missing.append(f"{where}: docs/{doc} (no such file)")
                continue
            missing += [f"{where}: docs/{doc} §{n}"
                        for n in _section_numbers(first, rest) if _unresolved_section(doc, n)]
        for name, doc in NOTES.items():
            if re.search(rf"\b{name}\b", line) and not (DOCS / doc).is_file():
                missing.append(f"{where}: {name} (docs/{doc} missing)")
        for topic in STYLE_CITATION.findall(line):
            if topic.lower() not in headings("style.md"):
                missing.append(f"{where}: STYLE \"{topic}\" (docs/style.md)")
        for topic in ARCH_CITATION.findall(line):
            wanted = re.sub(r"^the\s+", "", topic.strip().lower())
            if not any(wanted in h for h in headings("architecture.md")):
                missing.append(f"{where}: ARCHITECTURE: {topic.strip()} (docs/architecture.md)")
    return missing


def test_every_cited_rule_id_has_an_entry_in_docs_rules_md() -> None:
    cited = cited_ids()
    assert len(cited) >= 40, sorted(cited)  # the scan found the citations at all
    unresolved = {token: places for token, places in cited.items()
                  if token not in rule_entries()}
    report = "\n".join(f"{token}: {', '.join(places[:10])}" + (" …" if len(places) > 10 else "")
                       for token, places in sorted(unresolved.items()))
    assert not unresolved, f"rule ids without an entry in docs/rules.md:\n{report}"


def test_every_cited_section_exists_in_docs() -> None:
    missing = unresolved_citations()
    assert not missing, "citations docs/ does not resolve:\n" + "\n".join(missing)


def test_the_id_pattern_skips_what_is_not_a_citation() -> None:
    def ids(line: str) -> list[str]:
        return [m.group("id") for m in RULE_ID.finditer(line)
                if not _is_reviewer_id(m.group("id"), line, *m.span())]

    assert ids("numbers continue (K2a); reminders M1b/M1c, K1–K4, §4.6, K1: issued") == [
        "K2a", "M1b", "M1c", "K1", "K4", "§4.6", "K1"]
    assert ids("S1까지 보완 (V10의 승인)") == ["S1", "V10"]  # Korean particles after an id
    assert ids("확인K4서 3FA4C1 0xK4 abcK1") == []  # inside Korean words, hex, identifiers
    assert ids('"@SUM(A1:A9)" "+cmd|\' /C calc\'!A0" "=A1&B1"') == []  # spreadsheet cells
    assert ids('{"R1": "50", "R10": "90"} 2022-2-002,R01,20.1 reviewer-R9-before') == []
    assert ids('rule="V10", "K5a"') == ["V10", "K5a"]  # audited rule ids are citations


def test_every_rule_entry_is_unique_and_the_office_sections_are_all_there() -> None:
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    entries = re.findall(r"^\s*(?:[-*]\s+)?\*\*([^*\s]+)\*\*", text, re.M)
    assert len(entries) == len(set(entries)), sorted(e for e in entries if entries.count(e) > 1)
    assert sections("rules.md") == {str(n) for n in range(1, 9)}
    assert sections("interfaces.md") >= {str(n) for n in range(1, 7)}


def _links(text: str) -> Iterator[str]:
    for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text):
        if not re.match(r"^[a-z]+:|^#", target):
            yield target.split("#", 1)[0]


def test_relative_links_in_the_readme_and_docs_stay_inside_the_checkout() -> None:
    """Files of the checkout, or under var/ (the screenshots the browser tests take)."""
    broken = []
    for page in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in _links(page.read_text(encoding="utf-8")):
            resolved = (page.parent / target).resolve()
            generated = REPO.resolve() / "var" in resolved.parents  # screenshots the tests take
            if REPO.resolve() not in resolved.parents or not (resolved.exists() or generated):
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, "links to nothing or outside the checkout:\n" + "\n".join(broken)


def _implemented_in() -> Iterator[tuple[str, list[str]]]:
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    for block in re.findall(r"\*Implemented in:\*(.*?)(?=\n\s*\n|\n\s*[-*] \*\*|\n#|\Z)", text,
                            re.S):
        for path, names in re.findall(r"`([\w/.\-]+\.(?:py|typ|toml))`(?: \(([^)]*)\))?",
                                      block):
            yield path, re.findall(r"`([A-Za-z_][\w]*)(?:\.\w+)*`", names)


def test_implemented_in_names_files_and_names_that_exist() -> None:
    stale = []
    for path, names in _implemented_in():
        if not (REPO / path).is_file():
            stale.append(f"{path}: no such file")
            continue
        source = (REPO / path).read_text(encoding="utf-8")
        stale += [f"{path}: no {name}" for name in names if not re.search(
            rf"^\s*(?:async\s+def|def|class)\s+{name}\b|^\s*{name}\s*[:=]", source, re.M)]
    assert not stale, "docs/rules.md cites what is not there:\n" + "\n".join(stale)
