"""Which installation a command reads, and whether there is one.

An installation is a warehouse with airbnb-sync's schema and a DAGSTER_HOME folder. Only the
commands that set one up (`accounts add`, `db upgrade`, `demo`) may create it; every other
command reads it, and a health check run from the wrong folder must say that nothing is there
instead of creating an empty installation and reporting it healthy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from airbnb_sync.cli.common import Failed
from airbnb_sync.core.files import UnusablePath, kind_of, private_dir, tighten, tighten_tree
from airbnb_sync.core.settings import Settings

HOW_TO_FIND = (
    "run the command where the installation was made (DAGSTER_HOME defaults to ./.dagster_home, "
    "which holds the SQLite warehouse), or set DAGSTER_HOME and AIRBNB_SYNC_DATABASE_URL to it; "
    "`airbnb-sync accounts add` or `airbnb-sync db upgrade` creates a new one"
)


class NoInstallation(Failed):
    """The settings point at no installation: nothing to read, so nothing to report (exit 1,
    as `export` always did for a missing warehouse: a health check must not pass)."""


def creates_installation(parser: argparse.ArgumentParser) -> None:
    """Mark a command (parser) as one that may create the installation it is pointed at."""
    parser.set_defaults(creates_installation=True)


def may_create(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "creates_installation", False))


def hidden_url(url: str) -> str:
    """The warehouse URL as it may be shown: SQLAlchemy's rendering with the password as ***."""
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


def describe(settings: Settings) -> str:
    return f"warehouse {hidden_url(settings.database_url)}, DAGSTER_HOME {settings.dagster_home}"


def create_installation(settings: Settings) -> None:
    """DAGSTER_HOME as an owner-only folder (the warehouse is created when first opened)."""
    private_dir(settings.dagster_home, "DAGSTER_HOME")


def tighten_installation(settings: Settings) -> int:
    """Make what an older version or another umask left readable the owner's only: DAGSTER_HOME
    and everything in it (Dagster's run and event databases, compute logs, the key, reports),
    the reports folder and a SQLite warehouse with its side files wherever they are. Links are
    never followed. Returns how many files and folders changed."""
    import sqlalchemy as sa

    changed = tighten_tree(settings.dagster_home) if settings.dagster_home.is_dir() else 0
    if settings.reports_dir.is_dir() and not settings.reports_dir.is_relative_to(
            settings.dagster_home):
        changed += tighten_tree(settings.reports_dir)
    url = sa.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        warehouse = Path(url.database).expanduser().absolute()
        if not warehouse.is_relative_to(settings.dagster_home):
            changed += sum(tighten(path) for path in warehouse.parent.iterdir()
                           if path.name.startswith(warehouse.name))
    return changed


def require_installation(settings: Settings) -> None:
    """Raise NoInstallation naming what was looked at, unless both parts are there."""
    home = settings.dagster_home
    kind = kind_of(home, "DAGSTER_HOME")
    if kind == "file":
        raise UnusablePath(f"DAGSTER_HOME {home} is not a folder: point DAGSTER_HOME at the "
                           "installation's folder")
    missing = []
    if kind == "missing":
        missing.append(f"DAGSTER_HOME {home} does not exist")
    if (absent := _warehouse_absent(settings)) is not None:
        missing.append(absent)
    if missing:
        raise NoInstallation(f"no airbnb-sync installation: {'; and '.join(missing)}. "
                             f"{HOW_TO_FIND}")


def _warehouse_absent(settings: Settings) -> str | None:
    """What is missing of the warehouse, or None: it must be a SQLite file that is there and
    not empty, or a server database, migrated at least once (an empty PostgreSQL database is
    nothing there)."""
    import sqlalchemy as sa

    from airbnb_sync.warehouse.engine import create_warehouse_engine
    from airbnb_sync.warehouse.migrate import current_revision

    url = sa.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        from pathlib import Path

        path = Path(url.database or "").expanduser()
        if kind_of(path, "the SQLite warehouse") != "file":
            return f"there is no warehouse at {path}"
        if path.stat().st_size == 0:
            return f"the warehouse {path} is an empty file"
    if current_revision(create_warehouse_engine(settings.database_url)) is None:
        return (f"the warehouse {hidden_url(settings.database_url)} has no tables yet: run "
                "`airbnb-sync db upgrade` to create them there")
    return None
