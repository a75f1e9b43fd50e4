"""The pacing store a sync uses under an account's lease, on every warehouse backend."""

from __future__ import annotations

import sqlalchemy as sa

from airbnb_sync.sync.lease import DatabasePacingStore, account_lease
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head

ACCOUNT = "41234567"


def pacing_reads(engine: sa.Engine) -> list[str]:
    """Every SELECT on request_pacing that `engine` sends from now on."""
    seen: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def record(_conn, _cursor, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "request_pacing" in statement:
            seen.append(statement)

    return seen


def test_a_holder_reads_the_shared_time_once_and_writes_every_change_through(
        database_url: str) -> None:
    engine = create_warehouse_engine(database_url)
    upgrade_to_head(engine)
    with account_lease(engine, ACCOUNT):
        DatabasePacingStore(engine).set(ACCOUNT, 1000.0)  # a previous holder's Retry-After
    reads = pacing_reads(engine)
    with account_lease(engine, ACCOUNT):
        store = DatabasePacingStore(engine)
        assert [store.get(ACCOUNT) for _ in range(5)] == [1000.0] * 5
        store.set(ACCOUNT, 2000.0)
        assert store.get(ACCOUNT) == 2000.0
    assert len(reads) == 1  # the lease holder alone moves the time: no read per request
    with account_lease(engine, ACCOUNT):
        assert DatabasePacingStore(engine).get(ACCOUNT) == 2000.0  # the next holder sees it
    assert len(reads) == 2
