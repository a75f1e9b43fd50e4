"""Rows and helpers shared by the warehouse tests (test data, accounts, table dumps)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from airbnb_sync.warehouse.frames import to_frame
from airbnb_sync.warehouse.tables import accounts

# Airbnb ids are 19-digit numbers next to the bigint limit: they must survive as text.
ACCOUNT = "9223372036854775001"
OTHER_ACCOUNT = "9223372036854775002"
LISTING = "1234567890123456789"
WEEK = date(2025, 6, 1)  # a Sunday
SCRAPED_AT = datetime(2025, 6, 10, 8, 30, 15, 123456, tzinfo=UTC)


def add_accounts(engine: sa.Engine, account_ids: list[str]) -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(accounts.insert(), [
            {"account_id": account_id, "credentials": "not-a-real-token",
             "created_at": now, "updated_at": now}
            for account_id in account_ids
        ])


def conversion_records(account_id: str = ACCOUNT, listing_id: str = LISTING, week: date = WEEK,
                       scraped_at: datetime = SCRAPED_AT, **figures: Any) -> list[dict[str, Any]]:
    """Seven days of a listing's daily series, figures varying by day unless given."""
    return [
        {
            "account_id": account_id, "listing_id": listing_id,
            "metric_date": week + timedelta(days=day), "scraped_on": scraped_at.date(),
            "week_start": week,
            "conversion_rate_your": figures.get("conversion_rate_your", 0.01 * day + 0.0563),
            "conversion_rate_similar": figures.get("conversion_rate_similar", 0.1 + 0.2),
            "p3_impressions_your": figures.get("p3_impressions_your", 10 * day),
            "p3_impressions_similar": figures.get("p3_impressions_similar", 2**62 + day),
            "scraped_at": scraped_at,
        }
        for day in range(7)
    ]


def visibility_record(account_id: str = ACCOUNT, listing_id: str = LISTING, week: date = WEEK,
                      scraped_at: datetime = SCRAPED_AT, **figures: Any) -> dict[str, Any]:
    return {
        "account_id": account_id, "listing_id": listing_id, "week_start": week,
        "scraped_on": scraped_at.date(), "week_end": week + timedelta(days=6),
        "conversion_rate": 0.0123, "p2_impressions_first_page_rate": 0.5,
        "search_conversion_rate": 0.25, "listing_conversion_rate": 0.05,
        "p3_impressions": 321, "p2_impressions": 4321,
        "conversion_rate_change": -0.125, "p3_impressions_change": 1.5,
        "scraped_at": scraped_at, **figures,
    }


def listing_record(account_id: str = ACCOUNT, listing_id: str = LISTING, week: date = WEEK,
                   scraped_at: datetime = SCRAPED_AT, **fields: Any) -> dict[str, Any]:
    return {
        "account_id": account_id, "listing_id": listing_id, "week_start": week,
        "listing_name": "Cosy loft", "internal_name": None,
        "thumbnail_url": "https://example.invalid/a.jpg", "scraped_at": scraped_at, **fields,
    }


def frame_of(kind: str, records: list[dict[str, Any]]) -> pd.DataFrame:
    """Records -> a frame typed exactly as the assets hand it to the IO manager."""
    return to_frame(kind, records)  # type: ignore[arg-type]


def table_dump(engine: sa.Engine, table_name: str) -> list[tuple[Any, ...]]:
    """Every stored row as the database holds it, in key order. On PostgreSQL each row's
    text form plus xmin: a row rewritten with equal values would still change its xmin."""
    if engine.dialect.name == "postgresql":
        sql = (f'SELECT t.xmin::text, t::text FROM airbnb."{table_name}" t '
               "ORDER BY t::text")
    else:
        sql = f'SELECT *, typeof(scraped_at) FROM "{table_name}" ORDER BY 1, 2, 3, 4'
    with engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(sql)]
