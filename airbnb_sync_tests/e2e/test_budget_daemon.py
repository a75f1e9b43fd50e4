"""A day of a 200-listing account whose budget does not hold its ideal tiers, through a real
`dagster-daemon`: the daily schedule fires, the run queue (the repository's local profile:
one run per account at a time, priorities) runs the day in runs of bounded length, the
simulator counts exactly the requests the plan costs (within the budget), and every planned
(listing, week) was fetched today: the near weeks of every listing, the rotation's whole
range for the listings due."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from pipeline_helpers import HOSTS, table

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.cli.demo import LOCAL_PROFILE
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import range_tags
from airbnb_sync.defs.schedules import ACCOUNT_TAG, TRIGGER_TAG
from airbnb_sync.instance.access import add_account_partition
from airbnb_sync.simulator import Simulator
from airbnb_sync.sync.budget import daily_budget, max_run_requests
from airbnb_sync.sync.daily import account_schedules
from airbnb_sync.sync.planner import NEAR, ROTATION, near_weeks
from airbnb_sync.sync.refresh import RefreshPolicy
from airbnb_sync.warehouse.engine import create_warehouse_engine

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BIG, SMALL = HOSTS
LISTINGS = 200
BUDGET = 2400  # 2,040 planned: the near weeks shrink to 3, the far weeks rotate
RUN_MINUTES = 5  # at zero pacing a request counts 1 s: runs of at most 300 requests
DAY_SECONDS = 1800
FIRE_MINUTES = 5
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}


def served_requests(simulator: Simulator, account_id: str) -> int:
    return simulator.stats()["accounts"].get(account_id, {}).get("requests", 0)


def store_listings(account_id: str) -> None:
    """The `listings` asset alone for the current week: one request, and the account's
    listing set is in the warehouse for the planner (as after any sync)."""
    week = week_start_of(datetime.now(UTC).date())
    defs = build_definitions(load_settings())
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, tags=range_tags(account_id, week, week),
                                        asset_selection=[dg.AssetKey("listings")])
    assert result.success


@pytest.fixture
def daemon(pipeline_env: Simulator, dagster_home: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.copy(LOCAL_PROFILE, dagster_home / "dagster.yaml")  # the run queue, as users have
    log = tmp_path / "daemon.log"
    workspace = ["-w", str(REPOSITORY / "workspace.yaml")]
    for sensor in ("accounts_sensor", "insights_report_automation"):  # no first syncs here
        subprocess.run([str(BIN / "dagster"), "sensor", "stop", sensor, *workspace],
                       cwd=REPOSITORY, check=True, capture_output=True, timeout=300)
    # A daily cron a few minutes ahead: the scheduler tells a schedule's ticks apart by their
    # time (a run key is unique per tick), so a cron firing every minute would run the day
    # again every minute. The daemon must be up before it fires.
    fire = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=FIRE_MINUTES)
    monkeypatch.setenv("AIRBNB_SYNC_DAILY_CRON", f"{fire.minute} {fire.hour} * * *")
    with log.open("w") as output:
        process = subprocess.Popen([str(BIN / "dagster-daemon"), "run", *workspace],
                                   cwd=REPOSITORY, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield log
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=120)


def wait_for_the_day(expected: int, log: Path) -> list[dg.RunRecord]:
    deadline = time.monotonic() + DAY_SECONDS
    with dg.DagsterInstance.get() as instance:
        while True:
            records = instance.get_run_records(dg.RunsFilter(tags={TRIGGER_TAG: "daily"}))
            assert len(records) <= expected, "the schedule asked for more runs than planned"
            if len(records) >= expected and all(r.dagster_run.status in FINISHED
                                                for r in records):
                return records
            if time.monotonic() > deadline:
                pytest.fail(f"{len(records)} of {expected} daily runs, statuses "
                            f"{[r.dagster_run.status.value for r in records]}:\n"
                            f"{log.read_text()[-4000:]}")
            time.sleep(2)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres", "timescaledb"], indirect=True)
def test_a_day_runs_through_the_queue_within_the_budget(pipeline_env: Simulator,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        request: pytest.FixtureRequest) -> None:
    simulator = pipeline_env
    simulator.configure(listings_for={BIG: LISTINGS})
    monkeypatch.setenv("AIRBNB_SYNC_DAILY_REQUEST_BUDGET", str(BUDGET))
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RUN_MINUTES", str(RUN_MINUTES))
    for account_id in HOSTS:
        add_account_partition(load_settings().dagster_home, account_id)
        store_listings(account_id)
    settings = load_settings()
    today = datetime.now(UTC).date()
    engine = create_warehouse_engine(settings.database_url)
    plans = {schedule.account_id: schedule.plans[0]
             for schedule in account_schedules(settings, engine, list(HOSTS), today, 1)}
    big = plans[BIG]
    assert big.listings == LISTINGS and big.promise.near_fits
    assert big.promise.ahead_weeks == 1 and big.promise.rotation_days > 7
    assert {run.tier for run in big.runs} == {NEAR, ROTATION}
    max_run = max_run_requests(settings)
    assert all(run.requests <= max_run for plan in plans.values() for run in plan.runs)
    before = {account_id: served_requests(simulator, account_id) for account_id in HOSTS}

    log = request.getfixturevalue("daemon")
    records = wait_for_the_day(sum(len(plan.runs) for plan in plans.values()), log)
    assert {r.dagster_run.status for r in records} == {dg.DagsterRunStatus.SUCCESS}
    assert datetime.now(UTC).date() == today, "the day changed during the test: run it again"
    for account_id, plan in plans.items():
        runs = [r for r in records if r.dagster_run.tags[ACCOUNT_TAG] == account_id]
        assert len(runs) == len(plan.runs)
        sent = served_requests(simulator, account_id) - before[account_id]
        assert sent == plan.requests  # the planner's cost model is what the sync sends
        assert sent <= daily_budget(settings).plannable

    # Every planned (listing, week) was fetched today; the near weeks of every listing.
    fetched = table("visibility_metrics")
    fetched = fetched[(fetched["account_id"] == BIG)
                      & (pd.to_datetime(fetched["scraped_on"]).dt.date == today)]
    got = set(zip(fetched["listing_id"], pd.to_datetime(fetched["week_start"]).dt.date,
                  strict=True))
    wanted = {(listing, week) for run in big.runs for listing in run.listing_ids
              for week in run.weeks}
    assert wanted <= got
    listings = {listing for listing, _ in got}
    assert len(listings) == LISTINGS
    near = near_weeks(RefreshPolicy.from_settings(settings), big.promise.ahead_weeks, today)
    assert {(listing, week) for listing in listings for week in near} <= got
    # The run queue interleaved the accounts: the small one did not wait for the big day.
    order = sorted(records, key=lambda r: r.start_time or 0)
    small_start = min(i for i, r in enumerate(order)
                      if r.dagster_run.tags[ACCOUNT_TAG] == SMALL)
    assert small_start <= 1, [r.dagster_run.tags[ACCOUNT_TAG] for r in order]

