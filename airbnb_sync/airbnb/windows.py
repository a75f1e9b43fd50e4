"""Which requests cover a set of weeks: the reachable horizon, windows and relative offsets.

Airbnb addresses dates as day offsets from an anchor day it does not disclose. Everything date
related that decides what is sent lives here, as plain functions of `today`, so that it can be
tested for every weekday, year end and edge of the horizon without a clock or a network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import pairwise

from airbnb_sync.airbnb.errors import SchemaDrift, WeekOutOfRange
from airbnb_sync.airbnb.operations import METRIC_GROUPS

ONE_DAY = timedelta(days=1)
ONE_WEEK = timedelta(days=7)

# How far back Airbnb serves insights, in days (README of the observed API).
BACK_DAYS = 180
# How far back and ahead of today Airbnb serves, in days: AIRBNB_SYNC_HORIZON_DAYS's default.
HORIZON_DAYS = 180
# ChartQuery windows the earlier tool used successfully.
MAX_CHART_DAYS = 28
# An anchor that moved further than this is more likely a format change than a drift.
MAX_PLAUSIBLE_SHIFT = 14

CHART_DATES_PATH = (
    "data.porygon.getPerformanceComponents.components[0].metricLineCharts[*].dataPoints[*].ds"
)


# --- weeks ---------------------------------------------------------------------------------

def week_start_of(day: date) -> date:
    """The Sunday on or before `day`: weeks run Sunday..Saturday, named by their Sunday."""
    return day - timedelta(days=day.isoweekday() % 7)


def week_end(week_start: date) -> date:
    """The Saturday that closes the week starting on `week_start`."""
    return week_start + timedelta(days=6)


def _require_sundays(weeks: Iterable[date]) -> list[date]:
    """Sorted, de-duplicated week starts; a non-Sunday is a caller's mistake, not a range issue."""
    unique = sorted(set(weeks))
    wrong = [week for week in unique if week.isoweekday() != 7]
    if wrong:
        listed = ", ".join(f"{week} ({week:%A})" for week in wrong)
        raise ValueError(f"weeks are named by their Sunday, but got {listed}")
    return unique


def _runs(weeks: Sequence[date]) -> list[list[date]]:
    """Split sorted week starts into runs of consecutive weeks."""
    runs: list[list[date]] = []
    for week in weeks:
        if runs and week - runs[-1][-1] == ONE_WEEK:
            runs[-1].append(week)
        else:
            runs.append([week])
    return runs


def _describe_runs(weeks: Sequence[date]) -> str:
    """'2025-01-05 through 2025-01-19 (3 weeks), 2025-06-01' - short even for long lists."""
    parts = []
    for run in _runs(weeks):
        if len(run) == 1:
            parts.append(run[0].isoformat())
        else:
            parts.append(f"{run[0]} through {run[-1]} ({len(run)} weeks)")
    return ", ".join(parts)


# --- horizon -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Horizon:
    """The weeks Airbnb serves today, both ends inclusive, each named by its Sunday."""

    first_week: date
    last_week: date

    def __post_init__(self) -> None:
        _require_sundays([self.first_week, self.last_week])
        if self.first_week > self.last_week:
            raise ValueError(f"horizon starts {self.first_week}, after its end {self.last_week}")

    def weeks(self) -> list[date]:
        count = (self.last_week - self.first_week).days // 7 + 1
        return [self.first_week + i * ONE_WEEK for i in range(count)]

    def __contains__(self, day: object) -> bool:
        """True for any day of a served week (a week start is just one such day)."""
        if not isinstance(day, date):
            return False
        return self.first_week <= day <= week_end(self.last_week)

    def __str__(self) -> str:
        return (
            f"{self.first_week}..{week_end(self.last_week)} "
            f"(weeks starting {self.first_week} through {self.last_week})"
        )


def reachable_horizon(today: date, lookahead_weeks: int, back_days: int = BACK_DAYS,
                      ahead_days: int | None = None) -> Horizon:
    """Weeks Airbnb serves: from the first one ending no more than `back_days` ago through
    the current week plus `lookahead_weeks` (future stay dates carry data too). With
    `ahead_days`, the last week is also the last one whose Saturday is served: on a Sunday,
    the current week plus 25 ends 181 days ahead, beyond Airbnb's 180."""
    if lookahead_weeks < 0:
        raise ValueError(f"lookahead_weeks must not be negative, got {lookahead_weeks}")
    if back_days < 0:
        raise ValueError(f"back_days must not be negative, got {back_days}")
    if ahead_days is not None and ahead_days < 6:
        raise ValueError(f"ahead_days must serve the current week (>= 6), got {ahead_days}")
    # The week containing the cutoff day is the first whose Saturday is on or after it.
    first_week = week_start_of(today - timedelta(days=back_days))
    last_week = week_start_of(today) + lookahead_weeks * ONE_WEEK
    if ahead_days is not None:
        last_week = min(last_week, last_whole_week(today, ahead_days))
    return Horizon(first_week, last_week)


def last_whole_week(today: date, ahead_days: int) -> date:
    """The last week whose every day is at most `ahead_days` after today."""
    return week_start_of(today + timedelta(days=ahead_days - 6))


def first_whole_week(today: date, back_days: int) -> date:
    """The first week whose every day is at most `back_days` before today."""
    return week_start_of(today - timedelta(days=back_days - 6))


def check_reachable(weeks: Iterable[date], horizon: Horizon) -> list[date]:
    """Refuse weeks outside the horizon before any request is sent; return them sorted."""
    unique = _require_sundays(weeks)
    outside = [week for week in unique if week not in horizon]
    if outside:
        raise WeekOutOfRange(
            f"Airbnb does not serve the week(s) {_describe_runs(outside)}: today it serves "
            f"{horizon}. Choose weeks inside that range (partitions of older weeks can no "
            "longer be fetched; later weeks become available as time passes)."
        )
    return unique


# --- windows -------------------------------------------------------------------------------

@dataclass(frozen=True)
class DateWindow:
    """An inclusive range of days, as Airbnb's relativeDsStart/End describe it."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __iter__(self) -> Iterator[date]:
        return (self.start + i * ONE_DAY for i in range(self.days))

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


def chart_windows(weeks: Iterable[date], max_days: int = MAX_CHART_DAYS) -> list[DateWindow]:
    """ChartQuery windows: whole weeks, merged across consecutive requested weeks to save
    requests, at most `max_days` long, never spanning a week that was not asked for."""
    if max_days < 7:
        raise ValueError(f"max_days must be at least 7 (one week), got {max_days}")
    weeks_per_window = max_days // 7
    windows = []
    for run in _runs(_require_sundays(weeks)):
        for i in range(0, len(run), weeks_per_window):
            chunk = run[i : i + weeks_per_window]
            windows.append(DateWindow(chunk[0], week_end(chunk[-1])))
    return windows


def week_windows(weeks: Iterable[date]) -> list[DateWindow]:
    """ListOfMetricsQuery windows: one Sunday..Saturday window per week (figures are per week)."""
    return [DateWindow(week, week_end(week)) for week in _require_sundays(weeks)]


# --- anchor --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Anchor:
    """The day Airbnb counts relative offsets from: offset = (date - anchor).days."""

    day: date

    @classmethod
    def default(cls, today: date, lag_days: int = 3) -> Anchor:
        """Airbnb's last observed anchor: a few days before today (AIRBNB_SYNC_ANCHOR_LAG_DAYS)."""
        return cls(today - timedelta(days=lag_days))

    def offset(self, day: date) -> int:
        return (day - self.day).days

    def offsets(self, window: DateWindow) -> tuple[int, int]:
        """(relativeDsStart, relativeDsEnd) of a window, both inclusive."""
        return self.offset(window.start), self.offset(window.end)

    def corrected(self, shift: int) -> Anchor:
        """The real anchor, given the shift Airbnb's dates showed (see measure_shift)."""
        return replace(self, day=self.day + timedelta(days=shift))


def measure_shift(
    requested: DateWindow,
    returned_days: Sequence[date],
    operation: str = "ChartQuery",
    max_shift: int = MAX_PLAUSIBLE_SHIFT,
) -> int:
    """How many days Airbnb's answer is shifted from what was asked (0 when aligned).

    We sent offset = date - A; Airbnb answered A_real + offset, so the first returned date is
    requested.start + (A_real - A). Anything but one ascending day per requested day means the
    response cannot be trusted, and is reported as schema drift instead of being guessed at.
    """

    def drift(detail: str) -> SchemaDrift:
        expected = f"expected {requested.days} consecutive days {requested}"
        return SchemaDrift(operation, CHART_DATES_PATH, f"{expected}, got {detail}")

    if not returned_days:
        raise drift("no dates at all")
    count = len(returned_days)
    # Order problems first: a shuffled answer would otherwise be reported as a gap.
    for before, after in pairwise(returned_days):
        if after == before:
            raise drift(f"{count} dates with {after} twice")
        if after < before:
            raise drift(f"{count} dates not in ascending order ({after} after {before})")
    for before, after in pairwise(returned_days):
        if after - before > ONE_DAY:
            raise drift(f"{count} days with a gap after {before} (next is {after})")
    first, last = returned_days[0], returned_days[-1]
    if count != requested.days:
        raise drift(f"{count} consecutive days {first}..{last}")
    shift = (first - requested.start).days
    if abs(shift) > max_shift:
        raise drift(
            f"{first}..{last}, {abs(shift)} days {'later' if shift > 0 else 'earlier'}; an anchor "
            f"shift of more than {max_shift} days is implausible"
        )
    return shift


# --- plan ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestPlan:
    """Everything one run will ask Airbnb for one account, decided before the first request."""

    weeks: tuple[date, ...]
    chart_windows: tuple[DateWindow, ...]
    week_windows: tuple[DateWindow, ...]
    anchor: Anchor

    def request_count(self, listings: int) -> int:
        """Requests the plan costs: both metric groups per window and listing, plus the
        one ListingsSectionQuery. Useful to log and to estimate a run's duration."""
        if listings < 0:
            raise ValueError(f"listings must not be negative, got {listings}")
        windows = len(self.chart_windows) + len(self.week_windows)
        return listings * len(METRIC_GROUPS) * windows + 1


def plan_requests(
    weeks: Iterable[date], today: date, horizon: Horizon, anchor_lag_days: int = 3
) -> RequestPlan:
    """Check the weeks against the horizon, then plan their windows and the default anchor."""
    unique = check_reachable(weeks, horizon)
    if not unique:
        raise ValueError("no weeks requested: a plan needs at least one week")
    return RequestPlan(
        weeks=tuple(unique),
        chart_windows=tuple(chart_windows(unique)),
        week_windows=tuple(week_windows(unique)),
        anchor=Anchor.default(today, lag_days=anchor_lag_days),
    )
