"""accounts_sensor and daily_insights_sync, driven by Dagster's test APIs on a real instance
and account store (the simulator is not asked: no run is executed here)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg
from automation_helpers import accounts_of, tick_accounts_sensor, tick_schedule
from pipeline_helpers import HOSTS

from airbnb_sync.accounts.store import open_store
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.partitions import ACCOUNTS, partition_key

TODAY = date(2026, 11, 29)  # a Sunday
WEEK = timedelta(weeks=1)


def registered() -> set[str]:
    return set(dg.DagsterInstance.get().get_dynamic_partitions(ACCOUNTS.name))


def weeks_requested(request: dg.RunRequest) -> list[date]:
    start = date.fromisoformat(request.tags["dagster/asset_partition_range_start"].split("|")[1])
    end = date.fromisoformat(request.tags["dagster/asset_partition_range_end"].split("|")[1])
    return [start + i * WEEK for i in range((end - start).days // 7 + 1)]


def test_sensor_keeps_partitions_equal_to_the_accounts(pipeline_env) -> None:
    instance = dg.DagsterInstance.get()
    instance.delete_dynamic_partition(ACCOUNTS.name, HOSTS[0])  # lost: must come back
    instance.add_dynamic_partitions(ACCOUNTS.name, ["99999999"])  # purged elsewhere: must go
    tick_accounts_sensor(TODAY)
    assert registered() == set(HOSTS)

    assert cli(["accounts", "delete", HOSTS[1], "--yes"]) == 0  # soft delete
    tick_accounts_sensor(TODAY)
    assert registered() == {HOSTS[0]}
    assert cli(["accounts", "activate", HOSTS[1]]) == 0
    tick_accounts_sensor(TODAY)
    assert registered() == set(HOSTS)


def test_first_sync_is_requested_once_per_new_account(pipeline_env) -> None:
    first = tick_accounts_sensor(TODAY)
    assert sorted(accounts_of(first.run_requests)) == sorted(HOSTS)
    for request in first.run_requests:
        account = request.tags["airbnb_sync/account"]
        assert request.tags["dagster/asset_partition_range_start"] == partition_key(
            account, TODAY - 25 * WEEK)
        # On a Sunday the week 25 ahead ends 181 days ahead, beyond the 180-day horizon.
        assert request.tags["dagster/asset_partition_range_end"] == partition_key(
            account, TODAY + 24 * WEEK)
        assert request.run_key.startswith(f"first-sync:{account}@")

    again = tick_accounts_sensor(TODAY + timedelta(days=1), cursor=first.cursor)
    assert again.run_requests == [] and again.skip_message is not None

    # A lost cursor asks again, but with the same run keys, which Dagster runs only once.
    lost = tick_accounts_sensor(TODAY, cursor=None)
    assert {r.run_key for r in lost.run_requests} == {r.run_key for r in first.run_requests}


def test_first_sync_waits_for_an_active_account_with_a_usable_session(
        pipeline_env, tmp_path) -> None:
    store = open_store(load_settings())
    assert cli(["accounts", "deactivate", HOSTS[0]]) == 0
    store.set_auth_status(HOSTS[1], "expired")
    tick = tick_accounts_sensor(TODAY)
    assert tick.run_requests == []

    assert cli(["accounts", "activate", HOSTS[0]]) == 0
    store.set_auth_status(HOSTS[1], "ok")  # as `accounts check` or `update` leaves it
    later = tick_accounts_sensor(TODAY, cursor=tick.cursor)
    assert sorted(accounts_of(later.run_requests)) == sorted(HOSTS)


def test_an_account_synced_already_needs_no_first_sync(pipeline_env) -> None:
    from datetime import UTC, datetime

    open_store(load_settings()).mark_synced(HOSTS[0], datetime.now(UTC))
    assert accounts_of(tick_accounts_sensor(TODAY).run_requests) == [HOSTS[1]]


def test_seven_daily_ticks_refresh_every_week_and_the_near_weeks_daily(pipeline_env) -> None:
    horizon = {TODAY + offset * WEEK for offset in range(-1, 26)}
    near = {TODAY + offset * WEEK for offset in range(-1, 5)}
    seen: dict[str, set[date]] = {account: set() for account in HOSTS}
    for day in (TODAY + timedelta(days=i) for i in range(7)):
        tick = tick_schedule(day)
        assert tick.skip_message is None
        today_weeks: dict[str, list[date]] = {account: [] for account in HOSTS}
        for request in tick.run_requests:
            account = request.tags["airbnb_sync/account"]
            assert request.run_key.startswith(f"daily:{day}:{account}:")
            today_weeks[account] += weeks_requested(request)
        for account, weeks in today_weeks.items():
            assert len(weeks) == len(set(weeks)), "a week requested twice on one day"
            assert near <= set(weeks)
            # The near tier and one far block of 3 weeks; on Monday also the week that became
            # whole at the far end of the 180-day horizon (the Sunday could not have it).
            assert len(weeks) == 6 + 3 + (day.isoweekday() == 1)
            seen[account] |= set(weeks)
    assert all(weeks == horizon for weeks in seen.values())


def test_the_earlier_policy_is_one_setting_away(pipeline_env, monkeypatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_FAR_REFRESH_DAYS", "1")
    tick = tick_schedule(TODAY + timedelta(days=3))
    assert len(tick.run_requests) == len(HOSTS)
    assert all(weeks_requested(r) == [TODAY + o * WEEK for o in range(-1, 26)]
               for r in tick.run_requests)


def test_skipped_accounts_are_named_in_the_skip_reason(pipeline_env) -> None:
    open_store(load_settings()).set_auth_status(HOSTS[0], "expired")
    assert cli(["accounts", "deactivate", HOSTS[1]]) == 0
    tick = tick_schedule(TODAY)
    assert tick.run_requests == []
    assert tick.skip_message == (
        f"nothing to sync on {TODAY}; skipped account {HOSTS[0]}: session expired: "
        f"airbnb-sync accounts update {HOSTS[0]} --cookie-file -; "
        f"account {HOSTS[1]}: inactive")


def test_an_expired_account_is_left_out_while_the_others_sync(pipeline_env) -> None:
    open_store(load_settings()).set_auth_status(HOSTS[0], "expired")
    tick = tick_schedule(TODAY)
    assert set(accounts_of(tick.run_requests)) == {HOSTS[1]}


def test_no_accounts_at_all_says_so(dagster_home) -> None:
    tick = tick_schedule(TODAY)
    assert tick.skip_message == f"nothing to sync on {TODAY}: no accounts are registered"


def test_cursor_forgets_purged_accounts(pipeline_env) -> None:
    first = tick_accounts_sensor(TODAY)
    assert cli(["accounts", "delete", HOSTS[0], "--purge", "--yes"]) == 0
    later = tick_accounts_sensor(TODAY, cursor=first.cursor)
    assert [marker.split("@")[0] for marker in json.loads(later.cursor)] == [HOSTS[1]]
    assert registered() == {HOSTS[1]}
