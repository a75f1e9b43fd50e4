"""Syncing accounts one at a time: plan, take the lease, fetch with pacing, record the outcome.

Plain Python: the Dagster layer hands in a `SyncEnvironment` (settings, warehouse, account
store, client factory, clock, logger) and the partitions of its run, and gets a `SyncReport`
back. Every week is planned before the first request, so an unreachable week fails the run
before Airbnb hears anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa

from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.client import HostSession
from airbnb_sync.airbnb.errors import AirbnbError, AuthExpired
from airbnb_sync.airbnb.factory import ClientFactory, InsightsApi
from airbnb_sync.airbnb.pacing import Pacer
from airbnb_sync.airbnb.stats import RequestStats
from airbnb_sync.airbnb.windows import RequestPlan, plan_requests, reachable_horizon
from airbnb_sync.core.logs import log_context
from airbnb_sync.core.settings import Settings
from airbnb_sync.datasets.fetch import FetchOutcome
from airbnb_sync.sync.lease import (
    DatabasePacingStore,
    LeaseLost,
    LeaseTimeout,
    ReadOnlyPacingStore,
    account_lease,
    load_anchor_day,
    save_anchor_day,
)
from airbnb_sync.sync.report import SyncReport
from airbnb_sync.warehouse.request_counts import record_requests

WeeksByAccount = Mapping[str, list[date]]


@dataclass(frozen=True)
class SyncEnvironment:
    """What a sync takes from outside: handed in by the Dagster layer, or by a test."""

    settings: Settings
    warehouse: sa.Engine
    accounts: AccountStore
    airbnb: ClientFactory
    now: datetime
    log: logging.Logger = field(default_factory=lambda: logging.getLogger(__name__))
    run_id: str | None = None
    # How the orchestrator names an account's week (Dagster's partition key, given by defs/),
    # for the log context; without it the log names the weeks alone.
    partition_key: Callable[[str, date], str] | None = None


@dataclass(frozen=True)
class AccountWork:
    """What a table's fetch gets for one account: its plan and an open client."""

    account_id: str
    plan: RequestPlan
    client: InsightsApi
    warehouse: sa.Engine
    today: date
    scraped_at: datetime
    dry_run: bool = False  # AIRBNB_SYNC_DRY_RUN: fetch and validate, write no table

    def anchor_measured_today(self) -> date | None:
        """The anchor day a run measured today for this account, if any."""
        return load_anchor_day(self.warehouse, self.account_id, self.today)

    def keep_anchor(self, day: date) -> None:
        """Remember today's anchor day for the account's other runs (not in a dry run)."""
        if not self.dry_run:
            save_anchor_day(self.warehouse, self.account_id, day, self.today)


Fetch = Callable[[AccountWork], FetchOutcome]


def partitions_span(env: SyncEnvironment, account_id: str, weeks: list[date]) -> str:
    """The run's first and last partition of the account, as the log context names them."""
    name = env.partition_key or (lambda _, week: week.isoformat())
    return f"{name(account_id, weeks[0])}...{name(account_id, weeks[-1])}"


def plan_accounts(settings: Settings, weeks_by_account: WeeksByAccount,
                  today: date) -> dict[str, RequestPlan]:
    """Each account's plan; WeekOutOfRange if any week is not served, before any request."""
    horizon = reachable_horizon(today, settings.lookahead_weeks, settings.horizon_days,
                                ahead_days=settings.horizon_days)
    return {account_id: plan_requests(weeks, today, horizon, settings.anchor_lag_days)
            for account_id, weeks in weeks_by_account.items()}


def sync_accounts(env: SyncEnvironment, weeks_by_account: WeeksByAccount,
                  fetch: Fetch) -> SyncReport:
    """Fetch every account of the run in turn; a failing account stops only itself."""
    plans = plan_accounts(env.settings, weeks_by_account, env.now.date())
    report = SyncReport(scraped_at=env.now)
    for account_id, plan in plans.items():
        span = partitions_span(env, account_id, plan.weeks)
        with log_context(run_id=env.run_id, account=account_id, partition=span):
            _sync_account(env, account_id, plan, fetch, report)
    return report


def keep_rotated_session(env: SyncEnvironment, session: HostSession,
                         client: InsightsApi) -> None:
    """Store the cookies Airbnb rotated during the account's work, encrypted.

    Not in a dry run (it changes nothing), and never after Airbnb refused the session (the
    client then reports no changes). A failure to store is logged, not raised: the stored
    session is still the one the run started with, and the grace Airbnb gives covers it.
    """
    changes = client.changed_session()
    if changes is None:
        return
    if env.settings.dry_run:
        env.log.info(f"account {session.account_id}: dry run, the session Airbnb rotated is "
                     "not stored")
        return
    try:
        stored = env.accounts.keep_rotated(session.account_id, session.cookies,
                                           changes.rotated, changes.expires)
    except (sa.exc.SQLAlchemyError, ValueError, OverflowError) as exc:
        env.log.warning(f"account {session.account_id}: could not store the session Airbnb "
                        f"rotated ({type(exc).__name__}); the previous one stays stored")
        return
    if stored:
        env.log.info(f"account {session.account_id}: stored the session Airbnb rotated "
                     f"({len(changes.rotated)} cookies changed)")
    else:
        env.log.info(f"account {session.account_id}: a new session was stored during the run; "
                     "the one Airbnb rotated is not kept")


def _sync_account(env: SyncEnvironment, account_id: str, plan: RequestPlan, fetch: Fetch,
                  report: SyncReport) -> None:
    store = env.accounts
    try:
        if store.get(account_id).auth_status == "expired":
            # Airbnb already refused this session (maybe earlier in this very run): sending it
            # again cannot succeed and looks like abuse. A refreshed cookie resets the status.
            raise AuthExpired(account_id, "not sent again until its cookie is refreshed")
        session = store.session(account_id)
    except (KeyError, ValueError, AuthExpired) as exc:  # AccountError is a ValueError
        report.failed(account_id, exc)
        return
    dry_run = env.settings.dry_run
    stats = RequestStats()
    shared = DatabasePacingStore(env.warehouse)
    pacer = Pacer(env.settings.min_request_interval,
                  store=ReadOnlyPacingStore(shared) if dry_run else shared, stats=stats)
    try:
        with account_lease(env.warehouse, account_id), \
                env.airbnb.open(session, pacer=pacer, stats=stats) as client:
            try:
                outcome = fetch(AccountWork(account_id, plan, client, env.warehouse,
                                            env.now.date(), env.now, dry_run))
            finally:
                # Still under the lease: no other run of this account sends meanwhile.
                keep_rotated_session(env, session, client)
    except AuthExpired as exc:
        if not dry_run:  # a dry run writes no table: the status stays as it was
            store.set_auth_status(account_id, "expired")
        marked = "a dry run leaves its status" if dry_run else "it is marked expired"
        env.log.error(f"account {account_id}: Airbnb refused the session; {marked}. "
                      f"Refresh it: airbnb-sync accounts update {account_id} --cookie-file -")
        report.failed(account_id, exc)
        return
    except (AirbnbError, LeaseTimeout, LeaseLost) as exc:
        report.failed(account_id, exc)
        return
    finally:
        report.stats.merge(stats)
        # Counted even when the fetch failed: Airbnb received them all the same. A dry run
        # writes no table, so its requests show in the run's metadata only.
        if not dry_run:
            record_requests(env.warehouse, account_id, stats.total_requests + stats.retries,
                            datetime.now(UTC))
    if not dry_run:  # a dry run leaves the account as it was, never-synced included
        store.set_auth_status(account_id, "ok")
    report.records.extend(outcome.records)
    report.anchor_shifts[account_id] = outcome.anchor_shift
    if outcome.failed_listings:
        report.failed_listings[account_id] = dict(outcome.failed_listings)
    elif not dry_run:
        store.mark_synced(account_id, env.now)
    env.log.info(f"account {account_id}: {len(outcome.records)} rows over {len(plan.weeks)} "
                 f"weeks, {len(outcome.failed_listings)} listings failed")
