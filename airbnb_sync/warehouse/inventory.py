"""What the daily plan needs to know about an account from the warehouse: its listings as the
latest sync saw them, and how much demand each listing has.

Every run's `listings` step stores the whole listing set Airbnb returned for each week of the
run, and the current week is in every daily run, so the newest week on or before the current
one holds the listing set of the latest sync. Demand is the page views (p3 impressions) of the
newest snapshot of the last `DEMAND_WEEKS` weeks: when not every listing's near weeks fit the
budget, those seen most keep theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import sqlalchemy as sa

from airbnb_sync.warehouse.tables import METRIC_TABLES
from airbnb_sync.warehouse.upsert import latest_view

DEMAND_WEEKS = 4


def _sunday_on_or_before(day: date) -> date:
    return day - timedelta(days=day.isoweekday() % 7)


def current_listings(engine: sa.Engine, account_ids: Iterable[str],
                     today: date) -> dict[str, list[str]]:
    """Account -> its listing ids in the newest stored week up to the current one (or the
    first stored week after it); accounts with none stored (never synced) are absent."""
    listings = METRIC_TABLES["listings"]  # registered by its dataset
    wanted = list(account_ids)
    if not wanted:
        return {}
    current = _sunday_on_or_before(today)
    # The newest week up to the current one; for an account synced for later weeks only,
    # the first of those.
    newest = (
        sa.select(listings.c.account_id, sa.func.coalesce(
            sa.func.max(sa.case((listings.c.week_start <= current, listings.c.week_start))),
            sa.func.min(listings.c.week_start)).label("week"))
        .where(listings.c.account_id.in_(wanted))
        .group_by(listings.c.account_id)
        .subquery()
    )
    query = (
        sa.select(listings.c.account_id, listings.c.listing_id)
        .join(newest, sa.and_(newest.c.account_id == listings.c.account_id,
                              newest.c.week == listings.c.week_start))
        .order_by(listings.c.account_id, listings.c.listing_id)
    )
    found: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for account_id, listing_id in connection.execute(query):
            found.setdefault(account_id, []).append(listing_id)
    return found


def listing_demand(engine: sa.Engine, account_id: str, today: date) -> dict[str, float]:
    """Listing -> its page views over the last DEMAND_WEEKS weeks (newest snapshot)."""
    visibility_metrics = METRIC_TABLES["visibility_metrics"]  # registered by its dataset
    view = latest_view(visibility_metrics.name)
    assert view is not None  # visibility_metrics keeps daily snapshots
    since = _sunday_on_or_before(today) - timedelta(weeks=DEMAND_WEEKS)
    query = (
        sa.select(view.c.listing_id, sa.func.sum(view.c.p3_impressions))
        .where(view.c.account_id == account_id, view.c.week_start >= since,
               view.c.week_start <= today)
        .group_by(view.c.listing_id)
    )
    with engine.connect() as connection:
        return {listing: float(total or 0) for listing, total in connection.execute(query)}


def accounts_with_metrics(engine: sa.Engine, account_ids: Iterable[str]) -> set[str]:
    """The accounts that have any weekly figures stored (their first sync fetched some)."""
    visibility_metrics = METRIC_TABLES["visibility_metrics"]  # registered by its dataset
    wanted = list(account_ids)
    if not wanted:
        return set()
    query = (sa.select(visibility_metrics.c.account_id)
             .where(visibility_metrics.c.account_id.in_(wanted)).distinct())
    with engine.connect() as connection:
        return set(connection.scalars(query))


def listings_with_figures(engine: sa.Engine, account_id: str) -> set[str]:
    """The account's listings with any weekly figures stored: the others are new to the
    warehouse (they appeared after the account's first sync) and need a first sync of
    their own."""
    visibility_metrics = METRIC_TABLES["visibility_metrics"]  # registered by its dataset
    query = (sa.select(visibility_metrics.c.listing_id)
             .where(visibility_metrics.c.account_id == account_id).distinct())
    with engine.connect() as connection:
        return set(connection.scalars(query))
