"""Glue shared by the three assets: one account at a time, under its lease, then one frame.

An asset run covers a rectangle of (account, week) partitions. Each account is planned once
over all its weeks, fetched under its lease with its own client, and what every account
produced becomes one validated frame that the warehouse IO manager upserts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from airbnb_sync.accounts.store import AccountStore, open_store
from airbnb_sync.airbnb.client import AirbnbClient
from airbnb_sync.airbnb.errors import (
    AirbnbError,
    AirbnbUnavailable,
    AuthExpired,
    RateLimited,
    WeekOutOfRange,
)
from airbnb_sync.airbnb.pacing import Pacer
from airbnb_sync.airbnb.stats import RequestStats
from airbnb_sync.airbnb.windows import RequestPlan, plan_requests, reachable_horizon
from airbnb_sync.core.logs import log_context
from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.partitions import decode_partition_keys, partition_key
from airbnb_sync.defs.resources import AirbnbSyncResource
from airbnb_sync.sync.fetch import FetchOutcome
from airbnb_sync.sync.frames import FrameValidationError, to_frame, validate_frame
from airbnb_sync.sync.lease import DatabasePacingStore, LeaseLost, LeaseTimeout, account_lease
from airbnb_sync.warehouse.request_counts import record_requests
from airbnb_sync.warehouse.upsert import WriteResult, write_frames_by_account

VALID_SCHEMA = "valid_schema"
COMPLETE = "complete"


# Failures that may pass by themselves; any other Airbnb error (an expired session, schema
# drift, a refused query hash) fails the same way again, so Dagster must not retry it.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (AirbnbUnavailable, RateLimited, LeaseTimeout,
                                                 LeaseLost)


def sync_retry_policy(settings: Settings) -> dg.RetryPolicy:
    """Dagster retries a failed sync step, with backoff, unless the failure says it is not
    transient (`dg.Failure(allow_retries=False)`); unexpected errors such as a lost database
    connection are retried too."""
    return dg.RetryPolicy(max_retries=settings.run_retries, delay=settings.run_retry_delay,
                          backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def asset_options(name: str, partitions_def: dg.PartitionsDefinition,
                  retry_policy: dg.RetryPolicy, reads_listings: bool = False) -> dict[str, Any]:
    """What the three assets share: partitions, single-run backfills, retries, checks, IO
    manager."""
    options: dict[str, Any] = {
        "name": name,
        "partitions_def": partitions_def,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "retry_policy": retry_policy,
        "check_specs": check_specs(name),
        "io_manager_key": "warehouse",
        "group_name": "airbnb_insights",
        "kinds": {"python", "sql"},
    }
    if reads_listings:
        options["ins"] = {"listings": dg.AssetIn(key="listings")}
    return options


def check_specs(asset_name: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(VALID_SCHEMA, asset=asset_name,
                          description="The frame passed its Pandera model before it was written."),
        dg.AssetCheckSpec(COMPLETE, asset=asset_name,
                          description="Every listing has every day or week of the partitions."),
    ]


@dataclass
class AccountWork:
    """What a fetch function gets for one account."""

    account_id: str
    plan: RequestPlan
    client: AirbnbClient
    engine: sa.Engine
    today: date
    scraped_at: datetime


@dataclass
class SyncReport:
    """What happened across the accounts of one asset run."""

    scraped_at: datetime
    records: list[dict[str, Any]] = field(default_factory=list)
    stats: RequestStats = field(default_factory=RequestStats)
    failed_listings: dict[str, dict[str, str]] = field(default_factory=dict)
    account_errors: dict[str, str] = field(default_factory=dict)
    error_classes: dict[str, str] = field(default_factory=dict)
    anchor_shifts: dict[str, int] = field(default_factory=dict)
    # Where an incomplete run keeps what it fetched (None: nowhere, as in a dry run).
    warehouse: sa.Engine | None = None


    def failed(self, account_id: str, exc: Exception) -> None:
        self.account_errors[account_id] = f"{type(exc).__name__}: {exc}"
        self.error_classes[account_id] = type(exc).__name__

    @property
    def may_pass(self) -> bool:
        """Whether a retry could succeed: a listing failure is always transient (fetch.py
        keeps going only past those); an account failure only if its error is."""
        transient = {error.__name__ for error in TRANSIENT_ERRORS}
        return bool(self.failed_listings) or any(
            name in transient for name in self.error_classes.values())


Fetch = Callable[[AccountWork], FetchOutcome]
Completeness = Callable[[pd.DataFrame, dict[str, list[date]]], dict[str, list[str]]]


def partitions_of(context: dg.AssetExecutionContext) -> dict[str, list[date]]:
    """Account -> its weeks in this run, whatever the shape of the range."""
    return decode_partition_keys(context.assets_def.partitions_def, context.partition_keys)


def sync_accounts(context: dg.AssetExecutionContext, resource: AirbnbSyncResource,
                  fetch: Fetch) -> SyncReport:
    """Plan every account first (refusing unreachable weeks before any request), then fetch
    each one under its lease. An account-level failure stops that account only."""
    settings = resource.settings()
    now = resource.now()
    weeks_by_account = partitions_of(context)
    horizon = reachable_horizon(now.date(), settings.lookahead_weeks)
    try:
        plans = {
            account_id: plan_requests(weeks, now.date(), horizon, settings.anchor_lag_days)
            for account_id, weeks in weeks_by_account.items()
        }
    except WeekOutOfRange as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    engine = resource.engine()
    store = open_store(settings)
    report = SyncReport(scraped_at=now, warehouse=None if settings.dry_run else engine)
    for account_id, plan in plans.items():
        span = (f"{partition_key(account_id, plan.weeks[0])}..."
                f"{partition_key(account_id, plan.weeks[-1])}")
        with log_context(run_id=context.run_id, account=account_id, partition=span):
            _sync_account(context, store, engine, account_id, plan, settings, now, fetch,
                          report)
    return report


def _sync_account(context: dg.AssetExecutionContext, store: AccountStore, engine: sa.Engine,
                  account_id: str, plan: RequestPlan, settings: Settings,
                  now: datetime, fetch: Fetch, report: SyncReport) -> None:
    try:
        if store.get(account_id).auth_status == "expired":
            # Airbnb already refused this session (maybe earlier in this very run): sending it
            # again cannot succeed and looks like abuse. A refreshed cookie resets the status.
            raise AuthExpired(account_id, "not sent again until its cookie is refreshed")
        session = store.session(account_id)
    except (KeyError, ValueError, AuthExpired) as exc:
        report.failed(account_id, exc)
        return
    stats = RequestStats()
    pacer = Pacer(settings.min_request_interval, store=DatabasePacingStore(engine), stats=stats)
    try:
        with account_lease(engine, account_id), \
                AirbnbClient(session, settings, pacer=pacer, stats=stats) as client:
            outcome = fetch(AccountWork(account_id, plan, client, engine, now.date(), now))
    except AuthExpired as exc:
        store.set_auth_status(account_id, "expired")
        context.log.error(f"account {account_id}: Airbnb refused the session; it is marked "
                          f"expired. Refresh it: airbnb-sync accounts update {account_id} "
                          "--cookie-file -")
        report.failed(account_id, exc)
        return
    except (AirbnbError, LeaseTimeout, LeaseLost) as exc:
        report.failed(account_id, exc)
        return
    finally:
        report.stats.merge(stats)
        # Counted even when the fetch failed: Airbnb received them all the same.
        record_requests(engine, account_id, stats.total_requests + stats.retries,
                        datetime.now(UTC))
    store.set_auth_status(account_id, "ok")
    report.records.extend(outcome.records)
    report.anchor_shifts[account_id] = outcome.anchor_shift
    if outcome.failed_listings:
        report.failed_listings[account_id] = outcome.failed_listings
        # fetch.py words each listing failure "<ErrorClass>: <message>".
        report.error_classes[account_id] = ", ".join(sorted(
            {error.split(":")[0] for error in outcome.failed_listings.values()}))
    else:
        store.mark_synced(account_id, now)
    context.log.info(
        f"account {account_id}: {len(outcome.records)} rows over {len(plan.weeks)} weeks, "
        f"{len(outcome.failed_listings)} listings failed"
    )


def emit(context: dg.AssetExecutionContext, kind: str, report: SyncReport,
         missing: Completeness) -> Iterator[Any]:
    """Validate, yield the output and the checks, then fail the run if anything is missing.

    When a listing or an account failed, what was fetched is kept but not yielded as the
    output: Dagster would mark every partition of the step materialized, the incomplete
    ones included. The frame is upserted directly, the `complete` check fails, and the run
    fails naming the listings, so a retry completes it.
    """
    asset_key = context.assets_def.key
    if not report.records and report.account_errors:
        raise _failure(report)
    try:
        frame = validate_frame(kind, to_frame(kind, report.records))
    except FrameValidationError as exc:
        yield dg.AssetCheckResult(asset_key=asset_key, check_name=VALID_SCHEMA, passed=False,
                                  metadata={"errors": str(exc)})
        raise dg.Failure(description=f"{kind}: nothing was written, the frame is invalid: "
                                     f"{exc}", allow_retries=False) from None
    gaps = missing(frame, partitions_of(context))
    incomplete = bool(report.failed_listings or report.account_errors)
    if incomplete:
        _keep_unmaterialized(context, kind, frame, report)
    else:
        yield dg.Output(frame, metadata={**_metadata(report),
                                         "listings": int(frame["listing_id"].nunique())})
    yield dg.AssetCheckResult(asset_key=asset_key, check_name=VALID_SCHEMA, passed=True,
                              metadata={"rows": len(frame)})
    yield dg.AssetCheckResult(
        asset_key=asset_key, check_name=COMPLETE, passed=not gaps and not report.account_errors,
        metadata={"missing": dg.MetadataValue.json(gaps),
                  "failed_accounts": dg.MetadataValue.json(sorted(report.account_errors))},
    )
    if incomplete:
        raise _failure(report)


def _keep_unmaterialized(context: dg.AssetExecutionContext, kind: str, frame: pd.DataFrame,
                         report: SyncReport) -> None:
    """Upsert the rows of an incomplete run without a materialization (DESIGN.md §2)."""
    if report.warehouse is None or frame.empty:
        return
    written = sum(write_frames_by_account(report.warehouse, kind, frame).values(), WriteResult())
    context.log.info(f"{kind}: kept {written.rows} fetched rows ({written.inserted} new) of an "
                     "incomplete run; its partitions are not marked materialized")


def _failure(report: SyncReport) -> dg.Failure:
    return dg.Failure(
        description=_problems(report),
        metadata={**_metadata(report),
                  "error_classes": dg.MetadataValue.json(report.error_classes)},
        allow_retries=report.may_pass,
    )


def _metadata(report: SyncReport) -> dict[str, Any]:
    return {
        "rows": len(report.records),
        "scraped_on": report.scraped_at.date().isoformat(),
        "anchor_shift_days": dg.MetadataValue.json(report.anchor_shifts),
        **report.stats.as_metadata(),
    }


def _problems(report: SyncReport) -> str:
    lines = [f"account {account}: {error}" for account, error in report.account_errors.items()]
    for account, listings in report.failed_listings.items():
        for listing, error in listings.items():
            lines.append(f"account {account}, listing {listing}: {error}")
    lines.append("What was fetched was kept; re-run the same partitions to complete them.")
    return "\n".join(lines)


def missing_per_listing(listing_ids: dict[str, list[str]], date_column: str,
                        days_per_week: int) -> Completeness:
    """A completeness rule: every stored listing has a row for each of the first
    `days_per_week` days of every week of the run (7 for daily series, 1 for weekly rows)."""

    def missing(frame: pd.DataFrame,
                weeks_by_account: dict[str, list[date]]) -> dict[str, list[str]]:
        present = set(zip(frame["account_id"], frame["listing_id"],
                          pd.to_datetime(frame[date_column]).dt.date, strict=True))
        gaps: dict[str, list[str]] = {}
        for account, weeks in weeks_by_account.items():
            wanted = [week + timedelta(days=day) for week in weeks for day in range(days_per_week)]
            for listing in listing_ids[account]:
                absent = [day.isoformat() for day in wanted
                          if (account, listing, day) not in present]
                if absent:
                    gaps[f"{account}/{listing}"] = absent
        return gaps

    return missing
