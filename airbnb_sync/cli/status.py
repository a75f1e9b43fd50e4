"""`airbnb-sync status`: one screen for operators, and a health check by its exit code.

Per account: the session's state, the last complete sync, the weeks of the reachable horizon
that are missing or whose latest attempt failed (as the Dagster UI shows them), and the
requests sent to Airbnb in the last 24 hours. Exit 1 when a person must act: an active
account's session expired, a partition has been failing for more than a day (its first
failure since it last succeeded is older than 24 h: Dagster's retries and the daily schedule
had their chance), or an account is behind schedule (not even its near weeks fit its daily
request budget, or runs queued more than a day ago have not finished).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airbnb_sync.accounts.session_times import describe as describe_session
from airbnb_sync.accounts.session_times import session_details
from airbnb_sync.cli.common import EXIT_FAILED, EXIT_OK, BadInput, Command, set_handler
from airbnb_sync.core.settings import Settings

if TYPE_CHECKING:
    from airbnb_sync.accounts.store import AccountRecord

STALE_FAILURE = timedelta(days=1)
REQUEST_WINDOW = timedelta(hours=24)
SHOWN_RANGES = 3
EARLIEST_NOW = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_NOW = datetime(9000, 12, 31, tzinfo=UTC)


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
    # The day's plan against the budget (sync/daily.py), and runs left from earlier days.
    schedule: dict[str, Any] = field(default_factory=dict)
    behind: str | None = None

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
            "session": session_details(record, now),
            "schedule": {**self.schedule, "behind_schedule": self.behind is not None,
                         "behind_reason": self.behind},
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


def collect_status(settings: Settings, now: datetime,
                   only_account: str | None = None) -> StatusReport:
    """The accounts from the warehouse, their partitions' states from Dagster's instance."""
    from airbnb_sync.accounts.store import open_store
    from airbnb_sync.datasets import dataset_names
    from airbnb_sync.defs.partitions import partition_key
    from airbnb_sync.instance.access import horizon_weeks, overdue_runs_at, partition_states
    from airbnb_sync.sync.daily import account_schedules, behind_reason
    from airbnb_sync.warehouse.installation import with_installation_first_week
    from airbnb_sync.warehouse.request_counts import requests_since

    store = open_store(settings)
    # The grid never starts before the installation's persisted first week, as in the code
    # location.
    settings = with_installation_first_week(settings)
    records = store.list()
    if only_account is not None:
        records = [record for record in records if record.account_id == only_account]
        if not records:
            raise BadInput(f"no account {only_account}; `airbnb-sync accounts list` shows them")
    weeks = horizon_weeks(settings, now)
    counts = requests_since(store.engine, now - REQUEST_WINDOW, until=now)
    key_of = {(record.account_id, week): partition_key(record.account_id, week)
              for record in records for week in weeks}
    assets = dataset_names()  # the synced assets
    states = partition_states(settings, assets, list(key_of.values()), now.date())
    active = [record.account_id for record in records if record.is_active]
    schedules = {schedule.account_id: schedule for schedule in
                 account_schedules(settings, store.engine, active, now.date(), 1)}
    overdue = overdue_runs_at(settings.dagster_home, active, now - STALE_FAILURE)
    accounts = []
    for record in records:
        status = AccountStatus(record, requests_24h=counts.get(record.account_id, 0))
        schedule = schedules.get(record.account_id)
        if schedule is not None:
            plan = schedule.as_dict()
            status.schedule = {key: plan[key] for key in (
                "listings", "budget", "budget_planned", "max_staleness_days")}
            status.schedule["requests_planned_today"] = plan["requests_per_day"][0]
            status.schedule["overdue_runs"] = overdue.get(record.account_id, 0)
            status.behind = behind_reason(schedule, overdue.get(record.account_id, 0))
        for week in weeks:
            key = key_of[(record.account_id, week)]
            failures = {asset: states.failed[asset][key] for asset in assets
                        if key in states.failed[asset]}
            if failures:
                # The oldest failure decides; an unknown time counts as old.
                first = min(failures.values(), key=lambda f: (
                    f.failed_at is not None, f.failed_at or datetime.min.replace(tzinfo=UTC)))
                status.failed.append(FailedWeek(week, tuple(failures), first.failed_at,
                                                first.run_id))
            elif any(key in states.missing[asset] for asset in assets):
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
    if status.behind is not None:
        problems.append(f"account {record.account_id}: behind schedule: {status.behind}")
    if record.auth_status == "expired":
        since = f" since {_when(record.auth_checked_at)}" if record.auth_checked_at else ""
        problems.append(
            f"account {record.account_id}: Airbnb session expired{since}; refresh it with "
            f"`airbnb-sync accounts update {record.account_id} --cookie-file -`")
    elif record.session_expires_at is not None and record.session_expires_at <= now:
        problems.append(
            f"account {record.account_id}: its Airbnb session expired at "
            f"{_when(record.session_expires_at)}; refresh it with `airbnb-sync accounts update "
            f"{record.account_id} --from-curl -`")
    stale = [f for f in status.failed if f.older_than(now, STALE_FAILURE)]
    if stale:
        first, last = stale[0].week, stale[-1].week
        problems.append(
            f"account {record.account_id}: {len(stale)} partition(s) failing for more than a "
            f"day ({_describe([f.week for f in stale])}); see why in the failed runs in the "
            "Dagster UI, fix it, then re-run them: airbnb-sync sync "
            f"{record.account_id} --from {first} --to {last}")
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
            lines.append(f"  {account_id} session: {describe_session(account.record, report.now)}")
            if account.schedule:
                plan = account.schedule
                listings = "unknown" if plan["listings"] is None else plan["listings"]
                stale = plan["max_staleness_days"]
                lines.append(f"  {account_id} plan: {listings} listings, "
                             f"{plan['requests_planned_today']} of {plan['budget']} requests "
                             "today" + (f", every week within {stale} days" if stale else "")
                             + (" - BEHIND SCHEDULE" if account.behind else ""))
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
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not EARLIEST_NOW <= moment <= LATEST_NOW:  # the horizon's arithmetic must stay in range
        raise argparse.ArgumentTypeError(
            f"{raw!r} is out of range: give a time between {EARLIEST_NOW:%Y-%m-%d} and "
            f"{LATEST_NOW:%Y-%m-%d}")
    return moment


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--account", metavar="ID", help="only this account")
    parser.add_argument("--now", type=_moment, metavar="TIME",
                        help="judge as of this UTC time (ISO 8601) instead of now, e.g. to "
                             "replay a health check")
    set_handler(parser, run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    now: datetime = args.now or datetime.now(UTC)
    from airbnb_sync.cli.installation import describe, hidden_url

    report = collect_status(settings, now, only_account=args.account)
    if args.json:
        # Which installation was judged: a health check must not pass for the wrong one.
        data = {**report.as_dict(), "warehouse": hidden_url(settings.database_url),
                "dagster_home": str(settings.dagster_home)}
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(f"reading {describe(settings)}")
        print(render_text(report))
    return EXIT_FAILED if report.problems else EXIT_OK


COMMAND = Command("per-account health for operators; exit 1 when a person must act", configure,
                  own_parser=True)
