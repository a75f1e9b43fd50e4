"""The account lease when its database session dies (a restart, a dropped connection): the
next request's turn is refused with LeaseLost, so nothing goes to Airbnb unserialized, and
leaving the lease does not hide the block's own outcome."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from airbnb_sync.sync.lease import DatabasePacingStore, LeaseLost, account_lease
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

ACCOUNT = "41234567"


def terminate_other_sessions(url: str) -> int:
    """What a database restart does to a client's sessions, to this database only."""
    admin = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        return len(connection.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all())


def test_a_lease_whose_session_died_refuses_the_next_turn(server_database_url: str,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    engine = create_warehouse_engine(server_database_url)
    upgrade_to_head(engine)
    store = DatabasePacingStore(engine)
    with account_lease(engine, ACCOUNT):
        store.set(ACCOUNT, 1.0)
        assert store.get(ACCOUNT) == 1.0  # a live lease: turns are handed out
        assert terminate_other_sessions(server_database_url) >= 1
        with pytest.raises(LeaseLost) as lost:
            store.get(ACCOUNT)
        # Leaving the block with the error: the error stays, the dead session is let go.
        with caplog.at_level(logging.WARNING, logger="airbnb_sync.sync.lease"), \
                pytest.raises(LeaseLost):
            raise lost.value
    message = str(lost.value)
    assert f"account {ACCOUNT}: lost its lease" in message and "database restart" in message
    assert "password" not in message.lower() and "airbnb_sync:" not in message
    assert "was gone at the end" in caplog.text
    # The lease can be taken again at once, and turns come from the store as before.
    with account_lease(engine, ACCOUNT, timeout=5):
        assert store.get(ACCOUNT) == 1.0


def test_a_store_without_a_lease_of_this_process_does_not_check(server_database_url: str
                                                                ) -> None:
    engine = create_warehouse_engine(server_database_url)
    upgrade_to_head(engine)
    store = DatabasePacingStore(engine)
    terminate_other_sessions(server_database_url)
    assert store.get(ACCOUNT) is None  # pool_pre_ping replaced the dead pooled session
