"""Schedules and sensors: new accounts backfill themselves, active ones refresh daily, and
a person hears at once about failed runs and expired sessions.

The Dagster objects are thin: which weeks to ask for is `refresh.RefreshPolicy`, what to tell
people is `alerts`. Every run they request covers one account's contiguous range of weeks
(range tags, DESIGN.md §2) and carries the account in `ACCOUNT_TAG`.
"""

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from airbnb_sync.accounts.store import AccountError, AccountRecord, open_store
from airbnb_sync.admin.alerts import FailedRun, deliver, run_failed_alert, session_expired_alert
from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.defs.partitions import ACCOUNTS, RANGE_END_TAG, RANGE_START_TAG, range_tags
from airbnb_sync.defs.resources import AirbnbSyncResource
from airbnb_sync.sync.refresh import RefreshPolicy, WeekRange

ACCOUNT_TAG = "airbnb_sync/account"
TRIGGER_TAG = "airbnb_sync/trigger"
SYNCED_ASSETS = ("listings", "conversion_metrics", "visibility_metrics")
SYNC_TARGET = dg.AssetSelection.assets(*SYNCED_ASSETS)
SENSOR_INTERVAL_SECONDS = 30


def sync_request(account_id: str, weeks: WeekRange, run_key: str,
                 trigger: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key,
        tags={**range_tags(account_id, *weeks), ACCOUNT_TAG: account_id, TRIGGER_TAG: trigger},
    )


# --- accounts_sensor -----------------------------------------------------------------------


def _first_sync_marker(account: AccountRecord) -> str:
    # created_at makes an account that is purged and added again a new account.
    return f"{account.account_id}@{account.created_at.isoformat()}"


def _needs_first_sync(account: AccountRecord) -> bool:
    """Active, never synced, and with a session that Airbnb has not refused."""
    return (account.is_active and account.last_sync_at is None
            and account.auth_status != "expired")


@dg.sensor(name="accounts_sensor", minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
           target=SYNC_TARGET, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Keeps the `accounts` partitions equal to the registered accounts and "
                       "requests each new account's first sync, once.")
def accounts_sensor(context: dg.SensorEvaluationContext,
                    airbnb_sync: AirbnbSyncResource) -> dg.SensorResult:
    settings = airbnb_sync.core.settings()
    accounts = open_store(settings).list()
    registered = set(context.instance.get_dynamic_partitions(ACCOUNTS.name))
    wanted = {account.account_id for account in accounts}
    partition_requests: list[Any] = []
    if wanted - registered:
        partition_requests.append(ACCOUNTS.build_add_request(sorted(wanted - registered)))
    if registered - wanted:
        partition_requests.append(ACCOUNTS.build_delete_request(sorted(registered - wanted)))

    requested = set(json.loads(context.cursor)) if context.cursor else set()
    policy = RefreshPolicy.from_settings(settings)
    today = airbnb_sync.now().date()
    runs = []
    for account in accounts:
        marker = _first_sync_marker(account)
        if marker in requested or not _needs_first_sync(account):
            continue
        weeks = policy.first_sync_range(today, settings.first_sync_weeks)
        runs.append(sync_request(account.account_id, weeks, f"first-sync:{marker}",
                                 "first_sync"))
        requested.add(marker)
        context.log.info(f"first sync of account {account.account_id}: weeks {weeks[0]} "
                         f"through {weeks[1]}")
    # Forget markers of accounts that are gone, so the cursor does not grow forever.
    current = {_first_sync_marker(account) for account in accounts}
    cursor = json.dumps(sorted(requested & current))
    skip = None if runs or partition_requests else "no new or removed accounts"
    return dg.SensorResult(run_requests=runs, dynamic_partitions_requests=partition_requests,
                           cursor=cursor, skip_reason=skip)


# --- daily_insights_sync -------------------------------------------------------------------


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
    def daily_insights_sync(context: dg.ScheduleEvaluationContext) -> Any:
        settings = load_settings()
        day = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC).date()
        registered = set(context.instance.get_dynamic_partitions(ACCOUNTS.name))
        runs, skipped = daily_requests(settings, open_store(settings).list(), registered, day)
        if not runs:
            return dg.SkipReason(f"nothing to sync on {day}"
                                 + (f"; skipped {_describe(skipped)}" if skipped else
                                    ": no accounts are registered"))
        if skipped:
            # A tick with runs cannot carry a skip reason in Dagster: the tick log says it.
            context.log.info(f"skipped {_describe(skipped)}")
        return runs

    return daily_insights_sync


# --- sync_failure_alerts -------------------------------------------------------------------


def _run_partitions(tags: Mapping[str, str]) -> dict[str, str]:
    if RANGE_START_TAG in tags:
        return {"start": tags[RANGE_START_TAG], "end": tags.get(RANGE_END_TAG, "")}
    if "dagster/partition" in tags:
        return {"start": tags["dagster/partition"], "end": tags["dagster/partition"]}
    return {}


def _run_accounts(tags: Mapping[str, str], partitions: Mapping[str, str]) -> list[str]:
    if ACCOUNT_TAG in tags:
        return [tags[ACCOUNT_TAG]]
    return sorted({key.split("|")[0] for key in partitions.values() if "|" in key})


def _error(context: dg.RunFailureSensorContext) -> tuple[str, str]:
    """The failed step's error class (ours, from the Failure metadata, when it says one)."""
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        metadata = data.user_failure_data.metadata if data.user_failure_data else {}
        classes = metadata.get("error_classes")
        if classes is not None and getattr(classes, "value", None):
            names = sorted(set(classes.value.values()))
            message = data.user_failure_data.description or ""
            return ", ".join(names), message
        if data.error is not None:
            return data.error.cls_name or "Error", data.error.message
    return "RunFailure", context.failure_event.message or ""


@dg.run_failure_sensor(name="sync_failure_alerts", monitor_all_code_locations=False,
                       default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Posts every failed run, and every session that expired "
                                   "in it, to AIRBNB_SYNC_ALERT_WEBHOOK.")
def sync_failure_alerts(context: dg.RunFailureSensorContext) -> None:
    settings = load_settings()
    run = context.dagster_run
    partitions = _run_partitions(run.tags)
    accounts = _run_accounts(run.tags, partitions)
    error_class, error = _error(context)
    run_url = f"{settings.dagster_url}/runs/{run.run_id}"
    deliver(settings.alert_webhook, run_failed_alert(
        FailedRun(run.run_id, run.job_name, accounts, partitions, error_class, error, run_url)))
    started = _run_start(context)
    store = open_store(settings)
    for account_id in accounts:
        try:
            account = store.get(account_id)
        except AccountError:
            continue  # purged since
        expired_at = account.auth_checked_at
        if account.auth_status == "expired" and expired_at and (started is None
                                                                 or expired_at >= started):
            deliver(settings.alert_webhook, session_expired_alert(
                account_id, account.label, expired_at, run.run_id, run_url))


def _run_start(context: dg.RunFailureSensorContext) -> datetime | None:
    record = context.instance.get_run_record_by_id(context.dagster_run.run_id)
    if record is None or record.start_time is None:
        return None
    return datetime.fromtimestamp(record.start_time, tz=UTC)


def build_automation(settings: Settings) -> tuple[list[dg.ScheduleDefinition],
                                                  list[dg.SensorDefinition]]:
    return [build_daily_schedule(settings)], [accounts_sensor, sync_failure_alerts]
