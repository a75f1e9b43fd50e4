"""bench/capacity.py: the ranges it runs are servable on the day it runs them, every day."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.partitions import week_partitions
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
    grid = set(week_partitions(settings.first_week, settings.lookahead_weeks)
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


def test_the_ranges_measured_on_the_day_of_the_issue_are_servable(capacity: ModuleType) -> None:
    schedule = capacity.schedule_of(load_settings({}), FOUND_ON, 10)
    assert unservable(FOUND_ON, schedule.ranges) == []
