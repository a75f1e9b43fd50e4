"""`conversion_metrics`: a listing's daily series against similar listings (ChartQuery)."""

from __future__ import annotations

from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.datasets.completeness import ListingIds, every_listing
from airbnb_sync.datasets.dataset import Dataset, Work
from airbnb_sync.datasets.fetch import FetchOutcome, fetch_conversion, run_listings
from airbnb_sync.warehouse.declare import (
    COUNT,
    DAY,
    ID,
    MOMENT,
    RATE,
    SUNDAY,
    Field,
    Hypertable,
    InsightTable,
)

TABLE = InsightTable(
    "conversion_metrics",
    "daily series of a listing and of similar listings (ChartQuery), one snapshot per "
    "UTC day of scraping",
    (
        Field("account_id", ID, key=True, references="accounts.account_id"),
        Field("listing_id", ID, key=True),
        Field("metric_date", DAY, key=True),
        Field("scraped_on", DAY, key=True),
        Field("week_start", SUNDAY),
        Field("conversion_rate_your", RATE, nullable=True),
        Field("conversion_rate_similar", RATE, nullable=True),
        Field("p3_impressions_your", COUNT, nullable=True),
        Field("p3_impressions_similar", COUNT, nullable=True),
        Field("scraped_at", MOMENT),
    ),
    row_rules=("scraped_on_is_utc_day_of_scraped_at", "metric_date_within_week"),
    indexes=(("ix_conversion_metrics_week", ("account_id", "week_start")),),
    # Chunks of about a month of daily rows; compressed rows by listing, in day order.
    hypertable=Hypertable("metric_date", "28 days", "metric_date, scraped_on"),
)


def fetch(work: Work, listing_ids: ListingIds | None) -> FetchOutcome:
    """Daily series (ChartQuery); the anchor it measured serves today's other runs."""
    outcome = fetch_conversion(work.client, work.account_id, run_listings(work, listing_ids),
                               work.plan, work.scraped_at)
    if outcome.anchor is not None and outcome.records:
        work.keep_anchor(outcome.anchor.day)
    return outcome


DATASET = Dataset(
    TABLE,
    description=(
        "Daily series from ChartQuery per listing and stay date: conversion rate and page "
        "views (p3 impressions), this listing vs Airbnb's similar listings. One snapshot per "
        "day fetched (scraped_on); see the view conversion_metrics_latest."),
    operations=(Operation.CHART,),
    fetch=fetch,
    completeness=every_listing("metric_date", days_per_week=7),
    date_column="metric_date",
)
