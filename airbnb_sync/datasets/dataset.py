"""What a dataset is: one synced table, declared once (README: The warehouse; ARCHITECTURE:
Adding a dataset).

A `Dataset` holds everything that differs between `listings`, `conversion_metrics` and
`visibility_metrics`: the table (columns, TimescaleDB settings), how its records are fetched
from Airbnb and parsed, which rows a complete run has, the column an export filters on, and
the asset's description. The sync core, the Dagster assets and checks, the exports, `status`
and the purge of an account read it from the registry (`datasets.registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import sqlalchemy as sa

from airbnb_sync.airbnb.factory import InsightsApi
from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.airbnb.windows import RequestPlan
from airbnb_sync.datasets.completeness import CompletenessRule, ListingIds
from airbnb_sync.datasets.fetch import FetchOutcome
from airbnb_sync.warehouse.declare import InsightTable


class Work(Protocol):
    """What a dataset's fetch gets for one account (the sync core's `AccountWork`)."""

    @property
    def account_id(self) -> str: ...
    @property
    def plan(self) -> RequestPlan: ...
    @property
    def client(self) -> InsightsApi: ...
    @property
    def warehouse(self) -> sa.Engine: ...
    @property
    def today(self) -> date: ...
    @property
    def scraped_at(self) -> datetime: ...
    @property
    def dry_run(self) -> bool: ...

    def anchor_measured_today(self) -> date | None:
        """The anchor day a run measured today for this account, if any."""

    def keep_anchor(self, day: date) -> None:
        """Remember today's anchor day for the account's other runs (not in a dry run)."""


# Fetch one account's records; `listing_ids` are the run's listings of each account (None
# for a dataset that is not per listing, i.e. `reads_listings` False).
DatasetFetch = Callable[[Work, ListingIds | None], FetchOutcome]


@dataclass(frozen=True)
class Dataset:
    """One synced table; `name` is the table's, the asset's and the export's name."""

    table: InsightTable
    description: str  # the asset's description in Dagster's UI
    operations: tuple[Operation, ...]  # the Airbnb operations its fetch sends
    fetch: DatasetFetch
    completeness: CompletenessRule
    date_column: str  # the day a row is about: what `export --from/--to` filter on
    # Reads the `listings` asset of the same partitions (the listings to ask Airbnb about).
    reads_listings: bool = True

    def __post_init__(self) -> None:
        if self.date_column not in self.table.by_name:
            raise ValueError(f"{self.name}: no such date column {self.date_column!r}")
        if "account_id" not in self.table.by_name:
            raise ValueError(f"{self.name}: every dataset has an account_id (purge needs it)")

    @property
    def name(self) -> str:
        return self.table.name
