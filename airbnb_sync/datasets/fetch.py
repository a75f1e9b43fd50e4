"""Fetching one account's insights for a set of weeks: requests, calibration, parsing.

Plain functions over an `AirbnbClient` and a `RequestPlan`, which the datasets' fetches are
made of, so that the Dagster assets stay thin glue and this logic is testable against the
simulator without Dagster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from airbnb_sync.airbnb.errors import AirbnbError, SchemaDrift
from airbnb_sync.airbnb.operations import METRIC_GROUPS
from airbnb_sync.airbnb.parse import (
    conversion_records,
    parse_chart,
    parse_list_of_metrics,
    parse_listings,
    visibility_record,
)
from airbnb_sync.airbnb.windows import (
    CHART_DATES_PATH,
    Anchor,
    DateWindow,
    RequestPlan,
    measure_shift,
)

logger = logging.getLogger(__name__)

ChartPoints = dict[date, tuple[Any, Any]]


@dataclass
class FetchOutcome:
    """What a fetch produced: records, the listings that failed and why, the anchor used."""

    records: list[dict[str, Any]] = field(default_factory=list)
    failed_listings: dict[str, AirbnbError] = field(default_factory=dict)
    anchor: Anchor | None = None
    anchor_shift: int = 0


class OfAccount(Protocol):
    @property
    def account_id(self) -> str: ...


def run_listings(work: OfAccount, listing_ids: Mapping[str, list[str]] | None) -> list[str]:
    """The run's listings of the work's account, which a per-listing dataset is given."""
    if listing_ids is None:
        raise ValueError("a per-listing dataset needs the run's listings")
    return listing_ids[work.account_id]


def fetch_listings(client: Any) -> list[dict[str, Any]]:
    """The host's listings (ListingsSectionQuery has no dates: one answer serves every week)."""
    return parse_listings(client.listings_section())


def listings_by_week(account_id: str, listings: list[dict[str, Any]], weeks: Iterable[date],
                     scraped_at: datetime) -> list[dict[str, Any]]:
    return [
        {"account_id": account_id, "week_start": week, "scraped_at": scraped_at, **listing}
        for week in weeks
        for listing in listings
    ]


def calibrated_chart(client: Any, listing_id: str, metric: str, window: DateWindow,
                     anchor: Anchor) -> tuple[ChartPoints, Anchor]:
    """Ask ChartQuery for `window`; if Airbnb's dates come back shifted by k days, correct the
    anchor and ask again, so that every stored figure is filed under its true date."""
    points = parse_chart(client.chart(listing_id, metric, *anchor.offsets(window)), metric)
    shift = measure_shift(window, sorted(points))
    if shift == 0:
        return points, anchor
    corrected = anchor.corrected(shift)
    logger.warning(
        "Airbnb's date anchor is %s, not %s (dates came back shifted by %+d days); "
        "correcting the offsets of this run and asking again", corrected.day, anchor.day, shift,
    )
    points = parse_chart(client.chart(listing_id, metric, *corrected.offsets(window)), metric)
    if measure_shift(window, sorted(points)) != 0:
        raise SchemaDrift("ChartQuery", CHART_DATES_PATH,
                          "the date anchor moved again right after being corrected")
    return points, corrected


def fetch_conversion(client: Any, account_id: str, listing_ids: Iterable[str], plan: RequestPlan,
                     scraped_at: datetime) -> FetchOutcome:
    """Daily conversion and page-view series, merged 28-day ChartQuery windows per listing."""
    outcome = FetchOutcome(anchor=plan.anchor)
    anchor = plan.anchor
    for listing_id in listing_ids:
        series: dict[str, ChartPoints] = {metric: {} for metric in METRIC_GROUPS}
        try:
            for window in plan.chart_windows:
                for metric in METRIC_GROUPS:
                    points, anchor = calibrated_chart(client, listing_id, metric, window, anchor)
                    series[metric].update(points)
        except AirbnbError as exc:
            _listing_failed(outcome, listing_id, exc)
            continue
        outcome.records.extend(conversion_records(
            account_id, listing_id, series["conversion_rate"], series["p3_impressions"],
            scraped_at,
        ))
    outcome.anchor = anchor
    outcome.anchor_shift = (anchor.day - plan.anchor.day).days
    return outcome


def fetch_visibility(client: Any, account_id: str, listing_ids: Iterable[str], plan: RequestPlan,
                     scraped_at: datetime, anchor: Anchor) -> FetchOutcome:
    """Weekly aggregates, one Sunday-Saturday ListOfMetricsQuery window per week and group.

    ListOfMetricsQuery answers carry no dates, so `anchor` must already be calibrated.
    """
    outcome = FetchOutcome(anchor=anchor, anchor_shift=(anchor.day - plan.anchor.day).days)
    for listing_id in listing_ids:
        records = []
        try:
            for window in plan.week_windows:
                groups = {
                    metric: parse_list_of_metrics(
                        client.list_of_metrics(listing_id, metric, *anchor.offsets(window)), metric
                    )
                    for metric in METRIC_GROUPS
                }
                records.append(visibility_record(
                    account_id, listing_id, window.start, groups["conversion_rate"],
                    groups["p3_impressions"], scraped_at,
                ))
        except AirbnbError as exc:
            _listing_failed(outcome, listing_id, exc)
            continue
        outcome.records.extend(records)
    return outcome


def calibrate_anchor(client: Any, listing_ids: Sequence[str], plan: RequestPlan,
                     known: Callable[[], Anchor | None]) -> Anchor:
    """The anchor for date-less requests: the one measured today if any, else one probe,
    with the next listing when a listing's requests fail (one listing down must not stop
    the others)."""
    anchor = known()
    if anchor is not None:
        return anchor
    window = plan.week_windows[0]
    failure: AirbnbError | None = None
    for listing_id in listing_ids:
        try:
            _, anchor = calibrated_chart(client, listing_id, "p3_impressions", window,
                                         plan.anchor)
            return anchor
        except AirbnbError as exc:
            if not exc.retryable:
                raise
            logger.warning("listing %s could not calibrate the date anchor, trying the next: %s",
                           listing_id, exc)
            failure = exc
    if failure is not None:
        raise failure
    return plan.anchor


def _listing_failed(outcome: FetchOutcome, listing_id: str, exc: AirbnbError) -> None:
    """A transient failure stops one listing and the others go on (the partition is reported
    incomplete); anything else (an expired session, a rotated hash, a changed format) stops
    the account at once."""
    if not exc.retryable:
        raise exc
    logger.warning("listing %s failed, the other listings go on: %s", listing_id, exc)
    outcome.failed_listings[listing_id] = exc
