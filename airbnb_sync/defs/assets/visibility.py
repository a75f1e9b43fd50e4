"""The `visibility_metrics` asset: weekly search visibility and conversion per listing."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from airbnb_sync.airbnb.windows import Anchor
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
from airbnb_sync.sync.fetch import FetchOutcome, calibrate_anchor, fetch_visibility
from airbnb_sync.sync.lease import load_anchor_day, save_anchor_day


def build_visibility_asset(partitions_def: dg.PartitionsDefinition,
                 retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    @dg.asset(
        **asset_options("visibility_metrics", partitions_def, retry_policy, reads_listings=True),
        description=(
            "Weekly aggregates from ListOfMetricsQuery per listing (Sunday-Saturday): overall, "
            "search-to-listing and listing-to-booking conversion, first-page impression rate, "
            "page views and first-page impressions, with Airbnb's change figures. One snapshot "
            "per day fetched (scraped_on); see the view visibility_metrics_latest."
        ),
    )
    def visibility_metrics(context: dg.AssetExecutionContext, airbnb_sync: AirbnbSyncResource,
                           listings: pd.DataFrame) -> Iterator[Any]:
        listing_ids = listing_ids_by_account(listings, list(partitions_of(context)))

        def fetch(work: AccountWork) -> FetchOutcome:
            ids = listing_ids[work.account_id]

            def measured_today() -> Anchor | None:
                day = load_anchor_day(work.engine, work.account_id, work.today)
                return None if day is None else Anchor(day)

            anchor = calibrate_anchor(work.client, ids, work.plan, measured_today)
            save_anchor_day(work.engine, work.account_id, anchor.day, work.today)
            return fetch_visibility(work.client, work.account_id, ids, work.plan,
                                    work.scraped_at, anchor)

        report = sync_accounts(context, airbnb_sync, fetch)
        yield from emit(context, "visibility_metrics", report,
                        missing_per_listing(listing_ids, "week_start", days_per_week=1))

    return visibility_metrics
