"""What the insights report reads from the warehouse, as pandas frames.

The report runs on SQLite, PostgreSQL and TimescaleDB alike, so it reads the tables through
SQLAlchemy Core (the engine maps them into schema `airbnb` on PostgreSQL) and leaves the
arithmetic to pandas. It reads every snapshot (`scraped_on`) of the range: the newest one per
key feeds the charts and the funnel, and the older ones the demand pickup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from airbnb_sync.datasets import sql_table
from airbnb_sync.warehouse.tables import accounts

# The report reads these three datasets' columns by name.
listings, conversion_metrics, visibility_metrics = (
    sql_table(name) for name in ("listings", "conversion_metrics", "visibility_metrics"))


@dataclass(frozen=True)
class ReportRange:
    """The stay dates a report covers, and the day it is "today" for (UTC)."""

    start: date
    end: date
    today: date

    @property
    def first_week(self) -> date:
        return week_start(self.start)

    def weeks(self) -> list[date]:
        """Every Sunday-Saturday week touching the range."""
        weeks, week = [], self.first_week
        while week <= self.end:
            weeks.append(week)
            week += timedelta(weeks=1)
        return weeks


def week_start(day: date) -> date:
    """The Sunday that starts `day`'s week (the warehouse's weeks start on Sunday)."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


# Airbnb serves stay dates about 180 days each way (AIRBNB_SYNC_HORIZON_DAYS): the furthest a
# report looks back or ahead by default.
HORIZON_DAYS = 180


def default_range(today: date, first_day: date | None = None,
                  last_day: date | None = None,
                  horizon_days: int = HORIZON_DAYS) -> ReportRange:
    """Every week the warehouse has figures for within Airbnb's horizon: from the week of the
    first stay date with figures (at most `horizon_days` back) to the last one (at most
    `horizon_days` ahead), and at least this week. A week a host backfilled shows without
    anyone choosing the range."""
    horizon = timedelta(days=horizon_days)
    current = week_start(today)
    start = current
    if first_day is not None and first_day < start:
        start = week_start(max(first_day, today - horizon))
    end = current + timedelta(days=6)
    if last_day is not None and last_day > end:
        end = min(last_day, today + horizon)
    return ReportRange(start=start, end=end, today=today)


def _day(value: object) -> date | None:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def data_days(engine: sa.Engine, account_ids: list[str] | None = None,
              ) -> tuple[date | None, date | None]:
    """The first and the last stay date with figures, daily or weekly (of the accounts named,
    or all); (None, None) when there are none."""
    firsts, lasts = [], []
    for table, column in ((conversion_metrics, conversion_metrics.c.metric_date),
                          (visibility_metrics, visibility_metrics.c.week_start)):
        query = sa.select(sa.func.min(column), sa.func.max(column))
        if account_ids is not None:
            query = query.where(table.c.account_id.in_(account_ids))
        with engine.connect() as connection:
            first, last = connection.execute(query).one()
        firsts += [day for day in (_day(first),) if day is not None]
        lasts += [day for day in (_day(last),) if day is not None]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    label: str | None
    is_active: bool
    auth_status: str
    auth_checked_at: datetime | None
    last_sync_at: datetime | None

    @property
    def title(self) -> str:
        return f"{self.label} ({self.account_id})" if self.label else self.account_id


@dataclass(frozen=True)
class AccountData:
    """One account's rows in the range. `daily` and `weekly` hold every snapshot."""

    account: AccountInfo
    listings: pd.DataFrame  # listing_id, listing_name (the newest name), first_seen
    daily: pd.DataFrame  # conversion_metrics columns
    weekly: pd.DataFrame  # visibility_metrics columns


def list_accounts(engine: sa.Engine, account_ids: list[str] | None = None) -> list[AccountInfo]:
    """The accounts that are not deleted (all of them, or the ones named), by id."""
    query = (sa.select(accounts.c.account_id, accounts.c.label, accounts.c.is_active,
                       accounts.c.auth_status, accounts.c.auth_checked_at,
                       accounts.c.last_sync_at)
             .where(accounts.c.deleted_at.is_(None)).order_by(accounts.c.account_id))
    if account_ids is not None:
        query = query.where(accounts.c.account_id.in_(account_ids))
    with engine.connect() as connection:
        return [AccountInfo(*row) for row in connection.execute(query)]


def _frame(engine: sa.Engine, query: sa.Select) -> pd.DataFrame:
    with engine.connect() as connection:
        result = connection.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def load_account(engine: sa.Engine, account: AccountInfo, span: ReportRange) -> AccountData:
    """Every row of `account` whose stay date or week falls in `span`."""
    names = _frame(engine, sa.select(listings.c.listing_id, listings.c.listing_name,
                                     listings.c.week_start)
                   .where(listings.c.account_id == account.account_id)
                   .order_by(listings.c.listing_id, listings.c.week_start))
    if names.empty:
        named = pd.DataFrame(columns=["listing_id", "listing_name"])
    else:
        named = names.groupby("listing_id", as_index=False).last()[["listing_id",
                                                                    "listing_name"]]
    daily = _frame(engine, sa.select(conversion_metrics).where(
        conversion_metrics.c.account_id == account.account_id,
        conversion_metrics.c.metric_date.between(span.start, span.end)))
    weekly = _frame(engine, sa.select(visibility_metrics).where(
        visibility_metrics.c.account_id == account.account_id,
        visibility_metrics.c.week_start.between(span.first_week, span.end)))
    for frame, columns in ((daily, ("metric_date", "scraped_on", "week_start")),
                           (weekly, ("week_start", "week_end", "scraped_on"))):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column]).dt.date
    return AccountData(account=account, listings=named, daily=daily, weekly=weekly)


def latest(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The newest snapshot (`scraped_on`) of each key, like the `*_latest` views."""
    if frame.empty:
        return frame
    newest = frame.sort_values("scraped_on").groupby(key, as_index=False).tail(1)
    return newest.sort_values(key).reset_index(drop=True)
