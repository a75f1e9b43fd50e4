"""AIRBNB_SYNC_DRY_RUN=1 talks to Airbnb but changes no table: not the accounts (auth status,
last sync), not the shared pacing or anchor state, not the request counts. So an account whose
first run was dry still gets its automatic first sync once the dry run is switched off."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from automation_helpers import accounts_of, run_request, tick_accounts_sensor
from pipeline_helpers import HOSTS

from airbnb_sync.accounts.store import open_store
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator
from airbnb_sync.warehouse.engine import create_warehouse_engine

# The extension's own catalogs (TimescaleDB's background-job statistics move by themselves)
# and the server's are not the warehouse's tables.
SYSTEM_SCHEMAS = ("information_schema", "pg_", "_timescaledb", "timescaledb_", "toolkit_")


def every_table() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the warehouse, found by inspection, in a stable order."""
    engine = create_warehouse_engine(load_settings().database_url)
    try:
        inspector = sa.inspect(engine)
        schemas = [schema for schema in inspector.get_schema_names()
                   if not schema.startswith(SYSTEM_SCHEMAS)]
        dumped: dict[str, list[tuple[Any, ...]]] = {}
        with engine.connect() as connection:
            for schema in schemas:
                for name in inspector.get_table_names(schema=schema):
                    table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection)
                    rows = connection.execute(sa.select(table)).all()
                    dumped[f"{schema}.{name}"] = sorted((tuple(row) for row in rows), key=repr)
        return dumped
    finally:
        engine.dispose()


def test_a_dry_run_changes_no_table_and_the_first_sync_still_happens(
        pipeline_env: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    today = datetime.now(UTC).date()  # the simulator serves around the real today
    monkeypatch.setenv("AIRBNB_SYNC_DRY_RUN", "1")
    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "0.01")  # pacing state is written
    monkeypatch.setenv("AIRBNB_SYNC_FIRST_SYNC_WEEKS", "4")
    dry_tick = tick_accounts_sensor(today)
    assert sorted(accounts_of(dry_tick.run_requests)) == sorted(HOSTS)
    request = next(r for r in dry_tick.run_requests if accounts_of([r]) == [HOSTS[0]])

    before = every_table()
    assert {"accounts", "request_pacing", "request_counts", "listings"} <= {
        name.split(".")[-1] for name in before}
    dry = run_request(request, today)
    assert dry.success
    assert pipeline_env.stats()["accounts"][HOSTS[0]]["requests"] > 0  # it did ask Airbnb
    assert every_table() == before

    monkeypatch.delenv("AIRBNB_SYNC_DRY_RUN")
    tick = tick_accounts_sensor(today, cursor=dry_tick.cursor)
    assert sorted(accounts_of(tick.run_requests)) == sorted(HOSTS)  # both still need one
    first_sync = next(r for r in tick.run_requests if accounts_of([r]) == [HOSTS[0]])
    assert run_request(first_sync, today).success
    account = open_store(load_settings()).get(HOSTS[0])
    assert account.last_sync_at is not None and account.auth_status == "ok"
    stored = {name.split(".")[-1]: rows for name, rows in every_table().items()}
    assert {row[0] for row in stored["listings"]} == {HOSTS[0]}  # the real sync wrote
