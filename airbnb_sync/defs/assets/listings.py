"""The `listings` asset: each host's listings, recorded for every week of the partitions."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd

from airbnb_sync.defs.assets.common import AccountWork, asset_options, emit, sync_accounts
from airbnb_sync.defs.resources import AirbnbSyncResource
from airbnb_sync.sync.fetch import FetchOutcome, fetch_listings, listings_by_week


def _fetch(work: AccountWork) -> FetchOutcome:
    listings = fetch_listings(work.client)
    return FetchOutcome(records=listings_by_week(work.account_id, listings, work.plan.weeks,
                                                 work.scraped_at))


def missing_weeks(frame: pd.DataFrame,
                  weeks_by_account: dict[str, list[date]]) -> dict[str, list[str]]:
    """Account -> weeks of the run without a single listing row."""
    present = set(zip(frame["account_id"], pd.to_datetime(frame["week_start"]).dt.date,
                      strict=True))
    gaps = {
        account: [week.isoformat() for week in weeks if (account, week) not in present]
        for account, weeks in weeks_by_account.items()
    }
    return {account: weeks for account, weeks in gaps.items() if weeks}


def build_listings_asset(partitions_def: dg.PartitionsDefinition,
                 retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    @dg.asset(
        **asset_options("listings", partitions_def, retry_policy),
        description=(
            "Each host's listings (id, name, internal name, thumbnail) as Airbnb's "
            "ListingsSectionQuery returns them, one row per listing and week of the partition."
        ),
    )
    def listings(context: dg.AssetExecutionContext,
                 airbnb_sync: AirbnbSyncResource) -> Iterator[Any]:
        report = sync_accounts(context, airbnb_sync, _fetch)
        yield from emit(context, "listings", report, missing_weeks)

    return listings
