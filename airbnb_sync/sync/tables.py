"""One sync per table: what to fetch for each account, and which rows a complete run has.

Each registered dataset (`airbnb_sync.datasets`) becomes a `TableSync` for a run
(`table_sync`; like a Singer stream or a dlt resource: fetching records is separate from
whatever writes them). `run_table` drives it over a run's partitions and
returns a validated frame, the gaps, and the report; writing the frame is the caller's job,
except for the rows of an incomplete run, which are kept here without marking anything done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from airbnb_sync.datasets import DATASETS, Dataset
from airbnb_sync.datasets.completeness import Completeness, Gaps
from airbnb_sync.datasets.fetch import FetchOutcome
from airbnb_sync.sync.accounts import (
    AccountWork,
    Fetch,
    SyncEnvironment,
    WeeksByAccount,
    sync_accounts,
)
from airbnb_sync.sync.report import SyncReport
from airbnb_sync.warehouse.frames import FrameKind, to_frame, validate_frame
from airbnb_sync.warehouse.upsert import WriteResult, write_frames_by_account


class SyncFailed(Exception):
    """Some accounts or listings of the run failed; `report` says which, and why."""

    def __init__(self, report: SyncReport) -> None:
        self.report = report
        super().__init__(report.problems())

    @property
    def retryable(self) -> bool:
        return self.report.retryable


class ListingsNotStored(ValueError):
    """Metrics were asked for before the account's listings of the same weeks were stored."""

    retryable = False


@dataclass(frozen=True)
class TableSync:
    table: FrameKind
    fetch: Fetch
    missing: Completeness


@dataclass(frozen=True)
class TableResult:
    report: SyncReport
    frame: pd.DataFrame
    gaps: Gaps
    kept: WriteResult | None  # rows of an incomplete run written without a materialization


def run_table(env: SyncEnvironment, sync: TableSync,
              weeks_by_account: WeeksByAccount) -> TableResult:
    """Fetch, build and validate the table's frame (FrameValidationError: nothing written).

    When an account or listing failed, what was fetched is upserted here but the caller must
    not report the partitions materialized; it raises SyncFailed after its checks.
    """
    report = sync_accounts(env, weeks_by_account, sync.fetch)
    if not report.records and report.account_errors:
        raise SyncFailed(report)
    frame = validate_frame(sync.table, to_frame(sync.table, report.records))
    kept = None
    if report.incomplete and not env.settings.dry_run and not frame.empty:
        kept = sum(write_frames_by_account(env.warehouse, sync.table, frame).values(),
                   WriteResult())
        env.log.info(f"{sync.table}: kept {kept.rows} fetched rows ({kept.inserted} new) of an "
                     "incomplete run; its partitions are not marked materialized")
    return TableResult(report, frame, sync.missing(frame, weeks_by_account), kept)


def table_sync(dataset: Dataset, listing_ids: Mapping[str, list[str]] | None = None) -> TableSync:
    """A registered dataset's sync for one run: its fetch and completeness rule, given the
    run's listings when the dataset is per listing (`reads_listings`)."""
    ids = dict(listing_ids) if listing_ids is not None else None

    def fetch(work: AccountWork) -> FetchOutcome:
        return dataset.fetch(work, ids)

    return TableSync(dataset.name, fetch, dataset.completeness(ids))


LISTINGS = table_sync(DATASETS["listings"])


# --- the datasets that read the run's listings ------------------------------------------------


def listing_ids_by_account(listings: pd.DataFrame,
                           accounts: list[str]) -> dict[str, list[str]]:
    """Account -> its listing ids stored for the run's weeks; refuse accounts with none,
    because fetching metrics without knowing the listings would silently store nothing."""
    by_account = {account: sorted(group["listing_id"].unique())
                  for account, group in listings.groupby("account_id")}
    missing = [account for account in accounts if not by_account.get(account)]
    if missing:
        raise ListingsNotStored(
            f"no listings are stored for account(s) {', '.join(missing)} in these weeks: "
            "materialize `listings` for the same partitions first (select all three assets).")
    return {account: by_account[account] for account in accounts}


def limit_listings(listing_ids: Mapping[str, list[str]],
                   wanted: frozenset[str] | None) -> dict[str, list[str]]:
    """The stored listings a run is limited to (a run of some listings, sync/planner.py);
    a planned listing that is no longer stored (Airbnb dropped it) is left out."""
    if wanted is None:
        return dict(listing_ids)
    return {account: [listing for listing in ids if listing in wanted]
            for account, ids in listing_ids.items()}


def conversion_sync(listing_ids: Mapping[str, list[str]]) -> TableSync:
    """Daily series (ChartQuery) of the run's listings."""
    return table_sync(DATASETS["conversion_metrics"], listing_ids)


def visibility_sync(listing_ids: Mapping[str, list[str]]) -> TableSync:
    """Weekly aggregates (ListOfMetricsQuery) of the run's listings."""
    return table_sync(DATASETS["visibility_metrics"], listing_ids)
