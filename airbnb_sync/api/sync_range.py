"""Which weeks a sync of `from`..`to` covers, and the refusals of a range that cannot be
synced: the weeks holding those days, each of which Airbnb must serve today and the partition
grid must hold. (`airbnb-sync sync --from --to` validates the same way; this is the one place
the API asks.)
"""

from __future__ import annotations

from datetime import date, timedelta

from airbnb_sync.airbnb.windows import reachable_horizon, week_start_of
from airbnb_sync.core.settings import Settings
from airbnb_sync.warehouse.installation import with_installation_first_week


class RangeRefused(ValueError):
    """The range cannot be synced; the message names the reachable weeks."""


def sync_weeks(settings: Settings, start: date, end: date, today: date) -> tuple[date, date]:
    """(first week, last week) of the days `start`..`end`, both ends included."""
    if start > end:
        raise RangeRefused(f"from {start} is after to {end}: give the earlier day as from")
    horizon = reachable_horizon(today, settings.lookahead_weeks, settings.horizon_days,
                                ahead_days=settings.horizon_days)
    grid_start = with_installation_first_week(settings).first_week
    first_reachable = max(horizon.first_week, grid_start)
    first, last = week_start_of(start), week_start_of(end)
    if first < first_reachable or last > horizon.last_week:
        raise RangeRefused(f"the weeks of {start} to {end} are not all syncable today: choose "
                           f"days from {first_reachable} to "
                           f"{horizon.last_week + timedelta(days=6)}")
    return first, last
