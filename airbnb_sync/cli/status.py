"""`airbnb-sync status`: one screen for operators, and a health check by its exit code.

Per account: the session's state, the last complete sync, the weeks of the reachable horizon
that are missing or whose latest attempt failed (as the Dagster UI shows them), and the
requests sent to Airbnb in the last 24 hours. Exit 1 when a person must act: an active
account's session expired, or a partition has been failing for more than a day (its first
failure since it last succeeded is older than 24 h: Dagster's retries and the daily schedule
had their chance).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

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

from airbnb_sync.accounts.store import AccountRecord, open_store
from airbnb_sync.airbnb.windows import reachable_horizon
from airbnb_sync.cli.main import EXIT_FAILED, EXIT_OK, BadInput, settings_from_environment
from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.partitions import partition_key, sync_partitions, week_partitions
from airbnb_sync.warehouse.request_counts import requests_since

ASSETS = ("listings", "conversion_metrics", "visibility_metrics")
STALE_FAILURE = timedelta(days=1)
REQUEST_WINDOW = timedelta(hours=24)
SHOWN_RANGES = 3
RUN_BATCH = 100


@dataclass(frozen=True)
class FailedWeek:
    """A week whose latest attempt failed for at least one asset, failing since its first
    failure after its last success."""

    week: date
    assets: tuple[str, ...]
    failed_at: datetime | None  # first failure since the last success; None: unknown
    run_id: str | None

    def older_than(self, now: datetime, age: timedelta) -> bool:
        return self.failed_at is None or now - self.failed_at > age

    def as_dict(self) -> dict[str, Any]:
        return {"week": self.week.isoformat(), "assets": list(self.assets),
                "failing_since": _iso(self.failed_at), "first_failed_run_id": self.run_id}


@dataclass
class AccountStatus:
    record: AccountRecord
    requests_24h: int = 0
    missing: list[date] = field(default_factory=list)
    failed: list[FailedWeek] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self, now: datetime) -> dict[str, Any]:
        record = self.record
        return {
            "account_id": record.account_id,
            "label": record.label,
            "state": "active" if record.is_active else "inactive",
            "auth_status": record.auth_status,
            "auth_expired_at": _iso(record.auth_checked_at)
            if record.auth_status == "expired" else None,
            "last_sync_at": _iso(record.last_sync_at),
            "requests_24h": self.requests_24h,
            "missing": {"count": len(self.missing),
                        "weeks": [week.isoformat() for week in self.missing]},
            "failed": {"count": len(self.failed),
                       "older_than_a_day": sum(f.older_than(now, STALE_FAILURE)
                                               for f in self.failed),
                       "partitions": [f.as_dict() for f in self.failed]},
            "problems": self.problems,
        }


@dataclass
class StatusReport:
    now: datetime
    weeks: list[date]
    accounts: list[AccountStatus]

    @property
    def problems(self) -> list[str]:
        return [problem for account in self.accounts for problem in account.problems]

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": _iso(self.now),
            "healthy": not self.problems,
            "horizon": {"first_week": _iso_day(self.weeks[0] if self.weeks else None),
                        "last_week": _iso_day(self.weeks[-1] if self.weeks else None),
                        "weeks": len(self.weeks)},
            "accounts": [account.as_dict(self.now) for account in self.accounts],
            "problems": self.problems,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _iso_day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# --- gathering -------------------------------------------------------------------------------


def horizon_weeks(now: datetime, first_week: date, lookahead_weeks: int) -> list[date]:
    """Weeks Airbnb serves today that are also partitions of the grid."""
    grid = {date.fromisoformat(key) for key in
            week_partitions(first_week, lookahead_weeks).get_partition_keys(current_time=now)}
    served = reachable_horizon(now.date(), lookahead_weeks).weeks()
    return [week for week in served if week in grid]


@dataclass(frozen=True)
class Failure:
    """The first failed attempt of a partition since it last succeeded."""

    run_id: str | None
    failed_at: datetime | None  # when that run ended; None if Dagster no longer has the run


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


def first_failures(instance: DagsterInstance, asset_key: AssetKey,
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


def partition_states(instance: DagsterInstance, settings: Settings, keys: Sequence[str]
                     ) -> tuple[dict[str, set[str]], dict[str, dict[str, Failure]]]:
    """Per asset, as the UI shows them (Dagster's partition status cache): the keys never
    materialized and neither failed nor in progress, and the failed keys with their first
    failure. Returns (asset -> missing keys, asset -> {failed key: failure})."""
    partitions_def = sync_partitions(settings)
    missing: dict[str, set[str]] = {asset: set() for asset in ASSETS}
    failed: dict[str, dict[str, Failure]] = {asset: {} for asset in ASSETS}
    if not keys:
        return missing, failed
    for asset in ASSETS:
        asset_key = AssetKey(asset)
        statuses = instance.get_status_by_partition(asset_key, keys, partitions_def) or {}
        missing[asset] = {key for key in keys if statuses.get(key) is None}
        failed_keys = [key for key in keys if statuses.get(key) == AssetPartitionStatus.FAILED]
        if failed_keys:
            failed[asset] = first_failures(instance, asset_key, failed_keys)
    return missing, failed


def collect_status(settings: Settings, instance: DagsterInstance, now: datetime,
                   only_account: str | None = None) -> StatusReport:
    store = open_store(settings)
    records = store.list()
    if only_account is not None:
        records = [record for record in records if record.account_id == only_account]
        if not records:
            raise BadInput(f"no account {only_account}; `airbnb-sync accounts list` shows them")
    weeks = horizon_weeks(now, settings.first_week, settings.lookahead_weeks)
    counts = requests_since(store.engine, now - REQUEST_WINDOW, until=now)
    key_of = {(record.account_id, week): partition_key(record.account_id, week)
              for record in records for week in weeks}
    missing, failed = partition_states(instance, settings, list(key_of.values()))
    accounts = []
    for record in records:
        status = AccountStatus(record, requests_24h=counts.get(record.account_id, 0))
        for week in weeks:
            key = key_of[(record.account_id, week)]
            failures = {asset: failed[asset][key] for asset in ASSETS if key in failed[asset]}
            if failures:
                # The oldest failure decides; an unknown time counts as old.
                first = min(failures.values(), key=lambda f: (
                    f.failed_at is not None, f.failed_at or datetime.min.replace(tzinfo=UTC)))
                status.failed.append(FailedWeek(week, tuple(failures), first.failed_at,
                                                first.run_id))
            elif any(key in missing[asset] for asset in ASSETS):
                status.missing.append(week)
        status.problems = _problems(status, now)
        accounts.append(status)
    return StatusReport(now, weeks, accounts)


def _problems(status: AccountStatus, now: datetime) -> list[str]:
    """What needs a person, each with the fix. Inactive accounts need nobody."""
    record = status.record
    if not record.is_active:
        return []
    problems = []
    if record.auth_status == "expired":
        since = f" since {_when(record.auth_checked_at)}" if record.auth_checked_at else ""
        problems.append(
            f"account {record.account_id}: Airbnb session expired{since}; refresh it with "
            f"`airbnb-sync accounts update {record.account_id} --cookie-file -`")
    stale = [f for f in status.failed if f.older_than(now, STALE_FAILURE)]
    if stale:
        first, last = stale[0].week, stale[-1].week
        problems.append(
            f"account {record.account_id}: {len(stale)} partition(s) failing for more than a "
            f"day ({_describe([f.week for f in stale])}); see why in the failed runs in the "
            "Dagster UI, fix it, then re-run them: dagster asset materialize -m "
            "airbnb_sync.definitions --select listings,conversion_metrics,visibility_metrics "
            f"--partition-range '{record.account_id}|{first}...{record.account_id}|{last}'")
    return problems


# --- output ----------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _describe(weeks: Sequence[date], limit: int = SHOWN_RANGES) -> str:
    """Consecutive weeks as ranges, the first `limit` of them: '2025-11-02..2025-12-28, ...'."""
    runs: list[list[date]] = []
    for week in weeks:
        if runs and week - runs[-1][-1] == timedelta(weeks=1):
            runs[-1].append(week)
        else:
            runs.append([week])
    parts = [str(run[0]) if len(run) == 1 else f"{run[0]}..{run[-1]}" for run in runs[:limit]]
    if len(runs) > limit:
        parts.append(f"+{len(runs) - limit} more ranges")
    return ", ".join(parts)


def render_text(report: StatusReport) -> str:
    span = (f"{report.weeks[0]}..{report.weeks[-1]} ({len(report.weeks)} weeks)"
            if report.weeks else "no weeks")
    lines = [f"airbnb-sync status at {_when(report.now)}; horizon {span}"]
    if not report.accounts:
        lines.append("no accounts; register one with `airbnb-sync accounts add`")
    else:
        lines.append(f"{'account':<20} {'state':<8} {'auth':<8} {'last sync':<20} "
                     f"{'missing':>7} {'failed':>6} {'req 24h':>7}  label")
        for account in report.accounts:
            record = account.record
            lines.append(
                f"{record.account_id:<20} {'active' if record.is_active else 'inactive':<8} "
                f"{record.auth_status:<8} {_when(record.last_sync_at):<20} "
                f"{len(account.missing):>7} {len(account.failed):>6} "
                f"{account.requests_24h:>7}  {record.label or ''}".rstrip())
        for account in report.accounts:
            account_id = account.record.account_id
            if account.failed:
                lines.append(f"  {account_id} failed: {_describe([f.week for f in account.failed])}"
                             f" (failing since {_when(_oldest(account.failed))})")
            if account.missing:
                lines.append(f"  {account_id} missing: {_describe(account.missing)}")
    if report.problems:
        lines.append("needs a person:")
        lines.extend(f"  {problem}" for problem in report.problems)
    else:
        lines.append("ok: nothing needs a person")
    return "\n".join(lines)


def _oldest(failed: Sequence[FailedWeek]) -> datetime | None:
    known = [f.failed_at for f in failed if f.failed_at is not None]
    return min(known) if known else None


# --- command ---------------------------------------------------------------------------------


def _moment(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not an ISO 8601 time such as 2026-05-01T12:00:00+00:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--account", metavar="ID", help="only this account")
    parser.add_argument("--now", type=_moment, metavar="TIME",
                        help="judge as of this UTC time (ISO 8601) instead of now, e.g. to "
                             "replay a health check")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_environment()
    now: datetime = args.now or datetime.now(UTC)
    with DagsterInstance.get() as instance:
        report = collect_status(settings, instance, now, only_account=args.account)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    else:
        print(render_text(report))
    return EXIT_FAILED if report.problems else EXIT_OK
