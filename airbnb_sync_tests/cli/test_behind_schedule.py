"""An account whose day does not fit its request budget, or whose runs pile up, is behind
schedule: `status` says so with the fix and exits 1, and `plan` shows the budget, the
requests of each day and the promise (listing counts come from the latest sync; a never
synced account's count is unknown). Real warehouse on every database, real Dagster instance,
real simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster import DagsterInstance, DagsterRunStatus

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.schedules import ACCOUNT_TAG
from airbnb_sync_tests.cli.test_status import HOST, OTHER, Env, env, run_weeks, this_week
from airbnb_sync_tests.e2e.automation_helpers import resources
from airbnb_sync_tests.webhook_receiver import WebhookReceiver

__all__ = ["env"]  # the fixture, shared with test_status.py

LISTINGS = 100


def test_an_account_too_big_for_its_budget_is_behind_schedule(env: Env, monkeypatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_DAILY_REQUEST_BUDGET", "500")
    env.simulator.configure(listings_for={HOST: LISTINGS})
    assert run_weeks(HOST, this_week(), this_week())

    plan = env.cli("plan", "--json", "--days", "3")
    assert plan.code == 0, plan.err
    by_account = {a["account_id"]: a for a in plan.data["accounts"]}
    host, other = by_account[HOST], by_account[OTHER]
    assert host["listings"] == LISTINGS and host["budget"] == 500
    assert len(host["requests_per_day"]) == 3
    assert all(requests <= host["budget_planned"] for requests in host["requests_per_day"])
    assert host["behind_schedule"] and not host["promise"]["near_fits"]
    assert host["max_staleness_days"] == host["promise"]["oldest_week_days"]
    assert other["listings"] is None and "unknown" in other["note"]
    what_if = env.cli("plan", "--json", "--account", OTHER, "--listings", "3")
    (assumed,) = what_if.data["accounts"]
    assert assumed["listings"] == 3 and not assumed["behind_schedule"]

    status = env.status("--json")
    assert status.code == 1
    schedule = status.account(HOST)["schedule"]
    assert schedule["behind_schedule"] and schedule["listings"] == LISTINGS
    assert "AIRBNB_SYNC_DAILY_REQUEST_BUDGET" in schedule["behind_reason"]
    assert any(p.startswith(f"account {HOST}: behind schedule") for p in status.data["problems"])
    assert not status.account(OTHER)["schedule"]["behind_schedule"]
    text = env.status()
    assert "BEHIND SCHEDULE" in text.out and text.code == 1

    with WebhookReceiver() as receiver:
        monkeypatch.setenv("AIRBNB_SYNC_ALERT_WEBHOOK", receiver.url)
        cursor = tick_behind_schedule_alerts(None)
        tick_behind_schedule_alerts(cursor)  # once a day per account, not once a tick
    (alert,) = receiver.posts
    assert alert["event"] == "behind_schedule" and alert["account"] == HOST
    assert alert["listings"] == LISTINGS and alert["budget"] == 500
    assert "behind schedule" in alert["text"]

    monkeypatch.delenv("AIRBNB_SYNC_DAILY_REQUEST_BUDGET")  # 11,520 a day: it fits again
    assert env.status().code == 0


def tick_behind_schedule_alerts(cursor: str | None) -> str | None:
    sensor = build_definitions(load_settings()).get_sensor_def("behind_schedule_alerts")
    with dg.build_sensor_context(instance=DagsterInstance.get(), cursor=cursor,
                                 resources=resources()) as context:
        return sensor.evaluate_tick(context).cursor


def test_runs_left_from_an_earlier_day_mean_the_queue_grows(env: Env) -> None:
    job = build_definitions(load_settings()).resolve_implicit_global_asset_job_def()
    with DagsterInstance.get() as instance:
        instance.create_run_for_job(job, tags={ACCOUNT_TAG: OTHER},
                                    status=DagsterRunStatus.NOT_STARTED)
    assert env.status().code == 0  # waiting since today: the day is not over
    later = datetime.now(UTC) + timedelta(days=1, hours=1)
    status = env.status("--json", now=later)
    assert status.code == 1
    reason = status.account(OTHER)["schedule"]["behind_reason"]
    assert "queue grows" in reason and status.account(OTHER)["schedule"]["overdue_runs"] == 1
    assert not status.account(HOST)["schedule"]["behind_schedule"]


def test_plan_what_if_and_bad_input(env: Env, monkeypatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "6")  # the default budget: 11,520
    what_if = env.cli("plan", "--json", "--listings", "1000", "--days", "14")
    assert what_if.code == 0, what_if.err
    for account in what_if.data["accounts"]:
        assert account["listings"] == 1000 and len(account["requests_per_day"]) == 14
        assert max(account["requests_per_day"]) <= account["budget_planned"] < account["budget"]
        assert account["promise"]["near_days"] == 1 and account["promise"]["near_fits"]
        assert account["max_staleness_days"] == 35 and account["promise_holds"]
    text = env.cli("plan", "--listings", "5000", "--account", HOST)
    assert text.code == 0 and "behind schedule" in text.out
    for bad in (["--account", "999"], ["--days", "0"], ["--listings", "-1"],
                ["--from", "tomorrow"]):
        failed = env.cli("plan", *bad)
        assert failed.code == 2 and failed.err.startswith("error: ") and failed.out == ""
        assert "Traceback" not in failed.err
