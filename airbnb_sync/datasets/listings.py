"""`listings`: what a host's listings were called in a week (ListingsSectionQuery)."""

from __future__ import annotations

from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.datasets.completeness import ListingIds, every_week
from airbnb_sync.datasets.dataset import Dataset, Work
from airbnb_sync.datasets.fetch import FetchOutcome, fetch_listings, listings_by_week
from airbnb_sync.warehouse.declare import ID, MOMENT, SUNDAY, TEXT, Field, InsightTable

TABLE = InsightTable(
    "listings",
    "what a host's listings were called in a week",
    (
        Field("account_id", ID, key=True, references="accounts.account_id"),
        Field("listing_id", ID, key=True),
        Field("week_start", SUNDAY, key=True),
        Field("listing_name", TEXT, nullable=True),
        Field("internal_name", TEXT, nullable=True),
        Field("thumbnail_url", TEXT, nullable=True),
        Field("scraped_at", MOMENT),
    ),
)


def fetch(work: Work, _listing_ids: ListingIds | None) -> FetchOutcome:
    """One answer serves every week of the run: the listing set is filed under each."""
    return FetchOutcome(records=listings_by_week(work.account_id, fetch_listings(work.client),
                                                 work.plan.weeks, work.scraped_at))


DATASET = Dataset(
    TABLE,
    description=(
        "Each host's listings (id, name, internal name, thumbnail) as Airbnb's "
        "ListingsSectionQuery returns them, one row per listing and week of the partition."),
    operations=(Operation.LISTINGS_SECTION,),
    fetch=fetch,
    completeness=every_week,
    date_column="week_start",
    reads_listings=False,
)
