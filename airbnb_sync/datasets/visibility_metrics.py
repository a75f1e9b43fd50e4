"""`visibility_metrics`: a listing's aggregates over one week (ListOfMetricsQuery)."""

from __future__ import annotations

from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.airbnb.windows import Anchor
from airbnb_sync.datasets.completeness import ListingIds, every_listing
from airbnb_sync.datasets.dataset import Dataset, Work
from airbnb_sync.datasets.fetch import (
    FetchOutcome,
    calibrate_anchor,
    fetch_visibility,
    run_listings,
)
from airbnb_sync.warehouse.declare import (
    CHANGE,
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
    "visibility_metrics",
    "a listing's aggregates over one week (ListOfMetricsQuery), one snapshot per UTC "
    "day of scraping",
    (
        Field("account_id", ID, key=True, references="accounts.account_id"),
        Field("listing_id", ID, key=True),
        Field("week_start", SUNDAY, key=True),
        Field("scraped_on", DAY, key=True),
        Field("week_end", DAY),
        Field("conversion_rate", RATE, nullable=True),
        Field("p2_impressions_first_page_rate", RATE, nullable=True),
        Field("search_conversion_rate", RATE, nullable=True),
        Field("listing_conversion_rate", RATE, nullable=True),
        Field("p3_impressions", COUNT, nullable=True),
        Field("p2_impressions", COUNT, nullable=True),
        Field("conversion_rate_change", CHANGE, nullable=True),
        Field("p3_impressions_change", CHANGE, nullable=True),
        Field("scraped_at", MOMENT),
    ),
    row_rules=("scraped_on_is_utc_day_of_scraped_at", "week_end_is_week_start_plus_6"),
    # Chunks of about a quarter of weekly rows; compressed rows by listing, in week order.
    hypertable=Hypertable("week_start", "84 days", "week_start, scraped_on"),
)


def fetch(work: Work, listing_ids: ListingIds | None) -> FetchOutcome:
    """Weekly aggregates (ListOfMetricsQuery carries no dates: calibrate the anchor first)."""
    ids = run_listings(work, listing_ids)

    def measured_today() -> Anchor | None:
        day = work.anchor_measured_today()
        return None if day is None else Anchor(day)

    anchor = calibrate_anchor(work.client, ids, work.plan, measured_today)
    work.keep_anchor(anchor.day)  # a dry run keeps none (its next step calibrates again)
    return fetch_visibility(work.client, work.account_id, ids, work.plan, work.scraped_at,
                            anchor)


DATASET = Dataset(
    TABLE,
    description=(
        "Weekly aggregates from ListOfMetricsQuery per listing (Sunday-Saturday): overall, "
        "search-to-listing and listing-to-booking conversion, first-page impression rate, "
        "page views and first-page impressions, with Airbnb's change figures. One snapshot "
        "per day fetched (scraped_on); see the view visibility_metrics_latest."),
    operations=(Operation.LIST_OF_METRICS,),
    fetch=fetch,
    completeness=every_listing("week_start", days_per_week=1),
    date_column="week_start",
)
