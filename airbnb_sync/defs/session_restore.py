"""A session restored after Airbnb refused the old one: tell a person, and fetch what the
schedule skipped meanwhile.

The daily schedule leaves expired accounts out, so every tick of the outage missed its weeks.
The account store records a restore when fresh cookies replace a refused session (from the
CLI, the API, an invite link or the browser companion); on its next tick this sensor posts a
`session_restored` alert and requests the weeks those ticks would have fetched, clipped to
what Airbnb serves today (`RefreshPolicy.missed_weeks`): per contiguous range, runs of at most
AIRBNB_SYNC_MAX_RUN_MINUTES of requests, by listings, as the daily runs are (a big account's
catch-up would otherwise be one run of days). An account that never synced gets its first
sync from the accounts sensor instead.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import dagster as dg

from airbnb_sync.accounts.store import AccountRecord
from airbnb_sync.admin.alerts import deliver, session_restored_alert
from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.partitions import ACCOUNTS, LISTINGS_TAG
from airbnb_sync.defs.resources import SyncClock, WarehouseResource
from airbnb_sync.defs.schedules import SYNC_TARGET, TIER_TAG, sync_request
from airbnb_sync.sync.budget import max_run_requests
from airbnb_sync.sync.planner import listing_order, shard_runs
from airbnb_sync.sync.refresh import MissedWeeks, RefreshPolicy, WeekRange, weeks_of
from airbnb_sync.warehouse.inventory import current_listings

SENSOR_NAME = "session_restored_sensor"
SENSOR_INTERVAL_SECONDS = 30
TRIGGER = "session_restored"
# After a week of daily ticks every week of the lookahead has been refreshed again (the far
# blocks rotate within 7 days): an older restore that was never handled has nothing to add.
RESTORE_WINDOW = timedelta(days=7)


def restore_marker(account: AccountRecord) -> str | None:
    """One marker per restore; None when the account holds none."""
    if account.session_restored_at is None:
        return None
    return f"{account.account_id}@{account.session_restored_at.isoformat()}"


def _missed(policy: RefreshPolicy, account: AccountRecord, now: datetime) -> MissedWeeks:
    started = account.outage_started_at or account.session_restored_at or now
    return policy.missed_weeks(started.date(), now.date())


def catch_up_requests(settings: Settings, account_id: str, marker: str, weeks: WeekRange,
                      listing_ids: list[str] | None) -> list[dg.RunRequest]:
    """One missed range's runs: by listings within the run bound, or one run for the whole
    account when no listing is stored yet (its `listings` step finds them)."""
    run_key = f"{TRIGGER}:{marker}:{weeks[0]}..{weeks[1]}"
    if not listing_ids:
        return [sync_request(account_id, weeks, run_key, TRIGGER)]
    shards = shard_runs(TRIGGER, weeks_of(weeks), listing_order(listing_ids),
                        max_run_requests(settings))
    return [sync_request(account_id, weeks, f"{run_key}:{index}", TRIGGER,
                         {LISTINGS_TAG: ",".join(shard.listing_ids), TIER_TAG: TRIGGER})
            for index, shard in enumerate(shards)]


def build_session_restored_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(name=SENSOR_NAME, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
               target=SYNC_TARGET, default_status=dg.DefaultSensorStatus.RUNNING,
               description="When a fresh session replaces one Airbnb refused, posts a "
                           "session_restored alert to AIRBNB_SYNC_ALERT_WEBHOOK and fetches "
                           "the weeks the schedule skipped during the outage.")
    def session_restored_sensor(context: dg.SensorEvaluationContext,
                                warehouse: WarehouseResource,
                                clock: SyncClock) -> dg.SensorResult:
        now = clock.now()
        handled = set(json.loads(context.cursor)) if context.cursor else set()
        registered = set(context.instance.get_dynamic_partitions(ACCOUNTS.name))
        policy = RefreshPolicy.from_settings(settings)
        current: set[str] = set()
        runs: list[dg.RunRequest] = []
        notes: list[str] = []
        for account in warehouse.accounts(settings).list():
            marker = restore_marker(account)
            if marker is None or account.session_restored_at is None:
                continue
            current.add(marker)
            if marker in handled or now - account.session_restored_at > RESTORE_WINDOW:
                continue
            if account.auth_status == "expired":
                # Airbnb refused the new session too: still an outage, nothing restored.
                handled.add(marker)
                notes.append(f"account {account.account_id}: the new session was refused too")
                continue
            wants_runs = account.is_active and account.last_sync_at is not None
            if wants_runs and account.account_id not in registered:
                notes.append(f"account {account.account_id}: not yet a partition, next tick")
                continue  # the accounts sensor adds it; handled on a later tick
            missed = _missed(policy, account, now)
            ranges = missed.ranges if wants_runs else []
            stored = (current_listings(warehouse.engine(), [account.account_id], now.date())
                      if ranges else {})
            for weeks in ranges:
                runs.extend(catch_up_requests(settings, account.account_id, marker, weeks,
                                              stored.get(account.account_id)))
            deliver(settings.alert_webhook, session_restored_alert(
                account.account_id, account.label, account.session_restored_at,
                account.outage_started_at, ranges, missed.lost if wants_runs else []))
            handled.add(marker)
            notes.append(f"account {account.account_id}: restored, {len(ranges)} catch-up "
                         "run(s)" + ("" if wants_runs else
                                     " (inactive or never synced: the schedule or the first "
                                     "sync takes it from here)"))
        # Forget restores that are gone (purged accounts, or replaced by a newer restore).
        cursor = json.dumps(sorted(handled & current))
        if runs:
            context.log.info("; ".join(notes))
            return dg.SensorResult(run_requests=runs, cursor=cursor)
        return dg.SensorResult(skip_reason="; ".join(notes) or "no restored session",
                               cursor=cursor)

    return session_restored_sensor
