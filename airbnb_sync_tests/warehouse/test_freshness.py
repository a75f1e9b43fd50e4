"""The `fresh` check's rule, on every database."""

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.freshness import MAX_AGE, stale_accounts
from airbnb_sync.warehouse.migrate import upgrade_to_head
from airbnb_sync.warehouse.tables import accounts, listings

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _account(account_id: str, **overrides: object) -> dict[str, object]:
    return {"account_id": account_id, "credentials": "token", "is_active": True,
            "auth_status": "ok", "created_at": NOW, "updated_at": NOW, "deleted_at": None,
            **overrides}


def test_stale_accounts_names_old_never_synced_and_skips_inactive(database_url):
    engine = create_warehouse_engine(database_url)
    try:
        upgrade_to_head(engine)
        with engine.begin() as connection:
            connection.execute(accounts.insert(), [
                _account("1"), _account("2"), _account("3"),
                _account("4", is_active=False), _account("5", deleted_at=NOW),
            ])
            connection.execute(listings.insert(), [
                {"account_id": "1", "listing_id": "11", "week_start": date(2026, 11, 22),
                 "scraped_at": NOW - timedelta(hours=2)},
                {"account_id": "2", "listing_id": "21", "week_start": date(2026, 11, 22),
                 "scraped_at": NOW - MAX_AGE - timedelta(minutes=1)},
                {"account_id": "4", "listing_id": "41", "week_start": date(2026, 11, 22),
                 "scraped_at": NOW - timedelta(days=30)},
            ])
        stale = stale_accounts(engine, "listings", NOW)
        assert set(stale) == {"2", "3"}
        assert stale["3"] == "never"
        assert stale["2"].startswith("2026-11-27T23:59")
        with engine.begin() as connection:
            connection.execute(sa.delete(listings).where(listings.c.account_id == "2"))
        assert set(stale_accounts(engine, "listings", NOW)) == {"2", "3"}
    finally:
        dispose_warehouse_engine(database_url)
