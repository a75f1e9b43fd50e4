"""The daily schedule: every active account refreshed under the tiered policy.

Which weeks to ask for is `sync.refresh.RefreshPolicy`; this module turns its ranges into run
requests. Every run covers one account's contiguous range of weeks (range tags; README: How it
works) and carries the account in `ACCOUNT_TAG`.
"""


from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from airbnb_sync.accounts.store import AccountRecord
from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.assets import SYNCED_ASSETS
from airbnb_sync.defs.partitions import ACCOUNTS, range_tags
from airbnb_sync.defs.resources import WarehouseResource
from airbnb_sync.sync.refresh import RefreshPolicy, WeekRange

ACCOUNT_TAG = "airbnb_sync/account"
TRIGGER_TAG = "airbnb_sync/trigger"
SYNC_TARGET = dg.AssetSelection.assets(*SYNCED_ASSETS)


def sync_request(account_id: str, weeks: WeekRange, run_key: str,
                 trigger: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key,
        tags={**range_tags(account_id, *weeks), ACCOUNT_TAG: account_id, TRIGGER_TAG: trigger},
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
                   registered: set[str], day: date) -> tuple[list[dg.RunRequest], dict[str, str]]:
    """Today's runs under the tiered policy, and the accounts skipped with their reason."""
    policy = RefreshPolicy.from_settings(settings)
    runs: list[dg.RunRequest] = []
    skipped: dict[str, str] = {}
    for account in accounts:
        reason = _skip_reason(account, registered)
        if reason:
            skipped[account.account_id] = reason
            continue
        for weeks in policy.daily_ranges(day):
            run_key = f"daily:{day}:{account.account_id}:{weeks[0]}..{weeks[1]}"
            runs.append(sync_request(account.account_id, weeks, run_key, "daily"))
    return runs, skipped


def _describe(skipped: Mapping[str, str]) -> str:
    return "; ".join(f"account {account}: {reason}" for account, reason in skipped.items())


def build_daily_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(name="daily_insights_sync", cron_schedule=settings.daily_cron,
                 execution_timezone="UTC", target=SYNC_TARGET,
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="Refreshes every active account: the near weeks daily, the far "
                             "weeks in rotating blocks (AIRBNB_SYNC_FAR_REFRESH_DAYS).")
    def daily_insights_sync(context: dg.ScheduleEvaluationContext,
                            warehouse: WarehouseResource) -> Any:
        day = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC).date()
        registered = set(context.instance.get_dynamic_partitions(ACCOUNTS.name))
        runs, skipped = daily_requests(settings, warehouse.accounts(settings).list(),
                                       registered, day)
        if not runs:
            return dg.SkipReason(f"nothing to sync on {day}"
                                 + (f"; skipped {_describe(skipped)}" if skipped else
                                    ": no accounts are registered"))
        if skipped:
            # A tick with runs cannot carry a skip reason in Dagster: the tick log says it.
            context.log.info(f"skipped {_describe(skipped)}")
        return runs

    return daily_insights_sync
