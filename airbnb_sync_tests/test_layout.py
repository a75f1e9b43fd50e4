"""The package's layering, read from the source (imports inside functions count too):
Dagster only in defs/ and the IO manager, sync/ free of defs/ and cli/, no command module
importing the CLI's entry point back, and settings loaded by entry points, not by the code
they call."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "airbnb_sync"
DAGSTER_ALLOWED = ("defs/", "warehouse/io_manager.py")


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


def _is_dagster(name: str) -> bool:
    top = name.split(".")[0]
    return top == "dagster" or top.startswith("dagster_")


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def test_dagster_is_imported_only_in_defs_and_the_io_manager() -> None:
    offenders = [
        _where(path, line, name)
        for path in _modules()
        if not path.relative_to(PACKAGE).as_posix().startswith(DAGSTER_ALLOWED)
        for line, name in _file_imports(path) if _is_dagster(name)
    ]
    assert not offenders, "Dagster outside defs/:\n" + "\n".join(sorted(set(offenders)))


def test_sync_imports_neither_defs_nor_cli() -> None:
    offenders = [
        _where(path, line, name)
        for path in _modules("sync")
        for line, name in _file_imports(path)
        if _within(name, "airbnb_sync.defs") or _within(name, "airbnb_sync.cli")
    ]
    assert not offenders, "\n".join(sorted(set(offenders)))


def test_no_command_module_imports_the_entry_point() -> None:
    offenders = [
        _where(path, line, name)
        for path in _modules("cli")
        for line, name in _file_imports(path) if _within(name, "airbnb_sync.cli.main")
    ]
    assert not offenders, "\n".join(sorted(set(offenders)))


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
    assert _is_dagster("dagster_pandera.x") and not _is_dagster("dagsterish")


def test_the_api_sits_beside_the_cli_and_below_nothing_else() -> None:
    """api/ never imports the CLI (the CLI starts it), and nothing below it imports it."""
    offenders = [
        _where(path, line, name)
        for path in _modules("api")
        for line, name in _file_imports(path) if _within(name, "airbnb_sync.cli")
    ] + [
        _where(path, line, name)
        for under in ("core", "airbnb", "accounts", "warehouse", "sync", "defs", "report")
        for path in _modules(under)
        for line, name in _file_imports(path) if _within(name, "airbnb_sync.api")
    ]
    assert not offenders, "\n".join(sorted(set(offenders)))
