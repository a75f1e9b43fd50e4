"""The daily schedule: every active account's day, planned within its request budget.

Which weeks and listings to ask for is `sync.planner` (through `sync.daily`); this module turns
its runs into run requests. Every run covers one account's contiguous range of weeks (range
tags; README: How it works) for some of its listings (`LISTINGS_TAG`), carries the account in
`ACCOUNT_TAG`, and a `dagster/priority` that interleaves accounts in the run queue: every
account's first run before any account's second, so a big account never starves small ones.
An account with no listings stored yet (its first sync has not run) gets the tiers'
ranges for all its listings.
"""


from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import sqlalchemy as sa

from airbnb_sync.accounts.store import AccountRecord
from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.assets import SYNCED_ASSETS
from airbnb_sync.defs.partitions import ACCOUNTS, LISTINGS_TAG, range_tags
from airbnb_sync.defs.resources import WarehouseResource
from airbnb_sync.sync.daily import AccountSchedule, account_schedules
from airbnb_sync.sync.planner import FIRST_SYNC
from airbnb_sync.sync.refresh import RefreshPolicy, WeekRange

ACCOUNT_TAG = "airbnb_sync/account"
TRIGGER_TAG = "airbnb_sync/trigger"
TIER_TAG = "airbnb_sync/tier"
# On every daily run: whether the account's day fits its budget (the Operations dashboard
# reads it from Dagster's run storage), and the staleness its plan promises.
BEHIND_TAG = "airbnb_sync/behind_schedule"
STALENESS_TAG = "airbnb_sync/max_staleness_days"
PRIORITY_TAG = "dagster/priority"
SYNC_TARGET = dg.AssetSelection.assets(*SYNCED_ASSETS)


def sync_request(account_id: str, weeks: WeekRange, run_key: str, trigger: str,
                 extra_tags: Mapping[str, str] | None = None,
                 assets: Sequence[str] | None = None) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=None if assets is None else [dg.AssetKey(name) for name in assets],
        tags={**range_tags(account_id, *weeks), ACCOUNT_TAG: account_id, TRIGGER_TAG: trigger,
              **(extra_tags or {})},
    )


def _skip_reason(account: AccountRecord, registered: set[str]) -> str | None:
    if not account.is_active:
        return "inactive"
    if account.auth_status == "expired":
        return "session expired: airbnb-sync accounts update " \
               f"{account.account_id} --cookie-file -"
    if account.account_id not in registered:
        return "not yet a partition (the accounts sensor adds it)"
    return None


def daily_requests(settings: Settings, accounts: Iterable[AccountRecord],
                   registered: set[str], day: date, engine: sa.Engine,
                   first_syncing: frozenset[str] = frozenset(),
                   ) -> tuple[list[dg.RunRequest], dict[str, str]]:
    """Today's runs of every account, interleaved across accounts, and the accounts skipped
    with their reason. Accounts in `first_syncing` (their first sync's runs are not all done)
    get no first syncs of new listings: those runs cover them."""
    skipped: dict[str, str] = {}
    syncing = []
    for account in accounts:
        reason = _skip_reason(account, registered)
        if reason:
            skipped[account.account_id] = reason
        else:
            syncing.append(account.account_id)
    per_account = [_account_requests(settings, schedule.account_id or "", schedule, day,
                                     schedule.account_id not in first_syncing)
                   for schedule in account_schedules(settings, engine, syncing, day, 1)]
    runs = [requests[i] for i in range(max(map(len, per_account), default=0))
            for requests in per_account if i < len(requests)]
    return runs, skipped


def _account_requests(settings: Settings, account_id: str, schedule: AccountSchedule,
                      day: date, new_listings: bool = True) -> list[dg.RunRequest]:
    if not schedule.listings_known:
        ranges = RefreshPolicy.from_settings(settings).daily_ranges(day)
        return [sync_request(account_id, weeks, f"daily:{day}:{account_id}:{weeks[0]}.."
                             f"{weeks[1]}", "daily", {PRIORITY_TAG: str(len(ranges))})
                for weeks in ranges]
    requests = []
    plan = schedule.plans[0]
    runs = [*plan.runs, *(schedule.new_listing_runs if new_listings else ())]
    for index, run in enumerate(runs):
        tags = {LISTINGS_TAG: ",".join(run.listing_ids), TIER_TAG: run.tier,
                PRIORITY_TAG: str(len(runs)),
                BEHIND_TAG: str(schedule.behind_schedule).lower(),
                STALENESS_TAG: str(plan.promise.max_staleness_days)}
        run_key = (f"daily:{day}:{account_id}:{run.tier}:{run.first_week}..{run.last_week}:"
                   f"{index}")
        requests.append(sync_request(account_id, (run.first_week, run.last_week), run_key,
                                     "daily", tags))
    return requests


def _describe(skipped: Mapping[str, str]) -> str:
    return "; ".join(f"account {account}: {reason}" for account, reason in skipped.items())


def build_daily_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(name="daily_insights_sync", cron_schedule=settings.daily_cron,
                 execution_timezone="UTC", target=SYNC_TARGET,
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="Refreshes every active account within its daily request "
                             "budget: the near weeks daily, every listing's far weeks in a "
                             "rotation (`airbnb-sync plan` shows it), in runs of at most "
                             "AIRBNB_SYNC_MAX_RUN_MINUTES.")
    def daily_insights_sync(context: dg.ScheduleEvaluationContext,
                            warehouse: WarehouseResource) -> Any:
        day = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC).date()
        registered = set(context.instance.get_dynamic_partitions(ACCOUNTS.name))
        first_syncing = frozenset(
            record.dagster_run.tags.get(ACCOUNT_TAG, "") for record in
            context.instance.get_run_records(dg.RunsFilter(
                tags={TIER_TAG: FIRST_SYNC}, statuses=[
                    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
                    dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED])))
        runs, skipped = daily_requests(settings, warehouse.accounts(settings).list(),
                                       registered, day, warehouse.engine(), first_syncing)
        if not runs:
            return dg.SkipReason(f"nothing to sync on {day}"
                                 + (f"; skipped {_describe(skipped)}" if skipped else
                                    ": no accounts are registered"))
        if skipped:
            # A tick with runs cannot carry a skip reason in Dagster: the tick log says it.
            context.log.info(f"skipped {_describe(skipped)}")
        return runs

    return daily_insights_sync


# Runs that still hold or wait for a slot.
UNFINISHED_RUNS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
                   dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def overdue_runs(instance: dg.DagsterInstance, account_ids: Iterable[str],
                 created_before: datetime) -> dict[str, int]:
    """Account -> its sync runs created before `created_before` that have not finished: a
    day's runs still waiting when the next day's come means the account's queue grows."""
    counts = {}
    for account_id in account_ids:
        runs = instance.get_run_records(dg.RunsFilter(
            tags={ACCOUNT_TAG: account_id}, statuses=UNFINISHED_RUNS,
            created_before=created_before), limit=1000)
        if runs:
            counts[account_id] = len(runs)
    return counts
