"""One SQLAlchemy engine per warehouse URL and process, set up for its database.

PostgreSQL: tables are declared without a schema (`tables.py`) and mapped into schema
`airbnb` here, so SQLite and PostgreSQL share one definition. SQLite: WAL so readers never
block the writer, `synchronous=NORMAL` (SQLite's advice with WAL: no fsync per commit, still
safe when a process is killed; a power cut may lose the last commits, which the next sync
fetches again), a busy timeout so concurrent processes wait instead of failing, foreign keys
on (SQLite leaves them off by default), and real transactions (pysqlite's legacy mode starts
none before DDL or SELECT, which breaks transactional migrations and read-then-write upserts).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event

from airbnb_sync.core.files import private_file
from airbnb_sync.warehouse.tables import PG_SCHEMA
from airbnb_sync.warehouse.timescale import server_supports_timescaledb

Dialect = Literal["sqlite", "postgresql", "timescaledb"]

SQLITE_BUSY_TIMEOUT_MS = 60_000
# Connection execution option: start the SQLite transaction with BEGIN IMMEDIATE, taking the
# write lock up front (waiting for it under busy_timeout) rather than failing with
# SQLITE_BUSY when a read transaction later tries to write after another writer committed.
SQLITE_IMMEDIATE = "airbnb_sync_sqlite_immediate"

_engines: dict[str, sa.Engine] = {}
_dialects: dict[str, Dialect] = {}
_lock = threading.Lock()


def create_warehouse_engine(url: str) -> sa.Engine:
    """The process's engine for `url` (created on first use, then reused)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _build_engine(sa.make_url(url))
            _engines[url] = engine
        return engine


def dispose_warehouse_engine(url: str) -> None:
    """Close the pooled connections of `url`'s engine and forget it (tests drop databases)."""
    with _lock:
        engine = _engines.pop(url, None)
        if engine is not None:
            _dialects.pop(engine.url.render_as_string(hide_password=False), None)
    if engine is not None:
        engine.dispose()


def dialect_of(engine: sa.Engine) -> Dialect:
    """"sqlite", "postgresql", or "timescaledb" when the server can run TimescaleDB here."""
    if engine.dialect.name == "sqlite":
        return "sqlite"
    if engine.dialect.name != "postgresql":
        raise ValueError(f"unsupported warehouse database {engine.dialect.name!r}")
    key = engine.url.render_as_string(hide_password=False)
    with _lock:
        cached = _dialects.get(key)
    if cached is not None:
        return cached
    with engine.connect() as connection:
        found: Dialect = "timescaledb" if server_supports_timescaledb(connection) else "postgresql"
    with _lock:
        _dialects[key] = found
    return found


def _build_engine(url: sa.URL) -> sa.Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        engine = sa.create_engine(url, pool_pre_ping=True)
        return engine.execution_options(schema_translate_map={None: PG_SCHEMA})
    raise ValueError(
        f"unsupported warehouse URL scheme {url.drivername!r}: use sqlite:///PATH or "
        "postgresql+psycopg2://USER@HOST/DB"
    )


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    database = url.database
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()

        @event.listens_for(engine, "do_connect")
        def _create_privately(*_args: Any) -> None:
            # At the first connection (an engine that never connects creates nothing), 0600 in
            # a 0700 folder rather than by SQLite with the umask's mode; its -wal and -shm files
            # take the database's mode. An unwritable folder fails in one line.
            private_file(path, "the SQLite warehouse")

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
