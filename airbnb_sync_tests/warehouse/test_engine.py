"""The warehouse engine: one per URL, set up for SQLite or PostgreSQL."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from airbnb_sync.warehouse.engine import (
    create_warehouse_engine,
    dialect_of,
    dispose_warehouse_engine,
)
from airbnb_sync.warehouse.migrate import upgrade_to_head
from airbnb_sync.warehouse.tables import PG_SCHEMA, accounts


def test_one_engine_per_url(engine: sa.Engine, database_url: str) -> None:
    assert create_warehouse_engine(database_url) is engine


def test_dialect_names_the_database(engine: sa.Engine, database_url: str) -> None:
    expected = {"sqlite": {"sqlite"}, "postgresql": {"postgresql", "timescaledb"}}
    assert dialect_of(engine) in expected[engine.dialect.name]
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            preloaded = connection.exec_driver_sql(
                "SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'"
            ).scalar_one_or_none() or ""
        assert (dialect_of(engine) == "timescaledb") == ("timescaledb" in preloaded)


def test_sqlite_is_set_up_for_concurrent_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/not/yet/there/warehouse.db"
    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as connection:
            pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                       for name in ("journal_mode", "foreign_keys", "busy_timeout")}
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 60000}
        assert (tmp_path / "not/yet/there/warehouse.db").exists()
    finally:
        dispose_warehouse_engine(url)


def test_sqlite_transactions_roll_back_ddl_and_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/warehouse.db"
    engine = create_warehouse_engine(url)
    try:
        with pytest.raises(RuntimeError), engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
            raise RuntimeError("abort")
        assert "scratch" not in sa.inspect(engine).get_table_names()
    finally:
        dispose_warehouse_engine(url)


def test_postgres_tables_live_in_the_airbnb_schema(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    upgrade_to_head(engine)
    with engine.begin() as connection:
        connection.execute(accounts.insert().values(
            account_id="1", credentials="x", created_at=sa.func.now(), updated_at=sa.func.now()))
        found = connection.exec_driver_sql(
            f"SELECT account_id FROM {PG_SCHEMA}.accounts").scalars().all()
    assert found == ["1"]


def test_unsupported_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported warehouse URL"):
        create_warehouse_engine("mysql://somewhere/db")
