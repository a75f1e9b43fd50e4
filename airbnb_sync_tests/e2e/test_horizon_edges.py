"""The far edge of the horizon, on a pinned day over the simulator (which serves its
default, documented 180 days): a first sync started on a Sunday stays inside it, and a week
that becomes whole at the far end is fetched by the very next daily tick."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from automation_helpers import accounts_of, run_request, tick_accounts_sensor, tick_schedule
from pipeline_helpers import HOSTS, table

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
