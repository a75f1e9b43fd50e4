"""Synthetic host data: listings and figures, pure functions of (account, listing, day).

Tests elsewhere compute the exact values the simulator serves with these functions, so
everything here is deterministic: randomness comes from blake2b of the inputs (never Python's
`hash()`, which changes between processes). The figures follow one small model per listing
day (search impressions -> first-page impressions, page views, bookings), so the daily and
weekly figures are coherent and of realistic magnitude:

- page views (p3_impressions): 0-60 a day for the listing, a few to ~20 for similar listings;
- conversion_rate: bookings / search impressions, mostly 0-0.05 a day;
- first-page search impressions (p2_impressions): hundreds to thousands a week.

About 3-12 % of a listing's days carry no data (Airbnb shows "-"): None here.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from airbnb_sync.airbnb.operations import METRIC_GROUPS

Number = float | int | None

MAX_DAILY_VIEWS = 60
MIN_LISTINGS, MAX_LISTINGS = 1, 8
# Listing ids between 6e17 and 1.3e18: 18 or 19 digits, like Airbnb's, below the bigint limit.
_LISTING_ID_LOW, _LISTING_ID_SPAN = 6 * 10**17, 7 * 10**17
# Share of windows whose week-over-week change Airbnb leaves out (null valueChange).
_HIDDEN_CHANGE_RATE = 0.1


def stable_int(*parts: object) -> int:
    """A stable pseudo-random 64-bit integer drawn from `parts`."""
    text = "|".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) drawn from `parts`."""
    return stable_int(*parts) / 2**64


def _between(low: float, high: float, *parts: object) -> float:
    return low + (high - low) * unit(*parts)


def _pick(options: tuple[str, ...], *parts: object) -> str:
    return options[int(unit(*parts) * len(options))]


# --- listings --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SimListing:
    """One of a simulated host's listings, as ListingsSectionQuery shows it."""

    id: str
    listing_name: str
    internal_name: str | None = None
    thumbnail_url: str | None = None
    summary: str = ""


_ADJECTIVES = ("Sunny", "Cozy", "Sleek", "Charming", "Spacious", "Quiet", "Bright", "Restored")
_PLACES = ("Loft", "Cabin", "Bungalow", "Flat", "Cottage", "Studio", "Townhouse", "Suite")
_NEAR = ("the Lake", "Downtown", "the Park", "the Zoo", "the University", "Old Town",
         "the Harbor", "the Trails")
_STREETS = ("Schuyler St", "S Wilbur Ave", "N Wilbur Ave", "Lakeshore Dr", "Maple Ave",
            "Elm St", "Harbor Rd", "Hillside Ln")


def thumbnail_url_for(listing_id: str) -> str:
    """A muscache-style thumbnail address, stable for the listing."""
    digest = hashlib.blake2b(f"thumb|{listing_id}".encode(), digest_size=16).hexdigest()
    uuid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return (f"https://a0.muscache.com/im/pictures/prohost-api/Hosting-{listing_id}/original/"
            f"{uuid}.jpeg?aki_policy=small")


def listing_count(account_id: str) -> int:
    """How many listings a synthetic host has: 1 to 8, fixed by the account id."""
    span = MAX_LISTINGS - MIN_LISTINGS + 1
    return MIN_LISTINGS + int(unit("listings", account_id) * span)


@functools.lru_cache(maxsize=64)
def listings_for(account_id: str, count: int | None = None) -> tuple[SimListing, ...]:
    """The synthetic listings of a host: `count` of them, or 1 to 8 fixed by the account id
    (ignores any --accounts file; see config.py). The first listings of a host are the same
    whatever the count, so a host that grows keeps its listings."""
    listings: list[SimListing] = []
    seen: set[str] = set()
    for index in range(listing_count(account_id) if count is None else count):
        salt = 0
        while True:
            number = _LISTING_ID_LOW + stable_int("listing-id", account_id, index,
                                                  salt) % _LISTING_ID_SPAN
            listing_id = str(number)
            if listing_id not in seen:
                break
            salt += 1
        seen.add(listing_id)
        parts = (account_id, index)
        name = (f"{_pick(_ADJECTIVES, 'adj', *parts)} {_pick(_PLACES, 'place', *parts)} "
                f"near {_pick(_NEAR, 'near', *parts)}")
        number_on_street = 100 + int(unit("house", *parts) * 800)
        internal = f"{number_on_street} {_pick(_STREETS, 'street', *parts)}"
        if unit("apt", *parts) < 0.4:
            internal += f" Apt {1 + int(unit('apt-no', *parts) * 4)}"
        listings.append(SimListing(
            id=listing_id,
            listing_name=name,
            internal_name=internal,
            thumbnail_url=thumbnail_url_for(listing_id),
            summary=f"{name}: a simulated listing of host {account_id} for airbnb-sync.",
        ))
    return tuple(listings)


# --- the daily model -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Profile:
    """What makes one listing different from another, fixed for its lifetime."""

    popularity: float  # mean page views a day
    search_conversion: float  # page views / search impressions
    first_page_share: float  # first-page impressions / search impressions
    bookings_per_view: float
    no_data_rate: float
    market_views: float  # similar listings' mean page views a day
    market_conversion: float


@lru_cache(maxsize=4096)
def _profile(account_id: str, listing_id: str) -> _Profile:
    key = (account_id, listing_id)
    return _Profile(
        popularity=_between(3.0, 30.0, "popularity", *key),
        search_conversion=_between(0.03, 0.08, "search-conversion", *key),
        first_page_share=_between(0.5, 0.85, "first-page", *key),
        bookings_per_view=_between(0.005, 0.04, "bookings", *key),
        no_data_rate=_between(0.03, 0.12, "no-data", *key),
        market_views=_between(4.0, 14.0, "market-views", *key),
        market_conversion=_between(0.001, 0.008, "market-conversion", *key),
    )


def _demand(day: date) -> float:
    """More guests look at weekends and in summer."""
    weekday = {4: 1.3, 5: 1.3, 6: 1.1}.get(day.weekday(), 0.9)
    season = 1.0 + 0.25 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 80) / 365.25)
    return weekday * season


@dataclass(frozen=True)
class DayFigures:
    """The listing's hidden counts of one day; the served figures derive from them."""

    views: int
    searches: int
    first_page: int
    bookings: int


@lru_cache(maxsize=262144)
def day_figures(account_id: str, listing_id: str, day: date) -> DayFigures | None:
    """The listing's counts on `day`, or None on a day without data."""
    profile = _profile(account_id, listing_id)
    key = (account_id, listing_id, day.isoformat())
    if unit("no-data", *key) < profile.no_data_rate:
        return None
    mean = profile.popularity * _demand(day)
    views = min(MAX_DAILY_VIEWS, int(mean * _between(0.4, 1.6, "views", *key)))
    if views:
        daily_conversion = profile.search_conversion * _between(0.7, 1.3, "sc", *key)
        searches = max(views, round(views / daily_conversion))
    else:
        searches = int(_between(20, 220, "idle-searches", *key))
    first_page = min(searches, round(searches * profile.first_page_share
                                     * _between(0.85, 1.15, "fp", *key)))
    bookings = int(views * profile.bookings_per_view + unit("booked", *key))
    return DayFigures(views, searches, first_page, bookings)


def _similar(account_id: str, listing_id: str, day: date, metric: str) -> Number:
    profile = _profile(account_id, listing_id)
    key = (account_id, listing_id, day.isoformat(), metric)
    if unit("similar-no-data", *key) < 0.02:
        return None
    if metric == "p3_impressions":
        return round(profile.market_views * _demand(day) * _between(0.8, 1.2, "sv", *key))
    return profile.market_conversion * _between(0.5, 1.5, "sc", *key)


def daily_point(account_id: str, listing_id: str, day: date, metric: str) -> tuple[Number, Number]:
    """(this listing, similar listings) of ChartQuery's `metric` on `day`; None shows as "-".

    p3_impressions are ints; conversion_rate is a float fraction (bookings / search
    impressions of the day).
    """
    if metric not in METRIC_GROUPS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRIC_GROUPS}")
    figures = day_figures(account_id, listing_id, day)
    similar = _similar(account_id, listing_id, day, metric)
    if figures is None:
        return None, similar
    if metric == "p3_impressions":
        return figures.views, similar
    return figures.bookings / figures.searches, similar


# --- windows ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    """Sums of a listing's daily counts over some days."""

    views: int
    searches: int
    first_page: int
    bookings: int


def _days(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"window end {end} is before its start {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def totals_over(account_id: str, listing_id: str, days: list[date]) -> Totals:
    """Sums over the days; days without data count 0."""
    views = searches = first_page = bookings = 0
    for day in days:
        figures = day_figures(account_id, listing_id, day)
        if figures is not None:
            views += figures.views
            searches += figures.searches
            first_page += figures.first_page
            bookings += figures.bookings
    return Totals(views, searches, first_page, bookings)


def _totals(account_id: str, listing_id: str, start: date, end: date) -> Totals:
    return totals_over(account_id, listing_id, _days(start, end))


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def rates(totals: Totals) -> dict[str, Number]:
    """The four conversion fractions of ListOfMetricsQuery; None without a denominator."""
    return {
        "conversion_rate": _ratio(totals.bookings, totals.searches),
        "p2_impressions_first_page_rate": _ratio(totals.first_page, totals.searches),
        "search_conversion_rate": _ratio(totals.views, totals.searches),
        "listing_conversion_rate": _ratio(totals.bookings, totals.views),
    }


def _previous(start: date, end: date) -> tuple[date, date]:
    length = end - start + timedelta(days=1)
    return start - length, end - length


def _change_hidden(account_id: str, listing_id: str, start: date, end: date, group: str) -> bool:
    key = (account_id, listing_id, start.isoformat(), end.isoformat(), group)
    return unit("hidden-change", *key) < _HIDDEN_CHANGE_RATE


def window_metrics(account_id: str, listing_id: str, start: date, end: date,
                   group: str) -> dict[str, Number]:
    """ListOfMetricsQuery's figures for the window start..end (inclusive) and metric `group`.

    Keys are the group's metric names (LIST_OF_METRICS_NAMES) plus `<group>_change`:
    - conversion_rate group: four fractions (None without a denominator), and
      conversion_rate_change = this window's rate minus the previous window's (same length);
    - p3_impressions group: p3_impressions = the sum of daily_point's page views over the
      window (days without data count 0), p2_impressions = first-page search impressions,
      and p3_impressions_change = relative change against the previous window (0.25 = +25 %).
    A change is None when the previous window has no base, and for about 10 % of windows.
    """
    if group not in METRIC_GROUPS:
        raise ValueError(f"unknown metric group {group!r}; expected one of {METRIC_GROUPS}")
    totals = _totals(account_id, listing_id, start, end)
    before = _totals(account_id, listing_id, *_previous(start, end))
    hidden = _change_hidden(account_id, listing_id, start, end, group)
    figures: dict[str, Number]
    if group == "conversion_rate":
        figures = rates(totals)
        now, then = figures["conversion_rate"], rates(before)["conversion_rate"]
        change = None if hidden or now is None or then is None else now - then
    else:
        figures = {"p3_impressions": totals.views, "p2_impressions": totals.first_page}
        change = (None if hidden or not before.views
                  else (totals.views - before.views) / before.views)
    figures[f"{group}_change"] = change
    return figures


def similar_total(account_id: str, listing_id: str, days: list[date], metric: str) -> Number:
    """Similar listings' figure over the given days: the sum of page views, or the mean rate."""
    values = [v for v in (daily_point(account_id, listing_id, d, metric)[1] for d in days)
              if v is not None]
    if not values:
        return None
    if metric == "p3_impressions":
        return sum(values)
    return sum(values) / len(values)
