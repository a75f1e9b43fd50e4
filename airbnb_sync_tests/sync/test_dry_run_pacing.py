"""A dry run's pacing store honours what other runs stored and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from airbnb_sync.airbnb.pacing import Pacer
from airbnb_sync.sync.lease import DatabasePacingStore, ReadOnlyPacingStore
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head
from airbnb_sync.warehouse.tables import accounts, request_pacing

ACCOUNT = "41234567"


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_the_dry_run_store_reads_the_shared_hold_back_and_keeps_its_own(
        database_url: str) -> None:
    engine = create_warehouse_engine(database_url)
    try:
        upgrade_to_head(engine)
        now = datetime.now(UTC)
        with engine.begin() as connection:
            connection.execute(accounts.insert().values(
                account_id=ACCOUNT, credentials="x", created_at=now, updated_at=now))
        shared = DatabasePacingStore(engine)
        dry = ReadOnlyPacingStore(shared)
        assert dry.get(ACCOUNT) is None
        held = now.timestamp() + 30
        shared.set(ACCOUNT, held)  # another run saw a Retry-After
        assert dry.get(ACCOUNT) == pytest.approx(held, abs=1e-3)
        Pacer(0.0, store=dry).hold_back(ACCOUNT, 60)  # the dry run's own, later one
        assert dry.get(ACCOUNT) > held + 20
        assert shared.get(ACCOUNT) == pytest.approx(held, abs=1e-3)  # the table did not move
        with engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count())
                                      .select_from(request_pacing)).scalar() == 1
    finally:
        dispose_warehouse_engine(database_url)
