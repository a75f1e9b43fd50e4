"""The weeks an outage kept from being refreshed: what the skipped daily ticks would have
fetched, clipped to what Airbnb serves on the day the session is restored."""

from __future__ import annotations

from datetime import date, timedelta

from airbnb_sync.airbnb.windows import first_whole_week, week_start_of
from airbnb_sync.sync.refresh import RefreshPolicy, weeks_of

TODAY = date(2026, 12, 2)  # a Wednesday


def policy() -> RefreshPolicy:
    return RefreshPolicy(lookback_weeks=1, near_ahead_weeks=4, lookahead_weeks=25,
                         far_refresh_days=7, first_week=date(2025, 1, 5))


def weeks(ranges: list[tuple[date, date]]) -> list[date]:
    return [week for week_range in ranges for week in weeks_of(week_range)]


def test_a_restore_on_the_day_of_the_refusal_misses_only_that_days_ranges() -> None:
    p = policy()
    missed = p.missed_weeks(TODAY, TODAY)
    assert missed.ranges == p.daily_ranges(TODAY)
    assert missed.lost == []


def test_ten_days_out_miss_every_week_of_the_lookahead_and_the_weeks_that_went_by() -> None:
    p = policy()
    missed = p.missed_weeks(TODAY - timedelta(days=10), TODAY)
    # The week that was "last week" when the outage began was never refreshed after it closed;
    # every far block came up at least once in ten days; all of it is still served today.
    first = week_start_of(TODAY - timedelta(days=10)) - timedelta(weeks=1)
    assert missed.ranges == [(first, p.last_reachable_week(TODAY))]
    assert missed.lost == []
    # More than the ticks of today alone would fetch.
    assert set(weeks(p.daily_ranges(TODAY))) < set(weeks(missed.ranges))


def test_a_long_outage_names_the_weeks_that_left_airbnbs_horizon() -> None:
    p = policy()
    start = TODAY - timedelta(days=200)
    missed = p.missed_weeks(start, TODAY)
    served_from = first_whole_week(TODAY, p.horizon_days)
    assert missed.ranges == [(served_from, p.last_reachable_week(TODAY))]
    lost = missed.lost
    assert lost and lost[-1] == served_from - timedelta(weeks=1)
    assert lost[0] == week_start_of(start) - timedelta(weeks=1)
    assert lost == [lost[0] + timedelta(weeks=i) for i in range(len(lost))]
