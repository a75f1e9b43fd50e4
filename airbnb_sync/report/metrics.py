"""The report's figures, computed from the warehouse's rows with pandas.

A value Airbnb showed as "-" is NULL in the warehouse and NaN here, and every computation
keeps it missing (pandas skips NaN in sums and means; a change with a missing side is
missing): the report shows a dash, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from airbnb_sync.report.data import AccountData, ReportRange, latest

DAILY_FIGURES = ("conversion_rate_your", "conversion_rate_similar", "p3_impressions_your",
                 "p3_impressions_similar")
# The weekly funnel, in the order a guest goes through it; rates are fractions.
FUNNEL = (
    ("p2_impressions", "First-page impressions", "count"),
    ("p2_impressions_first_page_rate", "First-page impression rate", "rate"),
    ("search_conversion_rate", "Search → listing", "rate"),
    ("p3_impressions", "Page views", "count"),
    ("listing_conversion_rate", "Listing → booking", "rate"),
    ("conversion_rate", "Overall conversion", "rate"),
)
MOVERS = 5


def numeric(frame: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """NULLs as NaN in float columns (SQL NULL arrives as None in object columns)."""
    frame = frame.copy()
    for column in columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def daily_latest(data: AccountData) -> pd.DataFrame:
    return numeric(latest(data.daily, ["listing_id", "metric_date"]), DAILY_FIGURES)


def weekly_latest(data: AccountData) -> pd.DataFrame:
    return numeric(latest(data.weekly, ["listing_id", "week_start"]),
                   [column for column, _, _ in FUNNEL])


def difference(now: float, before: float) -> float:
    """`now - before`, missing when either side is."""
    if pd.isna(now) or pd.isna(before):
        return float("nan")
    return now - before


def change(now: float, before: float, kind: str) -> float:
    """Week-over-week change: relative for counts, in percentage points for rates; NaN when
    either side is missing (or a count's base is 0)."""
    if kind == "rate":
        return difference(now, before)
    return difference(now, before) / before if before else float("nan")


def week_ended(week_start: date, today: date) -> bool:
    """A week's figures are final once its Saturday is over; until then they still grow."""
    return week_start + timedelta(days=6) < today


@dataclass(frozen=True)
class FunnelRow:
    week_start: date
    values: dict[str, float]
    changes: dict[str, float]
    in_progress: bool = False  # the week has not ended: its figures are partial


def funnel(weekly: pd.DataFrame, listing_id: str, today: date) -> list[FunnelRow]:
    """The listing's weeks, newest first, each with its change from the week before. A week
    in progress (or to come) has no change: set against a whole week it would look like a
    drop that is only the days still to come."""
    rows = weekly[weekly["listing_id"] == listing_id].sort_values("week_start")
    result: list[FunnelRow] = []
    previous: dict[str, float] | None = None
    previous_week: date | None = None
    for record in rows.to_dict("records"):
        values = {column: float(record[column]) for column, _, _ in FUNNEL}
        ended = week_ended(record["week_start"], today)
        adjacent = previous is not None and previous_week == record["week_start"] - timedelta(7)
        changes = {column: change(values[column], previous[column], kind)
                   if ended and adjacent and previous is not None else float("nan")
                   for column, _, kind in FUNNEL}
        result.append(FunnelRow(record["week_start"], values, changes, in_progress=not ended))
        previous, previous_week = values, record["week_start"]
    return list(reversed(result))


@dataclass(frozen=True)
class Gap:
    account_id: str
    listing_id: str
    listing_name: str
    views_your: float
    views_similar: float
    conversion_your: float
    conversion_similar: float
    days: int

    @property
    def conversion_gap(self) -> float:
        """Mean daily conversion, yours minus similar listings', in percentage points."""
        return self.conversion_your - self.conversion_similar

    @property
    def views_ratio(self) -> float:
        return self.views_your / self.views_similar if self.views_similar else float("nan")


def gaps(data: AccountData, daily: pd.DataFrame, span: ReportRange) -> list[Gap]:
    """Each listing against similar listings over the range's past days (stay dates up to
    today): mean daily page views and conversion, each over the days it is known."""
    past = daily[daily["metric_date"] <= span.today]
    result = []
    for listing_id, name in listing_names(data).items():
        rows = past[past["listing_id"] == listing_id]
        result.append(Gap(
            data.account.account_id, listing_id, name,
            views_your=float(rows["p3_impressions_your"].mean()),
            views_similar=float(rows["p3_impressions_similar"].mean()),
            conversion_your=float(rows["conversion_rate_your"].mean()),
            conversion_similar=float(rows["conversion_rate_similar"].mean()),
            days=int(rows["metric_date"].nunique())))
    return result


def rank_by_gap(all_gaps: list[Gap]) -> list[Gap]:
    """Furthest behind similar listings first; listings without a gap last."""
    return sorted(all_gaps, key=lambda gap: (pd.isna(gap.conversion_gap),
                                             0 if pd.isna(gap.conversion_gap)
                                             else gap.conversion_gap, gap.listing_id))


@dataclass(frozen=True)
class Mover:
    account_id: str
    listing_id: str
    listing_name: str
    week_start: date
    views: float
    views_before: float
    conversion: float
    conversion_before: float

    @property
    def views_change(self) -> float:
        return change(self.views, self.views_before, "count")

    @property
    def conversion_change(self) -> float:
        return change(self.conversion, self.conversion_before, "rate")


def latest_complete_week(weekly: pd.DataFrame, today: date) -> date | None:
    """The newest week with data that has ended; None when none has (a week in progress is
    never compared with a whole one)."""
    if weekly.empty:
        return None
    ended = [week for week in sorted(set(weekly["week_start"])) if week_ended(week, today)]
    return ended[-1] if ended else None


def movers(data: AccountData, weekly: pd.DataFrame, week: date | None) -> list[Mover]:
    """Every listing's page views and conversion in `week` against the week before."""
    if week is None:
        return []
    names = listing_names(data)
    result = []
    for listing_id, rows in weekly.groupby("listing_id"):
        now = rows[rows["week_start"] == week]
        before = rows[rows["week_start"] == week - timedelta(weeks=1)]
        if now.empty:
            continue

        def value(frame: pd.DataFrame, column: str) -> float:
            return float(frame[column].iloc[0]) if not frame.empty else float("nan")

        result.append(Mover(data.account.account_id, str(listing_id),
                            names.get(str(listing_id), str(listing_id)), week,
                            value(now, "p3_impressions"), value(before, "p3_impressions"),
                            value(now, "conversion_rate"), value(before, "conversion_rate")))
    return result


def biggest_movers(all_movers: list[Mover], count: int = MOVERS) -> list[Mover]:
    """The largest page-view changes either way; listings without a change are left out."""
    known = [mover for mover in all_movers if not pd.isna(mover.views_change)]
    return sorted(known, key=lambda m: (-abs(m.views_change), m.listing_id))[:count]


@dataclass(frozen=True)
class Coverage:
    weeks_with_data: list[date]
    weeks_missing: list[date]
    last_fetch: datetime | None


def coverage(data: AccountData, span: ReportRange) -> Coverage:
    """Which of the range's weeks up to today have weekly rows, and the newest fetch."""
    weeks = [week for week in span.weeks() if week <= span.today]
    present = set(data.weekly["week_start"]) if not data.weekly.empty else set()
    fetched = [frame["scraped_at"].max() for frame in (data.daily, data.weekly)
               if not frame.empty]
    last = max(pd.Timestamp(value) for value in fetched) if fetched else None
    return Coverage([week for week in weeks if week in present],
                    [week for week in weeks if week not in present],
                    last.to_pydatetime() if last is not None else None)


@dataclass(frozen=True)
class Pickup:
    """Page views and conversion of one future stay week, as each fetch saw them."""

    listing_id: str
    stay_week: date
    scraped_on: date
    views: float
    conversion: float
    views_added: float
    conversion_change: float


def pickup(data: AccountData, span: ReportRange) -> list[Pickup]:
    """For the stay weeks from today on: each fetch's total page views and mean conversion of
    the same stay dates, and the growth since the previous fetch (only this product keeps
    every day's snapshot, so only it can show how demand for a date builds up)."""
    daily = numeric(data.daily, DAILY_FIGURES)
    future = daily[daily["metric_date"] >= span.today]
    if future.empty:
        return []
    future = future.assign(stay_week=future["metric_date"].map(_week_of))
    grouped = (future.groupby(["listing_id", "stay_week", "scraped_on"])
               .agg(views=("p3_impressions_your", lambda s: s.sum(min_count=1)),
                    conversion=("conversion_rate_your", "mean"))
               .reset_index().sort_values(["listing_id", "stay_week", "scraped_on"]))
    result = []
    for (listing_id, stay_week), rows in grouped.groupby(["listing_id", "stay_week"]):
        before: tuple[float, float] | None = None
        for record in rows.to_dict("records"):
            views, conversion = float(record["views"]), float(record["conversion"])
            result.append(Pickup(
                str(listing_id), stay_week, record["scraped_on"], views, conversion,
                difference(views, before[0]) if before else float("nan"),
                difference(conversion, before[1]) if before else float("nan")))
            before = (views, conversion)
    return result


def _week_of(day: date) -> date:
    return day - timedelta(days=(day.weekday() + 1) % 7)


def listing_names(data: AccountData) -> dict[str, str]:
    """Listing id -> its newest name, for every listing with a name or with figures."""
    names = {str(row.listing_id): row.listing_name or str(row.listing_id)
             for row in data.listings.itertuples()}
    for frame in (data.daily, data.weekly):
        if not frame.empty:
            for listing_id in frame["listing_id"].unique():
                names.setdefault(str(listing_id), str(listing_id))
    return dict(sorted(names.items()))
