"""Which weeks a sync asked for by a person covers: an account and dates in, a week range out.

`airbnb-sync sync` and the REST API's `accounts/{id}/sync` take what a host types (an account
id, `--weeks N` or two dates) and must refuse a bad request in one line before Dagster sees
it: Dagster's own answer to an unknown partition is a `DagsterInvalidSubsetError` traceback.
Plain Python (no Dagster), so both front ends share the same rules and messages. The range is
made of whole weeks the daily schedule could ask for today (`RefreshPolicy.servable_range`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from airbnb_sync.accounts.store import AccountStore, InvalidAccountInput, validate_account_id
from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import Settings
from airbnb_sync.sync.refresh import RefreshPolicy, weeks_of
from airbnb_sync.warehouse.installation import with_installation_first_week

ONE_WEEK = timedelta(days=7)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_SHOWN = 40  # characters of a bad value echoed back


class SyncRequestError(ValueError):
    """A sync that cannot be started as asked; the message (one line) says why and what to do."""


class UnknownAccount(SyncRequestError):
    """The id is not a registered account (malformed, never added, or deleted)."""


class AccountNotSyncable(SyncRequestError):
    """The account is registered but must be fixed first (deactivated, session expired)."""


class BadRange(SyncRequestError):
    """The weeks asked for are malformed, reversed, or not all served by Airbnb today."""


@dataclass(frozen=True)
class SyncRange:
    """One account's contiguous weeks, named by their Sundays, both ends included."""

    account_id: str
    first_week: date
    last_week: date

    def weeks(self) -> list[date]:
        return weeks_of((self.first_week, self.last_week))

    def __str__(self) -> str:
        count = len(self.weeks())
        return (f"account {self.account_id}, weeks {self.first_week}..{self.last_week} "
                f"({count} week{'s' * (count != 1)})")


def resolve_sync_range(settings: Settings, accounts: AccountStore, account_id: str, *,
                       weeks: int | None = None, first_day: str | date | None = None,
                       last_day: str | date | None = None,
                       today: date | None = None) -> SyncRange:
    """The range to sync, or a `SyncRequestError` whose message is the one line to show.

    - `weeks=N`: the last N weeks, ending with the current week (Sunday..Saturday, UTC).
    - `first_day` and `last_day` (YYYY-MM-DD, any day): from the week holding the first
      through the week holding the last.
    - neither: the weeks the daily schedule refreshes every day (its near tier).
    Every week must be whole inside what Airbnb serves today and on the partition grid;
    the account must be registered, not deleted, active, and its session not known expired.
    """
    today = today or datetime.now(UTC).date()
    record_check(accounts, account_id)
    policy = RefreshPolicy.from_settings(with_installation_first_week(settings))
    servable = policy.servable_range(today)
    current = week_start_of(today)
    if weeks is not None and (first_day is not None or last_day is not None):
        raise BadRange("give either --weeks N or --from DATE --to DATE, not both")
    if weeks is not None:
        first, last = _last_weeks(weeks, current, servable)
    elif first_day is not None or last_day is not None:
        first, last = _between(first_day, last_day, servable)
    else:
        first = max(current - policy.lookback_weeks * ONE_WEEK, servable[0])
        last = min(current + policy.near_ahead_weeks * ONE_WEEK, servable[1])
    return SyncRange(account_id, first, last)


def record_check(accounts: AccountStore, account_id: str) -> None:
    """Refuse an account that a sync cannot run for, naming the command that fixes it."""
    try:
        validate_account_id(account_id)
    except InvalidAccountInput as exc:  # the bad id is escaped in the message
        raise UnknownAccount(f"{exc}; `airbnb-sync accounts list` shows the registered "
                             "ones") from None
    try:
        record = accounts.get(account_id)
    except InvalidAccountInput as exc:  # not found: the message names the commands
        raise UnknownAccount(str(exc)) from None
    if record.is_deleted:
        raise UnknownAccount(
            f"account {account_id} is deleted: restore it with `airbnb-sync accounts activate "
            f"{account_id}` to sync it again")
    if not record.is_active:
        raise AccountNotSyncable(
            f"account {account_id} is deactivated: `airbnb-sync accounts activate {account_id}` "
            "first")
    if record.auth_status == "expired":
        raise AccountNotSyncable(
            f"the session of account {account_id} expired: store a fresh one with `airbnb-sync "
            f"accounts update {account_id} --from-curl -` (a new Copy as cURL), then sync")


def _served(servable: tuple[date, date]) -> str:
    first, last = servable
    return (f"Airbnb serves the whole weeks from {first} through {last + timedelta(days=6)} "
            f"today (weeks starting {first} through {last})")


def _last_weeks(count: int, current: date, servable: tuple[date, date]) -> tuple[date, date]:
    if count < 1:
        raise BadRange(f"--weeks must be at least 1, got {count}")
    first = current - (count - 1) * ONE_WEEK
    if first < servable[0]:
        most = (current - servable[0]).days // 7 + 1
        raise BadRange(f"--weeks {count} would start with the week of {first}, but "
                       f"{_served(servable)}: give --weeks {most} or fewer")
    return first, current


def _between(first_day: str | date | None, last_day: str | date | None,
             servable: tuple[date, date]) -> tuple[date, date]:
    if first_day is None or last_day is None:
        raise BadRange("give --from DATE and --to DATE together (YYYY-MM-DD), or --weeks N")
    start, end = _day(first_day, "--from"), _day(last_day, "--to")
    if start > end:
        raise BadRange(f"--from {start} is after --to {end}: give the earlier day first")
    first, last = week_start_of(start), week_start_of(end)
    for option, day, week in (("--from", start, first), ("--to", end, last)):
        if not servable[0] <= week <= servable[1]:
            raise BadRange(f"{option} {day} is in the week of {week}, which is not one "
                           f"Airbnb serves whole: {_served(servable)}")
    return first, last


def _day(value: str | date, option: str) -> date:
    if isinstance(value, date):
        return value
    if not ISO_DAY.fullmatch(value):  # fromisoformat would also take 20261129, 2026-W48-1
        return _not_a_day(value, option)
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2026-02-30
        return _not_a_day(value, option)


def _not_a_day(value: str, option: str) -> date:
    shown = value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN - 3] + "..."
    raise BadRange(f"{option} {shown!r} is not a date: give a day as YYYY-MM-DD "
                   "(for example 2026-11-29)")
