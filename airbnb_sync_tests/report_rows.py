"""A small warehouse with known figures for the report tests, and a reader of the pages.

Two listings of one host over June 2025 (today is Wednesday 2025-06-18): a NULL day, a NULL
weekly figure, a listing name with markup, and a second fetch of the future stay dates so the
demand pickup has something to show.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from airbnb_sync.report.data import ReportRange
from airbnb_sync.warehouse.tables import accounts, conversion_metrics, listings, visibility_metrics

ACCOUNT = "9223372036854775001"
LOFT, CABIN = "1234567890123456789", "1234567890123456790"
TODAY = date(2025, 6, 18)
SPAN = ReportRange(start=date(2025, 6, 1), end=date(2025, 6, 28), today=TODAY)
FIRST_FETCH, SECOND_FETCH = date(2025, 6, 17), date(2025, 6, 18)
NULL_DAY = date(2025, 6, 5)  # the loft's figures were "-" that day
NULL_WEEK = date(2025, 6, 8)  # the loft's overall conversion was "-" that week
WEEKS = (date(2025, 6, 1), date(2025, 6, 8), date(2025, 6, 15))


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC)


def _daily(listing_id: str, day: date, fetched: date, bump: int = 0) -> dict[str, Any]:
    index = (day - SPAN.start).days
    known = not (listing_id == LOFT and day == NULL_DAY)
    return {
        "account_id": ACCOUNT, "listing_id": listing_id, "metric_date": day,
        "scraped_on": fetched, "week_start": day - timedelta(days=(day.weekday() + 1) % 7),
        "conversion_rate_your": (0.01 + index / 1000) if known else None,
        "conversion_rate_similar": 0.03 if known else None,
        "p3_impressions_your": (index + bump) if known else None,
        "p3_impressions_similar": 5 if known else None,
        "scraped_at": _at(fetched),
    }


def _weekly(listing_id: str, week: date, number: int) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT, "listing_id": listing_id, "week_start": week,
        "scraped_on": FIRST_FETCH, "week_end": week + timedelta(days=6),
        "conversion_rate": None if (listing_id == LOFT and week == NULL_WEEK) else 0.01 * number,
        "p2_impressions_first_page_rate": 0.5 + 0.01 * number,
        "search_conversion_rate": 0.2, "listing_conversion_rate": 0.05,
        "p3_impressions": 100 * number + (7 if listing_id == CABIN else 0),
        "p2_impressions": 1000 + number, "conversion_rate_change": None,
        "p3_impressions_change": None, "scraped_at": _at(FIRST_FETCH),
    }


def seed(engine: sa.Engine) -> None:
    days = [SPAN.start + timedelta(days=offset) for offset in range(28)]
    with engine.begin() as connection:
        connection.execute(accounts.insert(), [{
            "account_id": ACCOUNT, "label": "Test host", "credentials": "not-a-real-token",
            "auth_status": "ok", "created_at": _at(FIRST_FETCH), "updated_at": _at(FIRST_FETCH),
            "last_sync_at": _at(SECOND_FETCH), "auth_checked_at": _at(SECOND_FETCH)}])
        connection.execute(listings.insert(), [
            {"account_id": ACCOUNT, "listing_id": listing_id, "week_start": week,
             "listing_name": name, "scraped_at": _at(FIRST_FETCH)}
            for listing_id, name in ((LOFT, "Loft <b>by the lake</b>"), (CABIN, "Cabin"))
            for week in WEEKS])
        connection.execute(conversion_metrics.insert(), [
            *[_daily(listing_id, day, FIRST_FETCH) for listing_id in (LOFT, CABIN)
              for day in days],
            *[_daily(LOFT, day, SECOND_FETCH, bump=2) for day in days if day >= TODAY]])
        connection.execute(visibility_metrics.insert(), [
            _weekly(listing_id, week, number) for listing_id in (LOFT, CABIN)
            for number, week in enumerate(WEEKS, start=1)])


class PageReader(HTMLParser):
    """The text of every table row with an id, cell by cell, and the SVG markers of every
    chart series (`<g id="series-...">` or `missing-...`)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[tuple[str, str]]] = {}
        self.markers: dict[str, int] = {}
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._cell_class = ""
        self._groups: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and attributes.get("id"):
            self._row = attributes["id"]
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self._cell, self._cell_class = [], attributes.get("class") or ""
        elif tag == "g":
            gid = attributes.get("id")
            self._groups.append(gid if gid and gid.startswith(("series-", "missing-")) else None)
            if self._groups[-1]:
                self.markers[self._groups[-1]] = 0
        elif tag == "use":
            for gid in reversed(self._groups):
                if gid:
                    self.markers[gid] += 1
                    break

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            self.rows[self._row].append((self._cell_class, text))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "g" and self._groups:
            self._groups.pop()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_page(path: Path) -> PageReader:
    reader = PageReader()
    reader.feed(path.read_text(encoding="utf-8"))
    return reader
