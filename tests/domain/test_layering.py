"""STYLE layering: the domain is pure — importing it never pulls in Prefect, a DB or the CLI."""

from __future__ import annotations

import subprocess
import sys

DOMAIN_MODULES = (
    "brn",
    "clock",
    "companies",
    "ordering",
    "ranking",
    "scoring",
    "screening",
    "selection",
    "states",
    "addresses",
)


def test_domain_imports_no_prefect_sqlalchemy_or_io() -> None:
    imports = "; ".join(f"import sangsaeng.domain.{m}" for m in DOMAIN_MODULES)
    check = (
        "import sys; bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'prefect', 'sqlalchemy', 'sqlmodel', 'jinja2'}); print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"{imports}; {check}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert result.stdout.strip() == "[]"
