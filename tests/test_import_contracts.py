"""ARCHITECTURE's layers as import contracts (`lint-imports`, run by `make lint`): kept by the
code as it is, broken by a new upward import or an import cycle."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages the contracts cover, with the project's configuration."""
    for package in ("sangsaeng", "flows", "tasks"):
        shutil.copytree(REPO / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_code_keeps_every_contract(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout
    assert "3 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(tree: Path) -> None:
    _append(tree / "sangsaeng" / "services" / "selection.py", "import flows.round  # noqa")
    result = _lint(tree)
    assert result.returncode == 1
    assert "Layers: cli → flows" in result.stdout and "BROKEN" in result.stdout
    assert "sangsaeng.services.selection -> flows.round" in result.stdout


def test_the_domain_may_import_nothing_of_the_project_above_it(tree: Path) -> None:
    _append(tree / "sangsaeng" / "domain" / "brn.py", "import sangsaeng.models  # noqa")
    result = _lint(tree)
    assert result.returncode == 1
    assert "sangsaeng.domain.brn -> sangsaeng.models" in result.stdout


def test_an_import_cycle_between_siblings_breaks_the_acyclic_contract(tree: Path) -> None:
    # cli.rounds already imports cli.exports: the way back closes a cycle (as cli ↔ cli_mail did)
    _append(tree / "sangsaeng" / "cli" / "exports.py", "import sangsaeng.cli.rounds  # noqa")
    result = _lint(tree)
    assert result.returncode == 1
    assert "No import cycles" in result.stdout and "BROKEN" in result.stdout


def test_the_public_app_reaching_the_exports_or_mail_breaks_its_contract(tree: Path) -> None:
    # even indirectly: the verification pages reading a service that sends mail
    _append(tree / "sangsaeng" / "web" / "verification.py",
            "import sangsaeng.services.certificates  # noqa")
    result = _lint(tree)
    assert result.returncode == 1
    assert "The public verification app reaches no exports" in result.stdout
    assert "BROKEN" in result.stdout and "sangsaeng.mail" in result.stdout
