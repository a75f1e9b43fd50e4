"""The far edge of the horizon, on a pinned day over the simulator (which serves its
default, documented 180 days): a first sync started on a Sunday stays inside it, and a week
that becomes whole at the far end is fetched by the very next daily tick."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import pytest
from automation_helpers import accounts_of, run_request, tick_accounts_sensor, tick_schedule
from pipeline_helpers import HOSTS, table

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import range_tags
from airbnb_sync.simulator import Simulator
from airbnb_sync.sync.refresh import weeks_of

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SUNDAY = date(2026, 11, 29)
WEEK = timedelta(weeks=1)


def weeks_in(request) -> list[date]:
    start, end = (date.fromisoformat(request.tags[f"dagster/asset_partition_range_{edge}"]
                                     .split("|")[1]) for edge in ("start", "end"))
    return weeks_of((start, end))


def stored_days(name: str, column: str, week: date) -> set[date]:
    frame = table(name)
    days = {value.date() if hasattr(value, "date") else value for value in frame[column]}
    return {day for day in days if week <= day <= week + timedelta(days=6)}


def test_a_first_sync_started_on_a_sunday_stays_inside_the_horizon(
        pipeline_env: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pipeline_env.config.horizon_days == 180  # the simulator serves what README says
    pipeline_env.configure(today=SUNDAY)
    monkeypatch.setenv("AIRBNB_SYNC_FIRST_SYNC_WEEKS", "0")
    request = next(r for r in tick_accounts_sensor(SUNDAY).run_requests
                   if accounts_of([r]) == [HOSTS[0]])
    last = weeks_in(request)[-1]
    assert last + timedelta(days=6) <= SUNDAY + timedelta(days=180)
    result = run_request(request, SUNDAY)
    assert result.success  # every day of every week was served: the `complete` checks pass
    assert len(stored_days("conversion_metrics", "metric_date", last)) == 7


def test_a_week_whole_at_the_far_end_is_fetched_at_the_next_daily_tick(
        pipeline_env: Simulator) -> None:
    monday = SUNDAY + timedelta(days=1)
    newest = SUNDAY + 25 * WEEK  # ends Saturday 2027-05-29, 181 days after the Sunday
    pipeline_env.configure(today=monday)
    requests = [r for r in tick_schedule(monday).run_requests if accounts_of([r]) == [HOSTS[0]]]
    with_newest = [r for r in requests if newest in weeks_in(r)]
    assert len(with_newest) == 1, [weeks_in(r) for r in requests]
    assert run_request(with_newest[0], monday).success
    assert len(stored_days("conversion_metrics", "metric_date", newest)) == 7
    assert stored_days("visibility_metrics", "week_start", newest) == {newest}


def run_weeks_on(day: date, first: date, last: date) -> bool:
    """One run of HOSTS[0]'s weeks as the run process of `day` would load and run it."""
    job = build_definitions(load_settings(), today=day).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=dg.DagsterInstance.get(), tags=range_tags(HOSTS[0], first, last),
        raise_on_error=False,
        run_config={"resources": {"clock": {"config": {"today": day.isoformat()}}}}).success


def test_rows_of_a_week_that_left_the_grid_stay_in_the_warehouse(
        pipeline_env: Simulator) -> None:
    old_week = SUNDAY - WEEK
    pipeline_env.configure(today=SUNDAY)
    assert run_weeks_on(SUNDAY, old_week, SUNDAY)
    stored = {name: table(name) for name in ("listings", "conversion_metrics",
                                             "visibility_metrics")}
    assert (stored["visibility_metrics"]["week_start"].astype(str) == str(old_week)).any()

    later = SUNDAY + timedelta(days=200)  # old_week ended 207 days before: out of the grid
    grid = build_definitions(load_settings(), today=later).get_assets_def("listings")
    weeks = grid.partitions_def.get_partitions_def_for_dimension("week")  # type: ignore[union-attr]
    keys = weeks.get_partition_keys(current_time=datetime.combine(later, time(5), tzinfo=UTC))
    assert old_week.isoformat() not in keys and len(keys) in {52, 53}

    pipeline_env.configure(today=later)
    this_week = week_start_of(later)
    assert run_weeks_on(later, this_week, this_week)
    for name, before in stored.items():
        after = table(name)
        kept = after[after["scraped_on"].astype(str) == str(SUNDAY)] if "scraped_on" in after \
            else after[after["week_start"].astype(str) <= str(SUNDAY)]
        assert len(kept) == len(before), name  # every row of the earlier day is still there
