"""bench/capacity.py: the ranges it runs are servable on the day it runs them, every day."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.partitions import grid_first_week, week_partitions
from airbnb_sync.sync.accounts import plan_accounts
from airbnb_sync.sync.refresh import weeks_of

BENCH = Path(__file__).resolve().parents[2] / "bench"
# The Sunday the issue was found on (issue 22): a later day's new far week is not served yet.
FOUND_ON = date(2026, 12, 6)


@pytest.fixture(scope="module")
def capacity() -> Iterator[ModuleType]:
    """bench/capacity.py as its script imports it (bench/ first on the path)."""
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("capacity")
    finally:
        sys.path.remove(str(BENCH))


def unservable(day: date, ranges: list[tuple[date, date]]) -> list[str]:
    """The ranges a run started on `day` would be refused for: by the sync's own plan
    (Airbnb's horizon) or by Dagster (weeks outside the partition grid)."""
    settings = load_settings({})
    now = datetime.combine(day, time(5), tzinfo=UTC)
    grid = set(week_partitions(grid_first_week(settings, day), settings.lookahead_weeks)
               .get_partition_keys(current_time=now))
    refused = []
    for first, last in ranges:
        try:
            plan_accounts(settings, {"1": weeks_of((first, last))}, day)
        except ValueError as error:
            refused.append(f"{day}: {first}..{last}: {error}")
            continue
        outside = [week for week in weeks_of((first, last)) if week.isoformat() not in grid]
        if outside:
            refused.append(f"{day}: {first}..{last}: not in the partition grid: {outside}")
    return refused


def measured_on(capacity: ModuleType, day: date) -> list[tuple[date, date]]:
    """The ranges the benchmark hands out to its runs when it runs on `day`."""
    settings = load_settings({})
    return capacity.measured_ranges(capacity.schedule_of(settings, day, 10),
                                    capacity.servable_weeks(settings, day))


def test_the_ranges_measured_on_the_day_of_the_issue_are_servable(capacity: ModuleType) -> None:
    ranges = measured_on(capacity, FOUND_ON)
    assert unservable(FOUND_ON, ranges) == []
    # The week's ranges, clipped: the far end stops at the last week served today, and the
    # new far week of Saturday 2026-12-12 (alone in its range) is left out, not run early.
    last_served = date(2027, 5, 23)
    assert max(last for _, last in ranges) == last_served
    assert (date(2027, 5, 30), date(2027, 5, 30)) not in ranges


def test_the_ranges_measured_on_every_day_of_a_year_are_servable_that_day(
        capacity: ModuleType) -> None:
    refused: list[str] = []
    range_counts: set[int] = set()
    for day in (FOUND_ON + timedelta(days=offset) for offset in range(366)):
        ranges = measured_on(capacity, day)
        assert ranges, f"nothing to measure on {day}"
        assert len(set(ranges)) == len(ranges)
        refused += unservable(day, ranges)
        range_counts.add(len(ranges))
    assert refused == [], "\n".join(refused[:5])
    # The near tier plus the far blocks of the week: several ranges each day, not one.
    assert min(range_counts) > 1


def test_clipping_keeps_what_is_served_and_drops_what_is_not(capacity: ModuleType) -> None:
    sunday = date(2026, 12, 6)
    weeks = [sunday + timedelta(weeks=offset) for offset in range(-1, 3)]
    schedule = capacity.Schedule(
        days=[[((weeks[0], weeks[3]), 1)], [((weeks[3], weeks[3]), 1)],
              [((weeks[0], weeks[1]), 1)], [((weeks[0], weeks[3]), 1)]],
        first_sync=(weeks[0], weeks[3]), first_sync_requests=1)
    assert capacity.measured_ranges(schedule, weeks[:3]) == [(weeks[0], weeks[2]),
                                                              (weeks[0], weeks[1])]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_benchmark_prints_its_figures_on_a_small_workload(tmp_path: Path) -> None:
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("AIRBNB_", "DAGSTER_"))
                   or name.startswith("AIRBNB_SYNC_TEST_")}
    done = subprocess.run(
        [sys.executable, str(BENCH / "capacity.py"), "--slots", "2", "--listings", "1",
         "--pacing", "0", "--latency-ms", "0", "--accounts", "4",
         "--first-sync-accounts", "1,2"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=840)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    today = datetime.now(UTC).date()
    assert result["benchmark"] == "capacity"
    assert result["setup"]["date"] == today.isoformat()
    measured = result["measured"]
    assert measured["runs"] == 2
    assert measured["requests_as_planned"] is True
    assert measured["requests_per_run"]["min"] > 0
    assert measured["peak_rss_per_run_mib"] > 50
    ranges = [tuple(date.fromisoformat(end) for end in text.split(".."))
              for text in measured["ranges"]]
    assert unservable(today, ranges) == []
    derived = result["derived"]
    assert derived["accounts"] == 4
    assert derived["slots"] == 2
    assert set(derived["first_sync"]["hours_for_accounts"]) == {"1", "2"}
    sizes = result["accounts_of_any_size"]
    assert sizes["slots"] == 2 and sizes["accounts_of_10_listings"]["accounts"] > 0


def test_accounts_of_any_size_on_one_machine(capacity: ModuleType) -> None:
    """Issue 20's figures for one machine of 32 slots at the default pacing: the largest
    account kept fresh daily, accounts of 10 listings, and 1 x 1,000 + 300 x 10 listings."""
    settings = load_settings({})
    sizes = capacity.sizes(settings, FOUND_ON, 32, 24.0, capacity.MEASURED_OVERHEAD_SECONDS,
                            capacity.MEASURED_RUN_MIB, 24_064.0)
    fresh = sizes["largest_account_fresh_daily"]
    near = sizes["largest_account_near_weeks_daily"]
    assert 300 < fresh["listings"] < near["listings"] < 1_200
    assert fresh["its_day_run_hours"] <= 24 and near["its_day_run_hours"] <= 24
    assert sizes["accounts_of_10_listings"]["accounts"] > 1_000
    mix = sizes["mix"]
    assert mix["fits"] and mix["daily_sync_hours"] <= 24
    assert mix["big_account"]["requests_per_day_max"] <= 11_520 * 0.85
    assert sizes["memory_mib"]["fits"]


def test_the_queue_takes_the_longest_serial_day_first(capacity: ModuleType) -> None:
    """A big account's runs first (its priority is its runs that day): a priority that took
    every account's n-th run first would stretch its serial day past 24 h."""
    day_runs = {1000: [[480] * 20], 10: [[120, 120]]}
    mix = {1000: 1, 10: 300}
    by_priority = capacity.mix_hours(day_runs, mix, 32, 7.5, 100.0)
    alone = capacity.mix_hours(day_runs, {1000: 1}, 32, 7.5, 100.0)
    assert by_priority == pytest.approx(alone)
    assert alone == pytest.approx(20 * (480 * 7.5 + 100) / 3600)
