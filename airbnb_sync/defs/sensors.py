"""Sensors: new accounts backfill themselves, and a person hears at once about failed runs
and expired sessions (what to tell them is `admin.alerts`)."""

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import sqlalchemy as sa

from airbnb_sync.accounts.session_times import expiring_soon
from airbnb_sync.accounts.store import AccountError, AccountRecord
from airbnb_sync.admin.alerts import (
    FailedRun,
    behind_schedule_alert,
    deliver,
    run_failed_alert,
    session_expired_alert,
    session_expiring_alert,
)
from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.partitions import ACCOUNTS, LISTINGS_TAG, RANGE_END_TAG, RANGE_START_TAG
from airbnb_sync.defs.resources import SyncClock, WarehouseResource
from airbnb_sync.defs.schedules import (
    ACCOUNT_TAG,
    PRIORITY_TAG,
    SYNC_TARGET,
    TIER_TAG,
    sync_request,
)
from airbnb_sync.sync.budget import max_run_requests
from airbnb_sync.sync.daily import account_schedules, behind_reason
from airbnb_sync.sync.planner import FIRST_SYNC, listing_order, shard_runs
from airbnb_sync.sync.refresh import RefreshPolicy, weeks_of
from airbnb_sync.warehouse.inventory import accounts_with_metrics, current_listings

SENSOR_INTERVAL_SECONDS = 30
LISTINGS_ASSET = "listings"
# A first sync's figures wait for the daily runs in the queue (higher priorities go first).
FIRST_SYNC_PRIORITY = -1000
SHARDS_MARKER = ":figures"
# A day's plan changes once a day; an hour is soon enough to see a queue grow.
SCHEDULE_SENSOR_INTERVAL_SECONDS = 3600
# Expiries are known hours ahead: a look every 10 minutes is soon enough.
EXPIRY_SENSOR_INTERVAL_SECONDS = 600


def _first_sync_marker(account: AccountRecord, dry_run: bool = False) -> str:
    # created_at makes an account that is purged and added again a new account. A first sync
    # requested in a dry run is no first sync: its own marker lets the real one follow. A
    # session restored after Airbnb refused the first one asks for the first sync again.
    marker = f"{account.account_id}@{account.created_at.isoformat()}"
    if account.session_restored_at is not None:
        marker += f"@restored:{account.session_restored_at.isoformat()}"
    return f"{marker}:dry-run" if dry_run else marker


def _needs_first_sync(account: AccountRecord) -> bool:
    """Active, never synced, and with a session that Airbnb has not refused."""
    return (account.is_active and account.last_sync_at is None
            and account.auth_status != "expired")


def _first_sync_listings(settings: Settings, accounts: list[AccountRecord], requested: set[str],
                         today: date, log: Any) -> list[dg.RunRequest]:
    """Stage 1 of a first sync: the account's listings over the first sync's weeks (one
    request), so that stage 2 knows how many listings to split into runs."""
    policy = RefreshPolicy.from_settings(settings)
    runs = []
    for account in accounts:
        marker = _first_sync_marker(account, settings.dry_run)
        if marker in requested or not _needs_first_sync(account):
            continue
        weeks = policy.first_sync_range(today, settings.first_sync_weeks)
        runs.append(sync_request(account.account_id, weeks, f"first-sync:{marker}", "first_sync",
                                 assets=[LISTINGS_ASSET]))
        requested.add(marker)
        log.info(f"first sync of account {account.account_id}: its listings over weeks "
                 f"{weeks[0]} through {weeks[1]}, then their figures in runs of bounded length")
    return runs


def _first_sync_shards(settings: Settings, engine: sa.Engine, accounts: list[AccountRecord],
                       requested: set[str], today: date, log: Any) -> list[dg.RunRequest]:
    """Stage 2 of a first sync, once its listings are stored: every listing's figures over
    the first sync's weeks, in runs of at most AIRBNB_SYNC_MAX_RUN_MINUTES of requests
    (queued after the daily runs: `dagster/priority`). Accounts with figures stored already
    (a first sync from before the stages) get none."""
    waiting = [account for account in accounts
               if _first_sync_marker(account, settings.dry_run) in requested
               and _first_sync_marker(account, settings.dry_run) + SHARDS_MARKER not in requested
               and account.is_active and account.auth_status != "expired"]
    if not waiting:
        return []
    ids = [account.account_id for account in waiting]
    stored = current_listings(engine, ids, today)
    synced = accounts_with_metrics(engine, ids)
    policy = RefreshPolicy.from_settings(settings)
    runs = []
    for account in waiting:
        listings = stored.get(account.account_id)
        if not listings or account.account_id in synced:
            continue
        first, last = policy.first_sync_range(today, settings.first_sync_weeks)
        weeks = weeks_of((first, last))
        marker = _first_sync_marker(account, settings.dry_run) + SHARDS_MARKER
        shards = shard_runs(FIRST_SYNC, weeks, listing_order(listings),
                            max_run_requests(settings))
        for index, shard in enumerate(shards):
            runs.append(sync_request(
                account.account_id, (first, last), f"first-sync:{marker}:{index}", "first_sync",
                {LISTINGS_TAG: ",".join(shard.listing_ids), TIER_TAG: FIRST_SYNC,
                 PRIORITY_TAG: str(FIRST_SYNC_PRIORITY)}))
        requested.add(marker)
        log.info(f"first sync of account {account.account_id}: {len(listings)} listings in "
                 f"{len(shards)} runs, {sum(s.requests for s in shards)} requests")
    return runs


def build_accounts_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(name="accounts_sensor", minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
               target=SYNC_TARGET, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Keeps the `accounts` partitions equal to the registered accounts and "
                           "requests each new account's first sync, once.")
    def accounts_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                        clock: SyncClock) -> dg.SensorResult:
        accounts = warehouse.accounts(settings).list()
        registered = set(context.instance.get_dynamic_partitions(ACCOUNTS.name))
        wanted = {account.account_id for account in accounts}
        partition_requests: list[Any] = []
        if wanted - registered:
            partition_requests.append(ACCOUNTS.build_add_request(sorted(wanted - registered)))
        if registered - wanted:
            partition_requests.append(ACCOUNTS.build_delete_request(sorted(registered - wanted)))

        requested = set(json.loads(context.cursor)) if context.cursor else set()
        today = clock.now().date()
        runs = [*_first_sync_listings(settings, accounts, requested, today, context.log),
                *_first_sync_shards(settings, warehouse.engine(), accounts, requested, today,
                                    context.log)]
        # Forget markers of accounts that are gone, so the cursor does not grow forever.
        current = {marker for account in accounts for marker in (
            _first_sync_marker(account, settings.dry_run),
            _first_sync_marker(account, settings.dry_run) + SHARDS_MARKER)}
        cursor = json.dumps(sorted(requested & current))
        skip = None if runs or partition_requests else "no new or removed accounts"
        return dg.SensorResult(run_requests=runs, dynamic_partitions_requests=partition_requests,
                               cursor=cursor, skip_reason=skip)

    return accounts_sensor


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


def _is_ours(context: dg.RunFailureSensorContext) -> bool:
    """A run of one of this code location's jobs (`__ASSET_JOB` for every asset selection)."""
    repository = context.repository_def
    return repository is None or repository.has_job(context.dagster_run.job_name)


def build_failure_alerts(settings: Settings) -> dg.SensorDefinition:
    # monitor_all_code_locations: a run started by `dagster asset materialize` (or any
    # execute_in_process) is stored with no code-location origin, and Dagster's filter for a
    # sensor that watches its own location only compares that missing origin with the
    # sensor's location and skips the run ("Sensor function returned an empty result").
    # So every run is looked at, and `_is_ours` keeps those of this location's jobs.
    @dg.run_failure_sensor(name="sync_failure_alerts", monitor_all_code_locations=True,
                           default_status=dg.DefaultSensorStatus.RUNNING,
                           description="Posts every failed run, and every session that expired "
                                       "in it, to AIRBNB_SYNC_ALERT_WEBHOOK.")
    def sync_failure_alerts(context: dg.RunFailureSensorContext,
                            warehouse: WarehouseResource) -> None:
        run = context.dagster_run
        if not _is_ours(context):
            return
        partitions = _run_partitions(run.tags)
        accounts = _run_accounts(run.tags, partitions)
        error_class, error = _error(context)
        run_url = f"{settings.dagster_url}/runs/{run.run_id}"
        deliver(settings.alert_webhook, run_failed_alert(FailedRun(
            run.run_id, run.job_name, accounts, partitions, error_class, error, run_url)))
        started = _run_start(context)
        store = warehouse.accounts(settings)
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

    return sync_failure_alerts


def _run_start(context: dg.RunFailureSensorContext) -> datetime | None:
    record = context.instance.get_run_record_by_id(context.dagster_run.run_id)
    if record is None or record.start_time is None:
        return None
    return datetime.fromtimestamp(record.start_time, tz=UTC)


def build_session_expiry_alerts(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(name="session_expiry_alerts",
               minimum_interval_seconds=EXPIRY_SENSOR_INTERVAL_SECONDS,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Posts a session_expiring alert to AIRBNB_SYNC_ALERT_WEBHOOK once per "
                           "known session expiry, AIRBNB_SYNC_SESSION_ALERT_HOURS before it.")
    def session_expiry_alerts(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                              clock: SyncClock) -> dg.SkipReason:
        now = clock.now()
        # The cursor holds "account@expiry" of the alerts sent: one alert per expiry, and a
        # rotated session with a new expiry is alerted again when its time comes.
        sent = set(json.loads(context.cursor)) if context.cursor else set()
        current = set()
        alerted = []
        for account in warehouse.accounts(settings).list():
            if account.auth_status == "expired" or account.session_expires_at is None \
                    or not expiring_soon(account, now, settings.session_alert_hours):
                continue
            marker = f"{account.account_id}@{account.session_expires_at.isoformat()}"
            current.add(marker)
            if marker not in sent:
                deliver(settings.alert_webhook, session_expiring_alert(
                    account.account_id, account.label, account.session_expires_at, now))
                alerted.append(account.account_id)
        context.update_cursor(json.dumps(sorted(current)))
        if alerted:
            return dg.SkipReason(f"alerted session_expiring for {', '.join(alerted)}")
        return dg.SkipReason("no session expires within "
                             f"{settings.session_alert_hours:g} hours")

    return session_expiry_alerts


def build_behind_schedule_alerts(settings: Settings) -> dg.SensorDefinition:
    from airbnb_sync.defs.schedules import overdue_runs

    @dg.sensor(name="behind_schedule_alerts",
               minimum_interval_seconds=SCHEDULE_SENSOR_INTERVAL_SECONDS,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Posts a behind_schedule alert to AIRBNB_SYNC_ALERT_WEBHOOK, once a "
                           "day per account, when an account's day does not fit its request "
                           "budget or its runs from an earlier day have not finished.")
    def behind_schedule_alerts(context: dg.SensorEvaluationContext,
                               warehouse: WarehouseResource, clock: SyncClock) -> dg.SkipReason:
        now = clock.now()
        records = [account for account in warehouse.accounts(settings).list()
                   if account.is_active]
        ids = [account.account_id for account in records]
        labels = {account.account_id: account.label for account in records}
        overdue = overdue_runs(context.instance, ids, now - timedelta(days=1))
        # The cursor holds "account@day" of the alerts sent: once a day while it lasts.
        sent = set(json.loads(context.cursor)) if context.cursor else set()
        today = now.date().isoformat()
        behind = []
        for schedule in account_schedules(settings, warehouse.engine(), ids, now.date(), 1):
            account_id = schedule.account_id or ""
            reason = behind_reason(schedule, overdue.get(account_id, 0))
            if reason is None:
                continue
            behind.append(account_id)
            marker = f"{account_id}@{today}"
            if marker not in sent:
                plan = {**schedule.as_dict(), "overdue_runs": overdue.get(account_id, 0)}
                deliver(settings.alert_webhook, behind_schedule_alert(
                    account_id, labels.get(account_id), reason, plan))
                sent.add(marker)
        context.update_cursor(json.dumps(sorted(m for m in sent if m.endswith(today))))
        if behind:
            return dg.SkipReason(f"behind schedule: {', '.join(behind)}")
        return dg.SkipReason("every account's day fits its budget")

    return behind_schedule_alerts
