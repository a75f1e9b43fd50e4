"""What the command line needs from Dagster's instance, as plain functions and plain values.

The CLI registers and removes accounts as dynamic partitions and reads run history for
`airbnb-sync status`; every Dagster type stays in here, so the CLI imports no Dagster. The
instance is the one in `dagster_home` (the settings' DAGSTER_HOME), as `dagster` finds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from dagster import (
    AssetKey,
    AssetPartitionStatus,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    EventRecordsFilter,
    RunRecord,
    RunsFilter,
)

from airbnb_sync.airbnb.windows import reachable_horizon
from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.partitions import (
    ACCOUNTS,
    grid_first_week,
    sync_partitions,
    week_partitions,
)
from airbnb_sync.defs.schedules import overdue_runs

# Run ids asked of the run storage at a time.
RUN_BATCH = 100


def _instance(dagster_home: Path) -> DagsterInstance:
    """The instance `dagster` uses with DAGSTER_HOME=dagster_home; close it (use `with`)."""
    return DagsterInstance.from_config(str(dagster_home))


def add_account_partition(dagster_home: Path, account_id: str) -> None:
    """Make the account's weeks syncable now (the accounts sensor would add it on its next
    tick). Does nothing if it is there already."""
    with _instance(dagster_home) as instance:
        if not instance.has_dynamic_partition(ACCOUNTS.name, account_id):
            instance.add_dynamic_partitions(ACCOUNTS.name, [account_id])


def remove_account_partition(dagster_home: Path, account_id: str) -> None:
    """Forget a purged account's partitions. Does nothing if it is not there."""
    with _instance(dagster_home) as instance:
        if instance.has_dynamic_partition(ACCOUNTS.name, account_id):
            instance.delete_dynamic_partition(ACCOUNTS.name, account_id)



def overdue_runs_at(dagster_home: Path, account_ids: Iterable[str],
                    created_before: datetime) -> dict[str, int]:
    with _instance(dagster_home) as instance:
        return overdue_runs(instance, account_ids, created_before)


def horizon_weeks(settings: Settings, now: datetime) -> list[date]:
    """Weeks Airbnb serves today that are also partitions of the grid."""
    grid = {date.fromisoformat(key) for key in
            week_partitions(grid_first_week(settings, now.date()), settings.lookahead_weeks)
            .get_partition_keys(current_time=now)}
    served = reachable_horizon(now.date(), settings.lookahead_weeks, settings.horizon_days,
                               ahead_days=settings.horizon_days).weeks()
    return [week for week in served if week in grid]


@dataclass(frozen=True)
class Failure:
    """The first failed attempt of a partition since it last succeeded."""

    run_id: str | None
    failed_at: datetime | None  # when that run ended; None if Dagster no longer has the run


@dataclass(frozen=True)
class PartitionStates:
    """Per asset, as the UI shows them (Dagster's partition status cache): the keys never
    materialized and neither failed nor in progress, and the failed keys with their first
    failure."""

    missing: dict[str, set[str]]
    failed: dict[str, dict[str, Failure]]


def partition_states(settings: Settings, assets: Sequence[str], keys: Sequence[str],
                     today: date | None = None) -> PartitionStates:
    """The states of `keys` (account|week partition keys) of each of `assets`, in the grid as
    it stands on `today` (default: the real UTC day)."""
    states = PartitionStates({asset: set() for asset in assets}, {asset: {} for asset in assets})
    if not keys:
        return states
    partitions_def = sync_partitions(settings, today)
    with _instance(settings.dagster_home) as instance:
        for asset in assets:
            asset_key = AssetKey(asset)
            statuses = instance.get_status_by_partition(asset_key, keys, partitions_def) or {}
            states.missing[asset] = {key for key in keys if statuses.get(key) is None}
            failed = [key for key in keys if statuses.get(key) == AssetPartitionStatus.FAILED]
            if failed:
                states.failed[asset] = _first_failures(instance, asset_key, failed)
    return states


def _first_failures(instance: DagsterInstance, asset_key: AssetKey,
                    keys: Sequence[str]) -> dict[str, Failure]:
    """For each failed key: its first failed attempt after its last materialization.

    That, not the latest attempt, tells how long a partition has been failing: the daily
    schedule re-tries it every day, and a partition failing every day for a week must not
    look like a fresh failure each morning.
    """
    last_success = instance.get_latest_storage_id_by_partition(
        asset_key, DagsterEventType.ASSET_MATERIALIZATION, set(keys))
    floor = min((last_success.get(key, 0) for key in keys), default=0)
    planned = instance.event_log_storage.get_event_records(
        EventRecordsFilter(DagsterEventType.ASSET_MATERIALIZATION_PLANNED, asset_key=asset_key,
                           asset_partitions=list(keys), after_cursor=floor or None),
        ascending=True,
    )
    attempts = [(record.partition_key, record.run_id) for record in planned
                if record.partition_key is not None
                and record.storage_id > last_success.get(record.partition_key, 0)]
    runs = _run_records(instance, (run_id for _, run_id in attempts))
    found: dict[str, Failure] = {}
    for key, run_id in attempts:
        run = runs.get(run_id)
        if key not in found and run and run.dagster_run.status == DagsterRunStatus.FAILURE:
            found[key] = Failure(run_id, _ended(run))
    return {key: found.get(key, Failure(None, None)) for key in keys}


def _run_records(instance: DagsterInstance, run_ids: Iterable[str]) -> dict[str, RunRecord]:
    wanted = sorted(set(run_ids))
    records: dict[str, RunRecord] = {}
    for start in range(0, len(wanted), RUN_BATCH):
        filters = RunsFilter(run_ids=wanted[start:start + RUN_BATCH])
        records.update((r.dagster_run.run_id, r) for r in instance.get_run_records(filters))
    return records


def _ended(record: RunRecord) -> datetime:
    if record.end_time is not None:
        return datetime.fromtimestamp(record.end_time, UTC)
    return record.update_timestamp.astimezone(UTC)
