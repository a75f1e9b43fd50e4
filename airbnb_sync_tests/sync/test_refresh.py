"""The daily schedule's tiers and the first sync's range, over many consecutive days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.sync.refresh import RefreshPolicy, weeks_of

SUNDAY = date(2026, 11, 29)


def policy(**overrides: int) -> RefreshPolicy:
    values = {"lookback_weeks": 1, "near_ahead_weeks": 4, "lookahead_weeks": 25,
              "far_refresh_days": 7, "first_week": date(2025, 1, 5)}
    values.update(overrides)
    return RefreshPolicy(**values)  # type: ignore[arg-type]


def refreshed_offsets(p: RefreshPolicy, day: date) -> set[int]:
    current = week_start_of(day)
    return {(week - current).days // 7 for r in p.daily_ranges(day) for week in weeks_of(r)}


def test_default_settings_give_the_documented_tiers() -> None:
    p = RefreshPolicy.from_settings(load_settings({}))
    assert (p.lookback_weeks, p.near_ahead_weeks, p.lookahead_weeks, p.far_refresh_days) == (
        1, 4, 25, 7)


def test_seven_consecutive_days_refresh_every_week_and_the_near_weeks_daily() -> None:
    p = policy()
    days = [SUNDAY + timedelta(days=i) for i in range(7)]
    per_day = [refreshed_offsets(p, day) for day in days]
    near = set(range(-1, 5))
    for offsets in per_day:
        assert near <= offsets
    assert set().union(*per_day) == set(range(-1, 26))
    far_blocks = [offsets - near for offsets in per_day]
    # 21 far weeks in 7 disjoint blocks of 3 contiguous weeks, Sunday first; on Monday the
    # week 25 ahead becomes whole within 180 days and is fetched at once, out of turn.
    expected = [list(range(5 + 3 * i, 8 + 3 * i)) for i in range(7)]
    expected[1].append(25)
    assert [sorted(block) for block in far_blocks] == expected


def test_near_and_far_ranges_are_separate_runs_unless_adjacent() -> None:
    p = policy()
    assert p.daily_ranges(SUNDAY) == [(SUNDAY - timedelta(weeks=1), SUNDAY + timedelta(weeks=7))]
    monday = SUNDAY + timedelta(days=1)
    assert p.daily_ranges(monday) == [
        (SUNDAY - timedelta(weeks=1), SUNDAY + timedelta(weeks=4)),
        (SUNDAY + timedelta(weeks=8), SUNDAY + timedelta(weeks=10)),
        (SUNDAY + timedelta(weeks=25), SUNDAY + timedelta(weeks=25)),  # new at the far end
    ]


@pytest.mark.parametrize("far_refresh_days", range(1, 8))
def test_no_week_of_the_horizon_is_ever_older_than_seven_days(far_refresh_days: int) -> None:
    """Simulate three years of daily ticks: the age of every week in the horizon (days since
    it was last refreshed, counted from when it entered the horizon) never exceeds 7."""
    p = policy(far_refresh_days=far_refresh_days)
    last_refreshed: dict[date, date] = {}
    start = date(2026, 1, 1)
    for i in range(3 * 365):
        day = start + timedelta(days=i)
        for r in p.daily_ranges(day):
            for week in weeks_of(r):
                last_refreshed[week] = day
        if i < 14:
            continue  # let every week of the first horizon be fetched once
        current = week_start_of(day)
        for offset in range(-1, 26):
            week = current + timedelta(weeks=offset)
            entered = week - timedelta(weeks=25)  # the Sunday it became the last week
            since = last_refreshed.get(week, entered)
            assert (day - max(since, entered)).days <= 6, (day, week, far_refresh_days)


def test_one_setting_gives_the_earlier_tools_policy() -> None:
    """All of 1 week back to 25 weeks ahead, daily, in one run per account."""
    settings = load_settings({"AIRBNB_SYNC_FAR_REFRESH_DAYS": "1"})
    p = RefreshPolicy.from_settings(settings)
    for i in range(7):
        day = SUNDAY + timedelta(days=i)
        # On Sunday the week 25 ahead ends 181 days ahead: beyond the 180-day horizon.
        last = SUNDAY + timedelta(weeks=24 if i == 0 else 25)
        assert p.daily_ranges(day) == [(SUNDAY - timedelta(weeks=1), last)]


def test_first_sync_covers_first_sync_weeks_back_to_the_lookahead_end() -> None:
    p = policy()
    assert p.first_sync_range(SUNDAY + timedelta(days=3), 25) == (
        SUNDAY - timedelta(weeks=25), SUNDAY + timedelta(weeks=25))
    # Started on a Sunday, it stops at the last week whose Saturday is within 180 days.
    assert p.first_sync_range(SUNDAY, 4) == (SUNDAY - timedelta(weeks=4),
                                             SUNDAY + timedelta(weeks=24))


def test_first_sync_is_clipped_to_what_airbnb_serves_and_to_the_grid() -> None:
    saturday = SUNDAY + timedelta(days=6)
    first, _ = policy().first_sync_range(saturday, 26)
    assert (saturday - first).days <= 180 < (saturday - first + timedelta(weeks=1)).days
    grid_start = SUNDAY - timedelta(weeks=2)
    assert policy(first_week=grid_start).first_sync_range(SUNDAY, 25)[0] == grid_start
    with pytest.raises(ValueError, match="AIRBNB_SYNC_FIRST_WEEK"):
        policy(first_week=SUNDAY + timedelta(weeks=30)).first_sync_range(SUNDAY, 25)


def test_near_tier_never_reaches_past_the_lookahead() -> None:
    p = RefreshPolicy.from_settings(load_settings({"AIRBNB_SYNC_LOOKAHEAD_WEEKS": "2"}))
    for i in range(7):
        assert max(refreshed_offsets(p, SUNDAY + timedelta(days=i))) == 2


@pytest.mark.parametrize("far_refresh_days", range(1, 8))
@pytest.mark.parametrize("horizon_days", [180, 177, 183])
def test_a_week_new_at_the_far_end_is_fetched_the_day_it_becomes_whole(
        far_refresh_days: int, horizon_days: int) -> None:
    """Every day of three years: the furthest week asked for ends within the horizon, and a
    week that is reachable today but was not yesterday is in today's ranges."""
    p = policy(far_refresh_days=far_refresh_days, horizon_days=horizon_days)
    start = date(2026, 1, 1)
    for i in range(3 * 365):
        day = start + timedelta(days=i)
        weeks = {week for r in p.daily_ranges(day) for week in weeks_of(r)}
        assert max(weeks) + timedelta(days=6) <= day + timedelta(days=horizon_days)
        assert min(weeks) >= day - timedelta(days=horizon_days)
        newest = p.last_reachable_week(day)
        if newest != p.last_reachable_week(day - timedelta(days=1)):
            assert newest in weeks, (day, newest)


@pytest.mark.parametrize("horizon_days", [180, 175])
def test_first_syncs_ask_for_whole_weeks_inside_the_horizon_only(horizon_days: int) -> None:
    p = RefreshPolicy.from_settings(load_settings(
        {"AIRBNB_SYNC_HORIZON_DAYS": str(horizon_days), "AIRBNB_SYNC_FIRST_SYNC_WEEKS": "26"}))
    for i in range(14):
        day = SUNDAY + timedelta(days=i)
        first, last = p.first_sync_range(day, 26)
        assert last + timedelta(days=6) <= day + timedelta(days=horizon_days)
        assert last + timedelta(days=13) > day + timedelta(days=horizon_days) or \
            last == week_start_of(day) + timedelta(weeks=25)  # or the lookahead's end
        assert first >= day - timedelta(days=horizon_days)
