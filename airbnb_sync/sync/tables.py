"""One sync per table: what to fetch for each account, and which rows a complete run has.

Each table is a `TableSync` (like a Singer stream or a dlt resource: fetching records is
separate from whatever writes them). `run_table` drives it over a run's partitions and
returns a validated frame, the gaps, and the report; writing the frame is the caller's job,
except for the rows of an incomplete run, which are kept here without marking anything done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from airbnb_sync.airbnb.windows import Anchor
from airbnb_sync.sync.accounts import (
    AccountWork,
    Fetch,
    SyncEnvironment,
    WeeksByAccount,
    sync_accounts,
)
from airbnb_sync.sync.fetch import (
    FetchOutcome,
    calibrate_anchor,
    fetch_conversion,
    fetch_listings,
    fetch_visibility,
    listings_by_week,
)
from airbnb_sync.sync.lease import load_anchor_day, save_anchor_day
from airbnb_sync.sync.report import SyncReport
from airbnb_sync.warehouse.frames import FrameKind, to_frame, validate_frame
from airbnb_sync.warehouse.upsert import WriteResult, write_frames_by_account

Gaps = dict[str, list[str]]
Completeness = Callable[[pd.DataFrame, WeeksByAccount], Gaps]


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


# --- listings ------------------------------------------------------------------------------


def _fetch_listings(work: AccountWork) -> FetchOutcome:
    listings = fetch_listings(work.client)
    return FetchOutcome(records=listings_by_week(work.account_id, listings, work.plan.weeks,
                                                 work.scraped_at))


def missing_weeks(frame: pd.DataFrame, weeks_by_account: WeeksByAccount) -> Gaps:
    """Account -> weeks of the run without a single listing row."""
    present = set(zip(frame["account_id"], pd.to_datetime(frame["week_start"]).dt.date,
                      strict=True))
    gaps = {account: [week.isoformat() for week in weeks if (account, week) not in present]
            for account, weeks in weeks_by_account.items()}
    return {account: weeks for account, weeks in gaps.items() if weeks}


LISTINGS = TableSync("listings", _fetch_listings, missing_weeks)


# --- conversion_metrics and visibility_metrics ------------------------------------------------


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


def missing_per_listing(listing_ids: Mapping[str, list[str]], date_column: str,
                        days_per_week: int) -> Completeness:
    """A completeness rule: every stored listing has a row for each of the first
    `days_per_week` days of every week of the run (7 for daily series, 1 for weekly rows)."""

    def missing(frame: pd.DataFrame, weeks_by_account: WeeksByAccount) -> Gaps:
        present = set(zip(frame["account_id"], frame["listing_id"],
                          pd.to_datetime(frame[date_column]).dt.date, strict=True))
        gaps: Gaps = {}
        for account, weeks in weeks_by_account.items():
            wanted = [week + timedelta(days=day) for week in weeks for day in range(days_per_week)]
            for listing in listing_ids[account]:
                absent = [day.isoformat() for day in wanted
                          if (account, listing, day) not in present]
                if absent:
                    gaps[f"{account}/{listing}"] = absent
        return gaps

    return missing


def conversion_sync(listing_ids: Mapping[str, list[str]]) -> TableSync:
    """Daily series (ChartQuery); the anchor it measured serves today's other runs."""

    def fetch(work: AccountWork) -> FetchOutcome:
        outcome = fetch_conversion(work.client, work.account_id, listing_ids[work.account_id],
                                   work.plan, work.scraped_at)
        if outcome.anchor is not None and outcome.records and not work.dry_run:
            save_anchor_day(work.warehouse, work.account_id, outcome.anchor.day, work.today)
        return outcome

    return TableSync("conversion_metrics", fetch,
                     missing_per_listing(listing_ids, "metric_date", days_per_week=7))


def visibility_sync(listing_ids: Mapping[str, list[str]]) -> TableSync:
    """Weekly aggregates (ListOfMetricsQuery carries no dates: calibrate the anchor first)."""

    def fetch(work: AccountWork) -> FetchOutcome:
        ids = listing_ids[work.account_id]

        def measured_today() -> Anchor | None:
            day: date | None = load_anchor_day(work.warehouse, work.account_id, work.today)
            return None if day is None else Anchor(day)

        anchor = calibrate_anchor(work.client, ids, work.plan, measured_today)
        if not work.dry_run:  # a dry run writes no table (its next step calibrates again)
            save_anchor_day(work.warehouse, work.account_id, anchor.day, work.today)
        return fetch_visibility(work.client, work.account_id, ids, work.plan, work.scraped_at,
                                anchor)

    return TableSync("visibility_metrics", fetch,
                     missing_per_listing(listing_ids, "week_start", days_per_week=1))
