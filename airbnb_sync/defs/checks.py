"""The `fresh` checks: every active account's figures were fetched recently.

Airbnb revises figures daily (new data arrives within 24 hours), so a table whose newest
snapshot of an account is older than `MAX_AGE` means the daily sync stopped for it: an expired
session, a failing run, or a schedule that is off.
"""

from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from airbnb_sync.defs.resources import AirbnbSyncResource
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


def build_freshness_check(asset_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_name, name="fresh",
        description=f"Every active account has figures fetched within the last "
                    f"{MAX_AGE.total_seconds() / 3600:.0f} hours.",
    )
    def fresh(airbnb_sync: AirbnbSyncResource) -> dg.AssetCheckResult:
        stale = stale_accounts(airbnb_sync.engine(), asset_name, airbnb_sync.now())
        return dg.AssetCheckResult(
            passed=not stale, metadata={"stale_accounts": dg.MetadataValue.json(stale)},
        )

    return fresh
