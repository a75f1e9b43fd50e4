"""How many requests one account may send in a day, and in one run.

An account's requests are serialized by its lease and spaced by the pacer, so a day holds a
fixed number of them: that is the budget the daily plan must fit (sync/planner.py). A share is
kept back for what the plan cannot foresee: retries, and first syncs of listings that appear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from airbnb_sync.airbnb.pacing import DEFAULT_JITTER
from airbnb_sync.core.settings import Settings

SECONDS_PER_DAY = 86_400
# A request is never free, whatever the pacing says: with no pacing (tests, the simulator)
# a day is still counted as at most one request a second.
MIN_SECONDS_PER_REQUEST = 1.0


def mean_seconds_per_request(min_interval: float, jitter: float = DEFAULT_JITTER) -> float:
    """The pacer waits min_interval x (1 + uniform(0, jitter)): on average x (1 + jitter / 2)."""
    return max(MIN_SECONDS_PER_REQUEST, min_interval * (1 + jitter / 2))


@dataclass(frozen=True)
class Budget:
    """An account's requests per day, of which `reserved` are not planned."""

    daily: int
    reserve_share: float = 0.15
    derived: bool = False  # True: from the pacing, not AIRBNB_SYNC_DAILY_REQUEST_BUDGET

    def __post_init__(self) -> None:
        if self.daily < 1:
            raise ValueError(f"a daily budget must be at least 1 request, got {self.daily}")
        if not 0 <= self.reserve_share < 1:
            raise ValueError(f"reserve_share must be in 0..1, got {self.reserve_share}")

    @property
    def reserved(self) -> int:
        return math.ceil(self.daily * self.reserve_share)

    @property
    def plannable(self) -> int:
        """What the daily plan may spend."""
        return self.daily - self.reserved


def daily_budget(settings: Settings) -> Budget:
    """AIRBNB_SYNC_DAILY_REQUEST_BUDGET, or a day's worth of requests at the mean pacing."""
    if settings.daily_request_budget is not None:
        return Budget(settings.daily_request_budget, settings.budget_reserve)
    per_request = mean_seconds_per_request(settings.min_request_interval)
    return Budget(int(SECONDS_PER_DAY // per_request), settings.budget_reserve, derived=True)


def max_run_requests(settings: Settings) -> int:
    """Requests that fit in AIRBNB_SYNC_MAX_RUN_MINUTES at the mean pacing."""
    per_request = mean_seconds_per_request(settings.min_request_interval)
    return max(1, int(settings.max_run_minutes * 60 // per_request))
