"""How many requests each account sent to Airbnb, per UTC hour.

Airbnb expires sessions that look like bots, so an operator wants to see at a glance how hard
each account is leaning on it (`airbnb-sync status`). Runs add their counts to the hour they
finish in (an atomic upsert, so parallel runs of one account never lose a count), and hours
older than `RETENTION` are pruned on the way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from airbnb_sync.warehouse.tables import request_counts

RETENTION = timedelta(days=35)


def _utc(when: datetime) -> datetime:
    """Naive values are taken as UTC, the warehouse's only zone (SQLite returns them so)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def hour_of(when: datetime) -> datetime:
    return _utc(when).replace(minute=0, second=0, microsecond=0)


def _upsert_add(dialect: str, account_id: str, hour: datetime, count: int) -> Any:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(request_counts)
    statement = insert.values(account_id=account_id, hour=hour, requests=count)
    return statement.on_conflict_do_update(
        index_elements=[request_counts.c.account_id, request_counts.c.hour],
        set_={"requests": request_counts.c.requests + statement.excluded.requests},
    )


def record_requests(engine: sa.Engine, account_id: str, count: int, when: datetime) -> None:
    """Add `count` requests of `account_id` to the hour of `when`; prune the account's old
    hours. Nothing is written for 0; the account must exist (the table references it)."""
    if count < 0:
        raise ValueError(f"a request count cannot be negative, got {count}")
    if count == 0:
        return
    hour = hour_of(when)
    with engine.begin() as connection:
        connection.execute(_upsert_add(engine.dialect.name, account_id, hour, count))
        connection.execute(request_counts.delete().where(
            request_counts.c.account_id == account_id,
            request_counts.c.hour < hour - RETENTION,
        ))


def requests_since(engine: sa.Engine, since: datetime,
                   until: datetime | None = None) -> dict[str, int]:
    """Account -> requests recorded in the hours from the one holding `since` up to the one
    holding `until` (default: no end). Accounts without requests are absent."""
    query = (
        sa.select(request_counts.c.account_id, sa.func.sum(request_counts.c.requests))
        .where(request_counts.c.hour >= hour_of(since))
        .group_by(request_counts.c.account_id)
    )
    if until is not None:
        query = query.where(request_counts.c.hour <= hour_of(until))
    with engine.connect() as connection:
        return {account_id: int(total) for account_id, total in connection.execute(query)}
