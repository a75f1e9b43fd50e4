"""What the planner reads from the warehouse, on every database: the listing set of the latest
sync (the newest week up to the current one, else the first later week), and each listing's
page views of the last weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.frames import to_frame
from airbnb_sync.warehouse.inventory import (
    accounts_with_metrics,
    current_listings,
    listing_demand,
)
from airbnb_sync.warehouse.migrate import forget_upgrades, upgrade_to_head
from airbnb_sync.warehouse.tables import accounts
from airbnb_sync.warehouse.upsert import write_frames_by_account

TODAY = date(2026, 12, 9)  # a Wednesday
THIS_WEEK = date(2026, 12, 6)
A, B, C = "41234567", "58765432", "61111111"
NOW = datetime(2026, 12, 9, 5, tzinfo=UTC)


def listing_rows(account: str, week: date, ids: list[str]) -> list[dict]:
    return [{"account_id": account, "listing_id": listing, "week_start": week,
             "listing_name": f"Flat {listing}", "internal_name": None, "thumbnail_url": None,
             "scraped_at": NOW} for listing in ids]


def visibility_rows(account: str, week: date, views: dict[str, int]) -> list[dict]:
    return [{"account_id": account, "listing_id": listing, "week_start": week,
             "week_end": week + timedelta(days=6), "scraped_on": TODAY, "scraped_at": NOW,
             "conversion_rate": None, "p2_impressions_first_page_rate": None,
             "search_conversion_rate": None, "listing_conversion_rate": None,
             "p3_impressions": count, "p2_impressions": None, "conversion_rate_change": None,
             "p3_impressions_change": None} for listing, count in views.items()]


def test_listings_and_demand(database_url: str) -> None:
    engine = create_warehouse_engine(database_url)
    try:
        forget_upgrades()
        upgrade_to_head(engine)
        with engine.begin() as connection:
            for account in (A, B, C):
                connection.execute(sa.insert(accounts).values(
                    account_id=account, credentials=b"x", is_active=True,
                    auth_status="ok", created_at=NOW, updated_at=NOW))
        # A: last week had 3 listings, this week 2 (one left); a later week is ignored.
        rows = (listing_rows(A, THIS_WEEK - timedelta(weeks=1), ["1", "2", "3"])
                + listing_rows(A, THIS_WEEK, ["1", "3"])
                + listing_rows(A, THIS_WEEK + timedelta(weeks=3), ["1", "3", "4"])
                + listing_rows(B, THIS_WEEK + timedelta(weeks=2), ["7"])
                + listing_rows(B, THIS_WEEK + timedelta(weeks=5), ["7", "8"]))
        write_frames_by_account(engine, "listings", to_frame("listings", rows))
        assert current_listings(engine, [A, B, C], TODAY) == {A: ["1", "3"], B: ["7"]}
        assert current_listings(engine, [], TODAY) == {}

        views = (visibility_rows(A, THIS_WEEK - timedelta(weeks=1), {"1": 10, "3": 50})
                 + visibility_rows(A, THIS_WEEK, {"1": 5, "3": 1})
                 + visibility_rows(A, THIS_WEEK - timedelta(weeks=10), {"1": 999}))
        write_frames_by_account(engine, "visibility_metrics", to_frame("visibility_metrics",
                                                                       views))
        assert listing_demand(engine, A, TODAY) == {"1": 15.0, "3": 51.0}
        assert listing_demand(engine, B, TODAY) == {}
        assert accounts_with_metrics(engine, [A, B, C]) == {A}
    finally:
        dispose_warehouse_engine(database_url)
