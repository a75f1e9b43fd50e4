"""Bring the warehouse schema to Alembic's head, safely from many processes at once.

Every run upgrades before its first write, and the assets of a run may start in parallel
processes, so upgrades race: on PostgreSQL the upgrade holds a transaction-scoped advisory
lock (released by the commit that publishes the new schema), on SQLite a file lock next to
the database. The loser of the race then finds the schema at head and does nothing.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock

from airbnb_sync.core.files import PRIVATE_FILE, usable_lock_file
from airbnb_sync.warehouse.engine import SQLITE_IMMEDIATE, dialect_of
from airbnb_sync.warehouse.tables import PG_SCHEMA

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_TIMEOUT_SECONDS = 600.0

_upgraded: set[str] = set()
_process_lock = threading.Lock()


def _advisory_key() -> int:
    digest = hashlib.blake2b(b"airbnb-sync:schema-migration", digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic configured in code (no alembic.ini), running on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic revisions in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the warehouse is at, None if it was never migrated."""
    with engine.connect() as connection:
        return _current_revision(connection)


def _current_revision(connection: sa.Connection) -> str | None:
    schema = PG_SCHEMA if connection.dialect.name == "postgresql" else None
    context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return context.get_current_revision()


def upgrade_to_head(engine: sa.Engine) -> None:
    """Migrate to head once per engine and process; idempotent and safe to race."""
    key = engine.url.render_as_string(hide_password=False)
    with _process_lock:
        if key in _upgraded:
            return
        with _migration_lock(engine):
            connection_options = {SQLITE_IMMEDIATE: True} if engine.dialect.name == "sqlite" else {}
            with engine.connect() as connection:
                connection.execution_options(**connection_options)
                with connection.begin():
                    if engine.dialect.name == "postgresql":
                        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                           {"key": _advisory_key()})
                    if _current_revision(connection) != head_revision():
                        command.upgrade(alembic_config(connection), "head")
        _upgraded.add(key)


def forget_upgrades() -> None:
    """Make the next `upgrade_to_head` check the database again (tests recreate databases)."""
    with _process_lock:
        _upgraded.clear()


def status(engine: sa.Engine) -> str:
    """One line for `airbnb-sync db status`: where the schema is, and what to do about it."""
    where = f"{dialect_of(engine)} warehouse {engine.url.render_as_string(hide_password=True)}"
    current, head = current_revision(engine), head_revision()
    if current == head:
        return f"{where}: at revision {current} (head)"
    if current is None:
        return f"{where}: not initialised (head is {head}); run `airbnb-sync db upgrade`"
    return f"{where}: at revision {current}, head is {head}; run `airbnb-sync db upgrade`"


@contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[None]:
    """SQLite: a file lock next to the database. PostgreSQL locks inside the transaction."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_file = usable_lock_file(Path(f"{database}.migrate.lock"),
                                 "the SQLite warehouse's schema migration")
    with FileLock(lock_file, timeout=LOCK_TIMEOUT_SECONDS, mode=PRIVATE_FILE):
        yield
