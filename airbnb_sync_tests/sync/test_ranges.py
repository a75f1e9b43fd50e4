"""What a person's sync request resolves to, and the one line each bad request gets."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet, MultiFernet

from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.cookies import SessionCookies
from airbnb_sync.core.settings import load_settings
from airbnb_sync.sync.ranges import (
    AccountNotSyncable,
    BadRange,
    SyncRange,
    UnknownAccount,
    resolve_sync_range,
)
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head

ACCOUNT = "41234567"
VERSION = "0123456789abcdef0123456789abcdef01234567"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"
TUESDAY = date(2026, 12, 1)  # the current week starts on Sunday 2026-11-29
CURRENT = date(2026, 11, 29)


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_to_head(engine)
    store = AccountStore(engine, MultiFernet([Fernet(Fernet.generate_key())]))
    attributes = quote(json.dumps({"id_str": ACCOUNT}))
    cookies = SessionCookies.parse(f"_aat=secret-value; _user_attributes={attributes}")
    store.add(ACCOUNT, cookies, VERSION, AGENT)
    return store


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings({"DAGSTER_HOME": str(tmp_path),
                          "AIRBNB_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}",
                          "AIRBNB_SYNC_FIRST_WEEK": "2025-01-05"})


def resolve(settings, store: AccountStore, account: str = ACCOUNT, **kwargs) -> SyncRange:
    return resolve_sync_range(settings, store, account, today=TUESDAY, **kwargs)


def test_weeks_n_are_the_last_n_weeks_ending_with_the_current_one(settings, store) -> None:
    found = resolve(settings, store, weeks=4)
    assert found == SyncRange(ACCOUNT, CURRENT - timedelta(weeks=3), CURRENT)
    assert len(found.weeks()) == 4
    assert resolve(settings, store, weeks=1).weeks() == [CURRENT]


def test_dates_cover_the_weeks_that_hold_them(settings, store) -> None:
    found = resolve(settings, store, first_day="2026-11-04", last_day="2026-12-12")
    assert (found.first_week, found.last_week) == (date(2026, 11, 1), date(2026, 12, 6))
    future = resolve(settings, store, first_day=date(2027, 1, 3), last_day=date(2027, 1, 9))
    assert future.weeks() == [date(2027, 1, 3)]


def test_without_a_range_it_is_the_weeks_the_schedule_refreshes_daily(settings, store) -> None:
    found = resolve(settings, store)  # one week back through four ahead (the near tier)
    assert (found.first_week, found.last_week) == (CURRENT - timedelta(weeks=1),
                                                   CURRENT + timedelta(weeks=4))


def test_the_whole_served_range_is_accepted_and_one_week_more_is_not(settings, store) -> None:
    # On 2026-12-01 the first whole week inside 180 days is the one of 2026-06-07; the last
    # one whose Saturday is served is 2027-05-23 (its Saturday is 2027-05-29, day 179).
    found = resolve(settings, store, first_day="2026-06-07", last_day="2027-05-29")
    assert (found.first_week, found.last_week) == (date(2026, 6, 7), date(2027, 5, 23))
    assert resolve(settings, store, weeks=26).first_week == date(2026, 6, 7)
    with pytest.raises(BadRange, match=r"--weeks 26 or fewer"):
        resolve(settings, store, weeks=27)
    with pytest.raises(BadRange, match=r"--from 2026-06-06 is not in a week Airbnb serves"):
        resolve(settings, store, first_day="2026-06-06", last_day="2026-07-01")
    with pytest.raises(BadRange, match=r"--to 2027-05-30 .*weeks starting 2026-06-07 through "
                                       r"2027-05-23"):
        resolve(settings, store, first_day="2026-07-01", last_day="2027-05-30")


def test_the_grid_first_week_bounds_the_range(tmp_path: Path, store) -> None:
    late = load_settings({"DAGSTER_HOME": str(tmp_path),
                          "AIRBNB_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}",
                          "AIRBNB_SYNC_FIRST_WEEK": "2026-11-22"})
    with pytest.raises(BadRange, match="--weeks 2 or fewer"):
        resolve(late, store, weeks=3)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"weeks": 0}, "--weeks must be at least 1, got 0"),
    ({"weeks": 2, "first_day": "2026-11-01"}, "give either --weeks N or --from DATE --to DATE"),
    ({"first_day": "2026-11-01"}, "give --from DATE and --to DATE together"),
    ({"last_day": "2026-11-01"}, "give --from DATE and --to DATE together"),
    ({"first_day": "2026-12-01", "last_day": "2026-11-01"},
     "--from 2026-12-01 is after --to 2026-11-01: give the earlier day first"),
    ({"first_day": "01/11/2026", "last_day": "2026-11-30"},
     "--from '01/11/2026' is not a date: give a day as YYYY-MM-DD"),
    ({"first_day": "2026-11-01", "last_day": "2026-02-30"}, "--to '2026-02-30' is not a date"),
    ({"first_day": "20261101", "last_day": "2026-11-30"}, "--from '20261101' is not a date"),
    ({"first_day": "2026-W48-1", "last_day": "2026-11-30"}, "is not a date"),
    ({"first_day": "2026-11-01\n\x1b[31m", "last_day": "2026-11-30"},
     r"--from '2026-11-01\n\x1b[31m' is not a date"),
    ({"first_day": "2025-01-05", "last_day": "2025-02-01"},
     "--from 2025-01-05 is not in a week Airbnb serves whole"),
    ({"first_day": "0001-01-01", "last_day": "2026-11-30"}, "--from 0001-01-01 is not in a week"),
    ({"first_day": "2026-11-30", "last_day": "9999-12-31"}, "--to 9999-12-31 is not in a week"),
    ({"weeks": 10 ** 30}, f"--weeks {10 ** 30} reaches back further"),
])
def test_bad_ranges_are_refused_in_one_line(settings, store, kwargs, message) -> None:
    with pytest.raises(BadRange) as refused:
        resolve(settings, store, **kwargs)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)


@pytest.mark.parametrize("account", ["99999999", "abc", "4123\n\x1b[2J", ""])
def test_an_unregistered_or_malformed_account_is_refused(settings, store, account) -> None:
    with pytest.raises(UnknownAccount) as refused:
        resolve(settings, store, account, weeks=1)
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)
    assert "accounts" in str(refused.value)  # names the command that lists or adds accounts


def test_deleted_deactivated_and_expired_accounts_say_how_to_fix_them(settings, store) -> None:
    store.set_auth_status(ACCOUNT, "expired")
    with pytest.raises(AccountNotSyncable, match=f"accounts update {ACCOUNT} --from-curl -"):
        resolve(settings, store, weeks=1)
    store.deactivate(ACCOUNT)
    with pytest.raises(AccountNotSyncable, match=f"accounts activate {ACCOUNT}"):
        resolve(settings, store, weeks=1)
    store.soft_delete(ACCOUNT)
    with pytest.raises(UnknownAccount, match=f"{ACCOUNT} is deleted"):
        resolve(settings, store, weeks=1)
