"""The request planner: week arithmetic, the reachable horizon, windows, anchor calibration."""

from __future__ import annotations

import math
from datetime import date, timedelta
from itertools import pairwise

import pytest

from airbnb_sync.airbnb.errors import SchemaDrift, WeekOutOfRange
from airbnb_sync.airbnb.operations import METRIC_GROUPS
from airbnb_sync.airbnb.windows import (
    Anchor,
    DateWindow,
    Horizon,
    RequestPlan,
    chart_windows,
    check_reachable,
    measure_shift,
    plan_requests,
    reachable_horizon,
    week_end,
    week_start_of,
    week_windows,
)

DS_PATH = "data.porygon.getPerformanceComponents.components[0].metricLineCharts[*].dataPoints[*].ds"

SUNDAY = date(2025, 6, 1)  # a known Sunday
WEEK = timedelta(days=7)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def sundays(first: date, count: int) -> list[date]:
    return [first + i * WEEK for i in range(count)]


# --- week arithmetic -------------------------------------------------------------------------

def test_week_start_of_every_weekday_of_a_week() -> None:
    for i in range(7):
        day = SUNDAY + timedelta(days=i)
        assert week_start_of(day) == SUNDAY, day
    assert week_start_of(SUNDAY - timedelta(days=1)) == SUNDAY - WEEK
    assert week_start_of(SUNDAY + WEEK) == SUNDAY + WEEK


def test_week_start_of_is_a_sunday_on_or_before_for_two_years_of_days() -> None:
    day = date(2023, 12, 1)
    while day < date(2026, 2, 1):
        start = week_start_of(day)
        assert start.isoweekday() == 7
        assert 0 <= (day - start).days <= 6
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "expected_start"),
    [
        (date(2025, 1, 1), date(2024, 12, 29)),   # Wednesday; week spans the year end
        (date(2024, 12, 31), date(2024, 12, 29)),
        (date(2027, 1, 1), date(2026, 12, 27)),   # Friday
        (date(2024, 2, 29), date(2024, 2, 25)),   # leap day (Thursday)
        (date(2024, 3, 2), date(2024, 2, 25)),    # Saturday after the leap day
        (date(2028, 3, 1), date(2028, 2, 27)),    # 2028 is a leap year too
        (date(2023, 1, 1), date(2023, 1, 1)),     # a Sunday on New Year's day
    ],
)
def test_week_start_of_across_year_ends_and_leap_days(day: date, expected_start: date) -> None:
    assert week_start_of(day) == expected_start


def test_week_end_is_the_saturday_six_days_later() -> None:
    assert week_end(date(2024, 12, 29)) == date(2025, 1, 4)
    assert week_end(date(2024, 2, 25)) == date(2024, 3, 2)
    assert week_end(SUNDAY).isoweekday() == 6


# --- horizon -----------------------------------------------------------------------------

def test_horizon_for_every_weekday_as_today() -> None:
    for i in range(7):
        today = SUNDAY + timedelta(days=i)
        horizon = reachable_horizon(today, lookahead_weeks=25)
        assert horizon.last_week == SUNDAY + 25 * WEEK
        # The first week is the earliest whose Saturday is no more than 180 days ago.
        assert week_end(horizon.first_week) >= today - timedelta(days=180)
        assert week_end(horizon.first_week - WEEK) < today - timedelta(days=180)
        assert horizon.first_week.isoweekday() == 7


def test_horizon_first_week_when_its_saturday_is_exactly_180_days_ago() -> None:
    today = date(2025, 6, 4)  # Wednesday
    cutoff = today - timedelta(days=180)  # 2024-12-06, a Friday
    horizon = reachable_horizon(today, lookahead_weeks=0)
    assert cutoff == date(2024, 12, 6)
    assert horizon.first_week == date(2024, 12, 1)  # Saturday 2024-12-07 >= cutoff
    assert horizon.last_week == date(2025, 6, 1)

    today_on_saturday_boundary = date(2025, 6, 5)  # cutoff = Saturday 2024-12-07
    assert reachable_horizon(today_on_saturday_boundary, 0).first_week == date(2024, 12, 1)
    one_day_later = date(2025, 6, 6)  # cutoff = Sunday 2024-12-08: the week of Dec 1 is gone
    assert reachable_horizon(one_day_later, 0).first_week == date(2024, 12, 8)


def test_horizon_back_days_is_configurable() -> None:
    horizon = reachable_horizon(date(2025, 6, 4), lookahead_weeks=1, back_days=7)
    # cutoff 2025-05-28 (Wednesday) -> the week of 2025-05-25 still ends after it
    assert horizon.first_week == date(2025, 5, 25)
    assert horizon.last_week == date(2025, 6, 8)
    assert horizon.weeks() == [date(2025, 5, 25), date(2025, 6, 1), date(2025, 6, 8)]


def test_horizon_weeks_and_contains() -> None:
    horizon = reachable_horizon(date(2025, 1, 1), lookahead_weeks=25)
    weeks = horizon.weeks()
    assert weeks[0] == horizon.first_week and weeks[-1] == horizon.last_week
    assert all(b - a == WEEK for a, b in pairwise(weeks))
    for week in weeks:
        assert week in horizon
    assert horizon.first_week - WEEK not in horizon
    assert horizon.last_week + WEEK not in horizon
    # Any day of a served week counts; the horizon is about weeks.
    assert horizon.first_week + timedelta(days=3) in horizon
    assert week_end(horizon.last_week) in horizon
    assert week_end(horizon.last_week) + timedelta(days=1) not in horizon


def test_horizon_str_names_the_range() -> None:
    horizon = Horizon(date(2025, 1, 5), date(2025, 3, 2))
    text = str(horizon)
    assert "2025-01-05" in text
    assert "2025-03-02" in text
    assert "2025-03-08" in text  # the last day served


def test_horizon_rejects_non_sundays_and_reversed_ranges() -> None:
    with pytest.raises(ValueError, match="Sunday"):
        Horizon(date(2025, 1, 6), date(2025, 3, 2))
    with pytest.raises(ValueError, match="Sunday"):
        Horizon(date(2025, 1, 5), date(2025, 3, 1))
    with pytest.raises(ValueError, match="after"):
        Horizon(date(2025, 3, 2), date(2025, 1, 5))
    with pytest.raises(ValueError, match="lookahead"):
        reachable_horizon(date(2025, 1, 1), lookahead_weeks=-1)


# --- check_reachable -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "today",
    [date(2025, 6, 1) + timedelta(days=i) for i in range(7)]  # every weekday
    + [date(2024, 12, 31), date(2025, 1, 1), date(2024, 2, 29), date(2024, 8, 28)],
)
def test_check_reachable_accepts_both_edges_and_refuses_one_week_beyond(today: date) -> None:
    horizon = reachable_horizon(today, lookahead_weeks=25)
    assert horizon.last_week == week_start_of(today) + 25 * WEEK
    assert check_reachable([horizon.first_week, horizon.last_week], horizon) == [
        horizon.first_week, horizon.last_week,
    ]

    too_early = horizon.first_week - WEEK
    with pytest.raises(WeekOutOfRange) as early:
        check_reachable([horizon.first_week, too_early], horizon)
    message = str(early.value)
    assert too_early.isoformat() in message
    assert horizon.first_week.isoformat() in message
    assert horizon.last_week.isoformat() in message
    assert "choose" in message.lower()

    too_late = horizon.last_week + WEEK
    with pytest.raises(WeekOutOfRange) as late:
        check_reachable([too_late], horizon)
    assert too_late.isoformat() in str(late.value)


def test_check_reachable_names_every_offending_run_of_weeks() -> None:
    horizon = Horizon(date(2025, 3, 2), date(2025, 4, 27))
    early = sundays(date(2025, 1, 5), 3)  # 2025-01-05..2025-01-19
    late = [date(2025, 6, 1)]
    with pytest.raises(WeekOutOfRange) as refused:
        check_reachable([*early, date(2025, 3, 9), *late], horizon)
    message = str(refused.value)
    assert "2025-01-05" in message and "2025-01-19" in message and "2025-06-01" in message
    assert "2025-03-09" not in message  # a served week is not blamed


def test_check_reachable_normalises_and_rejects_non_sundays() -> None:
    horizon = Horizon(date(2025, 3, 2), date(2025, 4, 27))
    weeks = [date(2025, 3, 16), date(2025, 3, 2), date(2025, 3, 16)]
    assert check_reachable(weeks, horizon) == [date(2025, 3, 2), date(2025, 3, 16)]
    with pytest.raises(ValueError, match=r"Sunday.*2025-03-04") as bad:
        check_reachable([date(2025, 3, 4)], horizon)
    assert not isinstance(bad.value, WeekOutOfRange)


def test_week_out_of_range_is_raised_for_out_of_range_weeks_that_are_sundays_only() -> None:
    horizon = Horizon(date(2025, 3, 2), date(2025, 4, 27))
    # A non-Sunday is a programming or input error, reported as such even when out of range.
    with pytest.raises(ValueError, match="Sunday") as bad:
        check_reachable([date(2020, 1, 1)], horizon)
    assert not isinstance(bad.value, WeekOutOfRange)


# --- DateWindow ----------------------------------------------------------------------------

def test_date_window_days_and_iteration() -> None:
    window = DateWindow(date(2024, 12, 29), date(2025, 1, 25))
    assert window.days == 28
    assert list(window) == days_between(date(2024, 12, 29), date(2025, 1, 25))
    leap = DateWindow(date(2024, 2, 25), date(2024, 3, 2))
    assert leap.days == 7 and date(2024, 2, 29) in list(leap)
    assert DateWindow(SUNDAY, SUNDAY).days == 1
    with pytest.raises(ValueError, match="before"):
        DateWindow(date(2025, 1, 2), date(2025, 1, 1))


# --- chart windows -------------------------------------------------------------------------

@pytest.mark.parametrize("count", range(1, 61))
def test_chart_windows_for_a_run_of_consecutive_weeks(count: int) -> None:
    weeks = sundays(date(2024, 11, 3), count)  # crosses a year end and a leap-free February
    windows = chart_windows(weeks)
    assert len(windows) == math.ceil(7 * count / 28)
    for window in windows:
        assert window.start.isoweekday() == 7
        assert window.end.isoweekday() == 6
        assert window.days <= 28 and window.days % 7 == 0
    # Together they cover exactly the requested days, in order, without overlap.
    covered = [day for window in windows for day in window]
    assert covered == days_between(weeks[0], week_end(weeks[-1]))


def test_chart_windows_never_span_a_gap() -> None:
    run_a = sundays(date(2025, 1, 5), 2)
    run_b = sundays(date(2025, 2, 2), 5)  # 2025-01-19 and 2025-01-26 missing
    windows = chart_windows([*run_b, *run_a])  # unsorted on purpose
    assert windows == [
        DateWindow(date(2025, 1, 5), date(2025, 1, 18)),
        DateWindow(date(2025, 2, 2), date(2025, 3, 1)),
        DateWindow(date(2025, 3, 2), date(2025, 3, 8)),
    ]
    requested = {day for week in [*run_a, *run_b] for day in DateWindow(week, week_end(week))}
    covered = [day for window in windows for day in window]
    assert sorted(covered) == sorted(requested) and len(covered) == len(set(covered))


def test_chart_windows_split_at_a_single_missing_week() -> None:
    weeks = [date(2024, 12, 22), date(2025, 1, 5), date(2025, 1, 12)]  # 2024-12-29 missing
    assert chart_windows(weeks) == [
        DateWindow(date(2024, 12, 22), date(2024, 12, 28)),
        DateWindow(date(2025, 1, 5), date(2025, 1, 18)),
    ]


def test_chart_windows_normalise_duplicates_and_order() -> None:
    weeks = [date(2025, 1, 19), date(2025, 1, 5), date(2025, 1, 12), date(2025, 1, 5)]
    assert chart_windows(weeks) == [DateWindow(date(2025, 1, 5), date(2025, 1, 25))]
    assert chart_windows([]) == []


def test_chart_windows_across_a_leap_february() -> None:
    weeks = sundays(date(2024, 2, 4), 5)
    windows = chart_windows(weeks)
    assert windows == [
        DateWindow(date(2024, 2, 4), date(2024, 3, 2)),
        DateWindow(date(2024, 3, 3), date(2024, 3, 9)),
    ]
    assert date(2024, 2, 29) in list(windows[0])


def test_chart_windows_honour_a_smaller_maximum_and_refuse_less_than_a_week() -> None:
    weeks = sundays(SUNDAY, 5)
    windows = chart_windows(weeks, max_days=14)
    assert [w.days for w in windows] == [14, 14, 7]
    assert [w.days for w in chart_windows(weeks, max_days=20)] == [14, 14, 7]
    with pytest.raises(ValueError, match="at least 7"):
        chart_windows(weeks, max_days=6)


def test_chart_and_week_windows_reject_non_sundays() -> None:
    with pytest.raises(ValueError, match="Sunday"):
        chart_windows([date(2025, 6, 2)])
    with pytest.raises(ValueError, match="Sunday"):
        week_windows([date(2025, 6, 2)])


# --- week windows --------------------------------------------------------------------------

def test_week_windows_one_sunday_to_saturday_window_per_week() -> None:
    weeks = [date(2025, 1, 12), date(2024, 12, 29), date(2025, 1, 12)]
    assert week_windows(weeks) == [
        DateWindow(date(2024, 12, 29), date(2025, 1, 4)),
        DateWindow(date(2025, 1, 12), date(2025, 1, 18)),
    ]
    assert week_windows([]) == []


# --- anchor --------------------------------------------------------------------------------

def test_anchor_default_and_offsets() -> None:
    today = date(2025, 1, 2)
    anchor = Anchor.default(today)
    assert anchor.day == date(2024, 12, 30)
    assert anchor.offset(date(2024, 12, 30)) == 0
    assert anchor.offset(today) == 3
    assert anchor.offset(date(2024, 12, 1)) == -29
    window = DateWindow(date(2025, 1, 5), date(2025, 2, 1))
    assert anchor.offsets(window) == (6, 33)
    assert Anchor.default(today, lag_days=0).offsets(window) == (3, 30)
    assert Anchor.default(date(2024, 3, 1), lag_days=1).day == date(2024, 2, 29)


def test_anchor_correction_recovers_the_real_anchor() -> None:
    """We send offsets from our anchor; Airbnb answers from its own. The shift recovers it."""
    requested = DateWindow(date(2025, 1, 12), date(2025, 2, 8))
    assumed = Anchor.default(date(2025, 2, 20))
    for real_lag in range(-1, 8):
        real = Anchor.default(date(2025, 2, 20), lag_days=real_lag)
        start, end = assumed.offsets(requested)
        # What Airbnb would serve for those offsets from its real anchor:
        served = days_between(real.day + timedelta(days=start), real.day + timedelta(days=end))
        shift = measure_shift(requested, served)
        corrected = assumed.corrected(shift)
        assert corrected == real
        # With the corrected anchor the same window lands on the requested days.
        start, end = corrected.offsets(requested)
        assert real.day + timedelta(days=start) == requested.start
        assert real.day + timedelta(days=end) == requested.end


# --- measure_shift -------------------------------------------------------------------------

REQUESTED = DateWindow(date(2025, 1, 12), date(2025, 2, 8))  # the 28 days of the sample


@pytest.mark.parametrize("shift", range(-3, 4))
def test_measure_shift_of_a_shifted_but_complete_answer(shift: int) -> None:
    moved = timedelta(days=shift)
    returned = days_between(REQUESTED.start + moved, REQUESTED.end + moved)
    assert measure_shift(REQUESTED, returned) == shift


def test_measure_shift_of_a_one_day_window_and_of_tuples() -> None:
    single = DateWindow(SUNDAY, SUNDAY)
    assert measure_shift(single, (SUNDAY + timedelta(days=2),)) == 2


def drift_reason(returned: list[date], requested: DateWindow = REQUESTED) -> str:
    with pytest.raises(SchemaDrift) as drift:
        measure_shift(requested, returned, operation="ChartQuery")
    assert drift.value.operation == "ChartQuery"
    assert drift.value.path == DS_PATH
    message = str(drift.value)
    assert "2025-01-12" in message and "2025-02-08" in message  # names what was asked
    return message


def test_measure_shift_refuses_an_empty_answer() -> None:
    assert "no " in drift_reason([]).lower()


def test_measure_shift_refuses_a_gap() -> None:
    returned = [d for d in days_between(REQUESTED.start, REQUESTED.end) if d != date(2025, 1, 21)]
    message = drift_reason(returned)
    assert "27" in message and "gap" in message and "2025-01-20" in message


def test_measure_shift_refuses_a_gap_even_when_the_count_matches() -> None:
    days = days_between(REQUESTED.start, REQUESTED.end + timedelta(days=1))
    days.remove(date(2025, 1, 21))
    assert len(days) == REQUESTED.days
    assert "gap" in drift_reason(days)


def test_measure_shift_refuses_duplicates() -> None:
    days = days_between(REQUESTED.start, REQUESTED.end)
    days[5] = days[4]
    message = drift_reason(days)
    assert days[4].isoformat() in message and "twice" in message


def test_measure_shift_refuses_descending_dates() -> None:
    days = days_between(REQUESTED.start, REQUESTED.end)
    assert "ascending" in drift_reason(list(reversed(days)))
    swapped = days.copy()
    swapped[3], swapped[4] = swapped[4], swapped[3]
    assert "ascending" in drift_reason(swapped)


def test_measure_shift_refuses_a_missing_day_at_either_end() -> None:
    days = days_between(REQUESTED.start, REQUESTED.end)
    assert "27" in drift_reason(days[1:])
    assert "27" in drift_reason(days[:-1])
    assert "29" in drift_reason([*days, REQUESTED.end + timedelta(days=1)])


def test_measure_shift_refuses_an_implausible_shift() -> None:
    for shift in (15, -15, 60, -200):
        moved = timedelta(days=shift)
        returned = days_between(REQUESTED.start + moved, REQUESTED.end + moved)
        assert "implausible" in drift_reason(returned)
    edge = timedelta(days=14)
    at_limit = days_between(REQUESTED.start + edge, REQUESTED.end + edge)
    assert measure_shift(REQUESTED, at_limit) == 14


def test_measure_shift_names_the_operation() -> None:
    with pytest.raises(SchemaDrift) as drift:
        measure_shift(REQUESTED, [], operation="ListOfMetricsQuery")
    assert drift.value.operation == "ListOfMetricsQuery"
    assert str(drift.value).startswith("ListOfMetricsQuery")


# --- plan_requests -------------------------------------------------------------------------

def test_plan_requests_for_a_first_sync() -> None:
    today = date(2025, 6, 4)  # Wednesday
    horizon = reachable_horizon(today, lookahead_weeks=25)
    weeks = list(reversed(horizon.weeks()))  # the whole horizon, reversed
    plan = plan_requests(weeks, today, horizon)
    assert isinstance(plan, RequestPlan)
    assert list(plan.weeks) == horizon.weeks()
    assert list(plan.chart_windows) == chart_windows(weeks)
    assert list(plan.week_windows) == week_windows(weeks)
    assert plan.anchor == Anchor.default(today, lag_days=3)
    n_weeks = len(horizon.weeks())
    n_charts = math.ceil(n_weeks / 4)
    per_listing = len(METRIC_GROUPS) * (n_charts + n_weeks)
    assert plan.request_count(listings=7) == 7 * per_listing + 1
    assert plan.request_count(listings=0) == 1


def test_plan_requests_uses_the_given_lag_and_normalises_weeks() -> None:
    today = date(2024, 12, 31)
    horizon = reachable_horizon(today, lookahead_weeks=2)
    weeks = [date(2025, 1, 5), date(2024, 12, 29), date(2025, 1, 5), date(2025, 1, 12)]
    plan = plan_requests(weeks, today, horizon, anchor_lag_days=1)
    assert list(plan.weeks) == [date(2024, 12, 29), date(2025, 1, 5), date(2025, 1, 12)]
    assert plan.anchor.day == date(2024, 12, 30)
    assert list(plan.chart_windows) == [DateWindow(date(2024, 12, 29), date(2025, 1, 18))]
    assert plan.request_count(listings=2) == 2 * (2 * 1 + 2 * 3) + 1


def test_plan_requests_refuses_before_planning() -> None:
    today = date(2025, 6, 4)
    horizon = reachable_horizon(today, lookahead_weeks=25)
    with pytest.raises(WeekOutOfRange):
        plan_requests([horizon.last_week + WEEK], today, horizon)
    with pytest.raises(ValueError, match="Sunday"):
        plan_requests([date(2025, 6, 4)], today, horizon)
    with pytest.raises(ValueError, match="no weeks"):
        plan_requests([], today, horizon)
    plan = plan_requests([horizon.first_week], today, horizon)
    with pytest.raises(ValueError, match="listings"):
        plan.request_count(listings=-1)
