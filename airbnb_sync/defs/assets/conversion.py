"""The `conversion_metrics` asset: daily conversion and page views, yours vs similar listings."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from airbnb_sync.defs.assets.common import (
    AccountWork,
    asset_options,
    emit,
    missing_per_listing,
    partitions_of,
    sync_accounts,
)
from airbnb_sync.defs.assets.inputs import listing_ids_by_account
from airbnb_sync.defs.resources import AirbnbSyncResource
from airbnb_sync.sync.fetch import FetchOutcome, fetch_conversion
from airbnb_sync.sync.lease import save_anchor_day


def build_conversion_asset(partitions_def: dg.PartitionsDefinition,
                 retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    @dg.asset(
        **asset_options("conversion_metrics", partitions_def, retry_policy, reads_listings=True),
        description=(
            "Daily series from ChartQuery per listing and stay date: conversion rate and page "
            "views (p3 impressions), this listing vs Airbnb's similar listings. One snapshot per "
            "day fetched (scraped_on); see the view conversion_metrics_latest."
        ),
    )
    def conversion_metrics(context: dg.AssetExecutionContext, airbnb_sync: AirbnbSyncResource,
                           listings: pd.DataFrame) -> Iterator[Any]:
        listing_ids = listing_ids_by_account(listings, list(partitions_of(context)))

        def fetch(work: AccountWork) -> FetchOutcome:
            outcome = fetch_conversion(work.client, work.account_id, listing_ids[work.account_id],
                                       work.plan, work.scraped_at)
            if outcome.anchor is not None and outcome.records:
                save_anchor_day(work.engine, work.account_id, outcome.anchor.day, work.today)
            return outcome

        report = sync_accounts(context, airbnb_sync, fetch)
        yield from emit(context, "conversion_metrics", report,
                        missing_per_listing(listing_ids, "metric_date", days_per_week=7))

    return conversion_metrics
