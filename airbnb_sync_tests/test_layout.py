"""The package's layering: the import-linter contracts of pyproject.toml ([tool.importlinter]:
layers, Dagster only in defs/ and instance/, no import cycle, no command module importing the
CLI's entry point), run with `lint-imports` and shown to catch a break; and, read from the
source, settings loaded by entry points, not by the code they call."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGE = REPOSITORY / "airbnb_sync"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _modules(under: str = "") -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py"))


def _imports(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, a module of `package`, at
    any depth. `from a import b` yields both a and a.b: b may be a module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            name = ".".join(part for part in (base, node.module) if part)
            yield node.lineno, name
            yield from ((node.lineno, f"{name}.{alias.name}") for alias in node.names)


def _file_imports(path: Path) -> Iterator[tuple[int, str]]:
    package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
    return _imports(path.read_text(), package)


def _where(path: Path, line: int, name: str) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the package under `root`, with the repository's contracts."""
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config",
                           str(REPOSITORY / "pyproject.toml")], cwd=root, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold() -> None:
    result = lint_imports(REPOSITORY)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


# A break of each kind, and the contract that must name it.
BREAKS = [
    pytest.param("core/settings.py", "import airbnb_sync.airbnb.operations",
                 "airbnb_sync.core is not allowed to import airbnb_sync.airbnb", id="core-up"),
    pytest.param("warehouse/engine.py", "import airbnb_sync.defs.partitions",
                 "airbnb_sync.warehouse is not allowed to import airbnb_sync.defs",
                 id="warehouse-defs"),
    pytest.param("warehouse/upsert.py", "import airbnb_sync.datasets",
                 "airbnb_sync.warehouse is not allowed to import airbnb_sync.datasets",
                 id="warehouse-datasets"),
    pytest.param("datasets/fetch.py", "import airbnb_sync.accounts.store",
                 "airbnb_sync.datasets is not allowed to import airbnb_sync.accounts",
                 id="datasets-accounts"),
    pytest.param("sync/tables.py", "import dagster", "airbnb_sync is not allowed to import dagster",
                 id="dagster-in-sync"),
    pytest.param("cli/accounts.py", "from dagster import asset",
                 "airbnb_sync is not allowed to import dagster", id="dagster-in-cli"),
    pytest.param("report/summary.py", "import airbnb_sync.report.build",
                 "No cycles are allowed in airbnb_sync.report", id="cycle"),
    pytest.param("cli/status.py", "from airbnb_sync.cli import main",
                 "is not allowed to import airbnb_sync.cli.main", id="cli-main"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("module", "line", "reported"), BREAKS)
def test_a_broken_contract_fails_the_check(tmp_path: Path, module: str, line: str,
                                           reported: str) -> None:
    copy = tmp_path / "airbnb_sync"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    broken = copy / module
    broken.write_text(broken.read_text() + f"\n\ndef _broken() -> None:\n    {line}\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout[-4000:]
    assert reported in " ".join(result.stdout.split()), result.stdout[-4000:]


def test_settings_are_loaded_by_entry_points_not_by_the_code_they_call() -> None:
    """The CLI's main loads them once and passes them down; admin/ and accounts/ take them."""
    entry_point = PACKAGE / "cli" / "main.py"
    offenders = [
        _where(path, line, name)
        for under in ("cli", "admin", "accounts")
        for path in _modules(under) if path != entry_point
        for line, name in _file_imports(path)
        if name == "airbnb_sync.core.settings.load_settings"
    ]
    assert not offenders, "\n".join(sorted(set(offenders)))


def test_imports_are_found_at_any_depth_and_relative_ones_resolved() -> None:
    source = ("import os\n"
              "def sync():\n"
              "    from dagster import asset\n"
              "    if True:\n"
              "        import dagster_pandera.x\n"
              "from ..cli import main\n"
              "from . import lease\n")
    assert sorted(_imports(source, "airbnb_sync.sync")) == [
        (1, "os"), (3, "dagster"), (3, "dagster.asset"), (5, "dagster_pandera.x"),
        (6, "airbnb_sync.cli"), (6, "airbnb_sync.cli.main"),
        (7, "airbnb_sync.sync"), (7, "airbnb_sync.sync.lease"),
    ]
