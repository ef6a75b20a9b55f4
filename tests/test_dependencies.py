"""Honest dependencies (issue 21 item 7): what the code imports is declared, and what is
declared is imported.

- every third-party module that sangsaeng/, flows/ and tasks/ import comes from a distribution
  in `[project] dependencies`; every one that tests/ and bench/ import, from those or from the
  `test` extra (which `dev` includes, so `make install`'s `.[dev]` installs it);
- every declared runtime dependency and every package of the `test` extra is imported
  somewhere (but the few named in NOT_IMPORTED, with why).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCAL = {"sangsaeng", "flows", "tasks", "tests", "bench"}
# bench/'s scripts import each other by file name (run as `python bench/x.py`).
LOCAL |= {path.stem for path in (REPO / "bench").glob("*.py")}
OPTIONAL = {"uvloop"}  # bench/broadcast.py --loop uvloop, only if installed (bench/README.md)
NOT_IMPORTED = {
    "psycopg": "the PostgreSQL driver SQLAlchemy loads for a postgresql+psycopg:// URL",
    "pytest-xdist": "a pytest plugin (`-n 2` in the Makefile's test target), loaded by pytest",
    "python-multipart": "Starlette's form parser (`request.form()` in sangsaeng/web/upload.py)",
    "httpx2": "the HTTP client under `starlette.testclient.TestClient` (tests of the web apps)",
    "py-spy": "a program, not a module: `py-spy record` samples bench/broadcast.py (spy_split.py)",
}


def normalized(requirement: str) -> str:
    """A requirement's distribution name, PEP 503-normalized (`PyYAML>=6` → `pyyaml`)."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert name is not None, requirement
    return re.sub(r"[-_.]+", "-", name[0]).lower()


def declared() -> tuple[set[str], set[str]]:
    """(runtime dependencies, the test extra) as normalized distribution names."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert "sangsaeng[test]" in extras["dev"], "dev must include the test extra"
    return ({normalized(r) for r in project["dependencies"]},
            {normalized(r) for r in extras["test"]})


def imported(roots: Iterable[str]) -> set[str]:
    """The top-level modules imported (absolutely) by the Python files under `roots`."""
    found: set[str] = set()
    for root in roots:
        for path in (REPO / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found - LOCAL - set(sys.stdlib_module_names)


def distributions(modules: Iterable[str]) -> dict[str, set[str]]:
    """Each module's distributions (normalized), as installed."""
    known = packages_distributions()
    return {m: {normalized(d) for d in known.get(m, [])} for m in modules}


def test_what_the_package_imports_is_a_runtime_dependency() -> None:
    runtime, _ = declared()
    missing = {m: d for m, d in distributions(imported(["sangsaeng", "flows", "tasks"])).items()
               if not d & runtime}
    assert not missing, f"imported by the package but not in [project] dependencies: {missing}"


def test_what_tests_and_bench_import_is_declared() -> None:
    runtime, test = declared()
    modules = imported(["tests", "bench"]) - OPTIONAL
    missing = {m: d for m, d in distributions(modules).items() if not d & (runtime | test)}
    assert not missing, f"imported by tests/ or bench/ but declared nowhere: {missing}"


def test_every_declared_package_is_imported() -> None:
    runtime, test = declared()
    used = set().union(*distributions(imported(["sangsaeng", "flows", "tasks"])).values())
    used_by_tests = set().union(*distributions(imported(["tests", "bench"])).values())
    unused = (runtime - used - set(NOT_IMPORTED)) | (test - used_by_tests - set(NOT_IMPORTED))
    assert not unused, f"declared but imported nowhere: {sorted(unused)}"
