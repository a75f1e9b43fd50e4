"""Which weeks the daily schedule and a first sync ask Airbnb for (plain date arithmetic).

Figures for near stay dates move every day, figures months ahead barely do. So the daily
sync is tiered: the near weeks are refreshed every day, the far weeks once every
`far_refresh_days` days, as contiguous blocks that rotate over the days of the week (block
`weekday % far_refresh_days`, Sunday = 0). A block is a contiguous range of week *offsets*
from the current week, and offsets only shrink as time passes, so a week's block index
never grows: whichever day its block came up on this week, its (same or lower) block comes
up again within 7 days even across a week boundary (the tests check every day of several
years). With `far_refresh_days=1` every week is refreshed daily, like the earlier tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from airbnb_sync.airbnb.windows import (
    HORIZON_DAYS,
    Horizon,
    first_whole_week,
    reachable_horizon,
    week_start_of,
)
from airbnb_sync.core.settings import Settings

ONE_WEEK = timedelta(days=7)
# Any Sunday: it makes the day index 0 on Sundays.
_A_SUNDAY = date(2023, 1, 1)

WeekRange = tuple[date, date]


@dataclass(frozen=True)
class MissedWeeks:
    """The weeks an outage kept from being refreshed: those still served, as ranges, and
    those that left Airbnb's horizon meanwhile (lost: nobody can fetch them any more)."""

    ranges: list[WeekRange]
    lost: list[date]


@dataclass(frozen=True)
class RefreshPolicy:
    """The tiers, in weeks relative to the current week (README: Settings settings)."""

    lookback_weeks: int
    near_ahead_weeks: int
    lookahead_weeks: int
    far_refresh_days: int
    first_week: date
    horizon_days: int = HORIZON_DAYS

    def __post_init__(self) -> None:
        if not 1 <= self.far_refresh_days <= 7:
            raise ValueError(f"far_refresh_days must be 1..7, got {self.far_refresh_days}")
        if min(self.lookback_weeks, self.near_ahead_weeks, self.lookahead_weeks) < 0:
            raise ValueError("week counts must not be negative")

    @classmethod
    def from_settings(cls, settings: Settings) -> RefreshPolicy:
        return cls(
            lookback_weeks=settings.daily_lookback_weeks,
            near_ahead_weeks=min(settings.daily_ahead_weeks, settings.lookahead_weeks),
            lookahead_weeks=settings.lookahead_weeks,
            far_refresh_days=settings.far_refresh_days,
            first_week=settings.first_week,
            horizon_days=settings.horizon_days,
        )

    def far_block(self, today: date) -> range:
        """The week offsets of today's far block (empty when nothing is due)."""
        first_far = self.near_ahead_weeks + 1
        count = max(0, self.lookahead_weeks - self.near_ahead_weeks)
        index = (today - _A_SUNDAY).days % 7 % self.far_refresh_days
        start = first_far + index * count // self.far_refresh_days
        end = first_far + (index + 1) * count // self.far_refresh_days
        return range(start, end)

    def daily_ranges(self, today: date) -> list[WeekRange]:
        """Today's contiguous week ranges: the near tier, today's far block, and the week
        that became reachable at the far end today (its block may come up only in 7 days)."""
        offsets = set(range(-self.lookback_weeks, self.near_ahead_weeks + 1))
        offsets |= set(self.far_block(today))
        current = week_start_of(today)
        weeks = {current + offset * ONE_WEEK for offset in offsets}
        newest = self.last_reachable_week(today)
        if newest != self.last_reachable_week(today - timedelta(days=1)):
            weeks.add(newest)
        return _contiguous(self._servable(sorted(weeks), today))

    def last_reachable_week(self, today: date) -> date:
        """The furthest week of the lookahead whose every day Airbnb serves today."""
        return self._horizon(today).last_week

    def first_sync_range(self, today: date, first_sync_weeks: int) -> WeekRange:
        """From `first_sync_weeks` before the current week through the lookahead end,
        clipped to what Airbnb still serves and to the partition grid."""
        current = week_start_of(today)
        weeks = [current + offset * ONE_WEEK
                 for offset in range(-first_sync_weeks, self.lookahead_weeks + 1)]
        servable = self._servable(weeks, today)
        if not servable:
            raise ValueError(f"no week of the first sync is on or after AIRBNB_SYNC_FIRST_WEEK="
                             f"{self.first_week}: set it to a Sunday before {today}")
        return servable[0], servable[-1]

    def servable_offsets(self, offsets: range, today: date) -> list[date]:
        """The weeks at these offsets from the current week that a run may ask for today."""
        current = week_start_of(today)
        return self._servable([current + offset * ONE_WEEK for offset in offsets], today)
    def missed_weeks(self, outage_start: date, today: date) -> MissedWeeks:
        """What the daily ticks from `outage_start` through `today` would have fetched, as
        today's contiguous ranges, and the weeks of it Airbnb no longer serves today."""
        wanted: set[date] = set()
        for offset in range((today - outage_start).days + 1):
            for weeks in self.daily_ranges(outage_start + timedelta(days=offset)):
                wanted.update(weeks_of(weeks))
        servable = self._servable(sorted(wanted), today)
        lost = sorted(wanted - set(servable))
        return MissedWeeks(_contiguous(servable), lost)

    def _horizon(self, today: date) -> Horizon:
        return reachable_horizon(today, self.lookahead_weeks, self.horizon_days,
                                 ahead_days=self.horizon_days)

    def servable_range(self, today: date) -> WeekRange:
        """The first and last week of the grid whose every day Airbnb serves today: a week
        cut by either edge of the horizon would be fetched incomplete."""
        horizon = self._horizon(today)
        first = max(self.first_week, first_whole_week(today, self.horizon_days),
                    horizon.first_week)
        return first, horizon.last_week

    def _servable(self, weeks: list[date], today: date) -> list[date]:
        first, last = self.servable_range(today)
        return [week for week in weeks if first <= week <= last]


def _contiguous(weeks: list[date]) -> list[WeekRange]:
    ranges: list[WeekRange] = []
    for week in weeks:
        if ranges and week - ranges[-1][1] == ONE_WEEK:
            ranges[-1] = (ranges[-1][0], week)
        else:
            ranges.append((week, week))
    return ranges


def weeks_of(week_range: WeekRange) -> list[date]:
    first, last = week_range
    return [first + i * ONE_WEEK for i in range((last - first).days // 7 + 1)]
