"""How old each active account's newest figures are.

Airbnb revises figures daily (new data arrives within 24 hours), so a table whose newest
snapshot of an account is older than `MAX_AGE` means the daily sync stopped for it: an expired
session, a failing run, or a schedule that is off.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from airbnb_sync.warehouse.tables import METRIC_TABLES, accounts

MAX_AGE = timedelta(hours=36)


def stale_accounts(engine: sa.Engine, table_name: str, now: datetime,
                   max_age: timedelta = MAX_AGE) -> dict[str, str]:
    """Active account -> when its newest row of `table_name` was fetched ('never' if not)."""
    table = METRIC_TABLES[table_name]
    newest = (
        sa.select(accounts.c.account_id, sa.func.max(table.c.scraped_at).label("newest"))
        .select_from(accounts.outerjoin(table, table.c.account_id == accounts.c.account_id))
        .where(accounts.c.is_active, accounts.c.deleted_at.is_(None))
        .group_by(accounts.c.account_id)
    )
    with engine.connect() as connection:
        rows = connection.execute(newest).all()
    stale = {}
    for account_id, fetched_at in rows:
        if fetched_at is not None and fetched_at.tzinfo is None:
            fetched_at = fetched_at.replace(tzinfo=now.tzinfo)  # SQLite returns naive UTC
        if fetched_at is None or now - fetched_at > max_age:
            stale[account_id] = "never" if fetched_at is None else fetched_at.isoformat()
    return stale
