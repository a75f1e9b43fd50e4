"""Fixtures of the warehouse tests: an engine on each test database, migrated, with accounts.

`database_url` (root conftest) gives a fresh empty database per test on SQLite, PostgreSQL
and TimescaleDB; the engine is disposed afterwards so no test keeps connections open.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from warehouse_rows import ACCOUNT, OTHER_ACCOUNT, add_accounts

from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_warehouse_engine(database_url)
    yield engine
    dispose_warehouse_engine(database_url)


@pytest.fixture
def warehouse(engine: sa.Engine) -> sa.Engine:
    """Migrated, with the two test accounts (metric rows reference accounts)."""
    upgrade_to_head(engine)
    add_accounts(engine, [ACCOUNT, OTHER_ACCOUNT])
    return engine
