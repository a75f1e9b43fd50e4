"""The day's work of one account, fitted into its request budget (plain Python, no Dagster).

What a day costs is known before anything is sent: per run one ListingsSectionQuery, and per
listing both metric groups for every 28-day ChartQuery window (merged across consecutive
weeks) and every ListOfMetricsQuery week (`airbnb.windows`). So the plan is a pure function
of (listings, budget, tiers, today), and its cost model is the requests the sync sends.

The weeks of an account are refreshed in two ways:
- the **near** weeks (last week through `ahead` weeks after the current one) for every
  listing, every day;
- the **whole range** (last week through the last reachable week) for a rotating block of
  listings: listings sorted by id are cut into `rotation_days` blocks and block
  `day % rotation_days` is due today, so every listing's far weeks are refreshed exactly every
  `rotation_days` days, and a day's cost stays even (blocks differ by one listing at most).
  Rotating listings rather than weeks keeps each fetched range contiguous, so ChartQuery
  windows stay merged (2.5 requests per listing-week instead of 4).

When the ideal tiers (`RefreshPolicy`: the near weeks through AIRBNB_SYNC_DAILY_AHEAD_WEEKS,
the far ones every AIRBNB_SYNC_FAR_REFRESH_DAYS) do not fit, the plan gives up, in order:
the far weeks' rotation grows to FAR_TARGET_DAYS; the near weeks shrink to last, this and next
week; the rotation grows to MAX_ROTATION_DAYS; then the near weeks are kept daily only for the
listings with the most demand (the rest get them with their rotation), and the plan says that
the account is behind schedule. Staleness therefore grows smoothly with the listing count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from airbnb_sync.airbnb.operations import METRIC_GROUPS
from airbnb_sync.airbnb.windows import chart_windows
from airbnb_sync.sync.refresh import ONE_WEEK, RefreshPolicy

# The far weeks' rotation the plan gives up last week by week of the near tier for.
FAR_TARGET_DAYS = 14
# Beyond this rotation the near weeks of low-demand listings are given up instead.
MAX_ROTATION_DAYS = 42
# The near weeks kept daily as long as any listing is: last, this and next week.
CORE_AHEAD_WEEKS = 1
# Any Sunday: day indexes count from it, so a rotation does not depend on when it started.
_EPOCH = date(2023, 1, 1)

NEAR = "near"
ROTATION = "rotation"
FIRST_SYNC = "first_sync"


def listing_requests(weeks: Sequence[date]) -> int:
    """Requests one listing costs for a contiguous or scattered set of weeks in one run."""
    if not weeks:
        return 0
    return len(METRIC_GROUPS) * (len(chart_windows(weeks)) + len(set(weeks)))


def run_requests(weeks: Sequence[date], listings: int) -> int:
    """A run's requests: its ListingsSectionQuery, then each listing's metric requests
    (the visibility step reuses the anchor the conversion step measured: no probe)."""
    return 1 + listings * listing_requests(weeks)


def listings_per_run(per_listing: int, max_run: int) -> int:
    """How many listings fit in a run of at most `max_run` requests (one at least: a listing
    is never split across runs, so that its `complete` check means something)."""
    if per_listing <= 0:
        return 1
    return max(1, (max_run - 1) // per_listing)


def _runs(count: int, per_listing: int, max_run: int) -> int:
    return math.ceil(count / listings_per_run(per_listing, max_run)) if count else 0


def listing_order(listing_ids: Sequence[str]) -> list[str]:
    """Numeric order of Airbnb's digit ids (shorter first), stable across days."""
    return sorted(set(listing_ids), key=lambda listing: (len(listing), listing))


@dataclass(frozen=True)
class PlannedRun:
    """One run: a contiguous range of weeks for some of the account's listings."""

    tier: str  # NEAR or ROTATION
    first_week: date
    last_week: date
    listing_ids: tuple[str, ...]
    requests: int

    @property
    def weeks(self) -> list[date]:
        count = (self.last_week - self.first_week).days // 7 + 1
        return [self.first_week + i * ONE_WEEK for i in range(count)]


@dataclass(frozen=True)
class Promise:
    """What the plan can promise, in days between two refreshes of a week's figures."""

    ahead_weeks: int  # near tier: last week through this many weeks after the current one
    rotation_days: int  # every listing's whole range is refreshed this often
    daily_listings: int  # listings whose near weeks are refreshed daily
    listings: int

    @property
    def near_fits(self) -> bool:
        """Every listing's near weeks fit daily."""
        return self.daily_listings >= self.listings

    @property
    def near_days(self) -> int:
        """Oldest any near week gets (low-demand listings wait for their rotation)."""
        return 1 if self.near_fits else self.rotation_days

    @property
    def far_days(self) -> int:
        return self.rotation_days

    @property
    def max_staleness_days(self) -> int:
        return max(self.near_days, self.far_days)

    def as_dict(self) -> dict[str, object]:
        return {"near_ahead_weeks": self.ahead_weeks, "near_days": self.near_days,
                "far_days": self.far_days, "oldest_week_days": self.max_staleness_days,
                "daily_listings": self.daily_listings, "near_fits": self.near_fits}


@dataclass(frozen=True)
class DayPlan:
    day: date
    listings: int
    plannable: int  # the budget the plan may spend
    promise: Promise
    runs: tuple[PlannedRun, ...]
    # False when not even one listing's weeks fit the budget: nothing is planned.
    feasible: bool = True

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)

    def runs_by_tier(self, tier: str) -> list[PlannedRun]:
        return [run for run in self.runs if run.tier == tier]


@dataclass(frozen=True)
class _Costs:
    near: int  # per listing, the near range
    full: int  # per listing, the whole range
    max_run: int

    def day(self, listings: int, daily: int, rotation_days: int) -> int:
        """The dearest day of this configuration (rotation blocks differ by one listing)."""
        due = math.ceil(listings / rotation_days)
        near = min(daily, listings - due)
        return (near * self.near + _runs(near, self.near, self.max_run)
                + due * self.full + _runs(due, self.full, self.max_run))


def _worst_weeks(policy: RefreshPolicy, ahead: int) -> tuple[int, int]:
    """Most weeks the near range and the whole range can hold on any day."""
    near = policy.lookback_weeks + 1 + min(ahead, policy.lookahead_weeks)
    return near, policy.lookback_weeks + 1 + policy.lookahead_weeks


def _costs(policy: RefreshPolicy, ahead: int, max_run: int) -> _Costs:
    near, full = _worst_weeks(policy, ahead)
    # A contiguous range of n weeks: ceil(n / 4) ChartQuery windows and n weeks.
    per_week = [_EPOCH + i * ONE_WEEK for i in range(full)]
    return _Costs(listing_requests(per_week[:near]), listing_requests(per_week), max_run)


def choose_promise(listings: int, plannable: int, policy: RefreshPolicy,
                   max_run: int) -> tuple[Promise, bool]:
    """The best promise whose dearest day fits `plannable` (see the module's order), and
    whether anything fits at all."""
    top_ahead = policy.near_ahead_weeks
    core = min(CORE_AHEAD_WEEKS, top_ahead)
    if listings == 0:
        return Promise(top_ahead, policy.far_refresh_days, 0, 0), True

    def fits(ahead: int, days: int, daily: int) -> bool:
        return _costs(policy, ahead, max_run).day(listings, daily, days) <= plannable

    # 1. The ideal near tier; the rotation grows to FAR_TARGET_DAYS.
    # 2. The near tier shrinks to `core` with the rotation at FAR_TARGET_DAYS at most.
    for ahead in range(top_ahead, core - 1, -1):
        for days in range(policy.far_refresh_days, max(FAR_TARGET_DAYS,
                                                        policy.far_refresh_days) + 1):
            if fits(ahead, days, listings):
                return Promise(ahead, days, listings, listings), True
    # 3. The rotation grows to MAX_ROTATION_DAYS.
    for days in range(FAR_TARGET_DAYS + 1, MAX_ROTATION_DAYS + 1):
        if fits(core, days, listings):
            return Promise(core, days, listings, listings), True
    # 4. Listings with the most demand keep their near weeks daily. The rotation takes at
    # most half the budget (at MAX_ROTATION_DAYS or slower), so both tiers keep a share.
    costs = _costs(policy, core, max_run)
    days = MAX_ROTATION_DAYS
    while days < listings and costs.day(listings, 0, days) > plannable // 2:
        days += 1
    if costs.day(listings, 0, days) > plannable:
        return Promise(core, days, 0, listings), False
    low, high = 0, listings  # the most daily listings that fit: costs grow with `daily`
    while low < high:
        middle = (low + high + 1) // 2
        if costs.day(listings, middle, days) <= plannable:
            low = middle
        else:
            high = middle - 1
    return Promise(core, days, low, listings), True


def _by_demand(ordered: Sequence[str], demand: Mapping[str, float]) -> list[str]:
    return sorted(ordered, key=lambda listing: -demand.get(listing, 0.0))


def due_block(ordered: Sequence[str], rotation_days: int, day: date) -> list[str]:
    """Today's rotation block: block `day % rotation_days` of the listings in id order."""
    count = len(ordered)
    block = (day - _EPOCH).days % rotation_days
    return list(ordered[block * count // rotation_days:(block + 1) * count // rotation_days])


def shard_runs(tier: str, weeks: list[date], listing_ids: Sequence[str],
            max_run: int) -> list[PlannedRun]:
    """Runs of at most `max_run` requests over `weeks`, by listings in the given order."""
    if not weeks or not listing_ids:
        return []
    per_run = listings_per_run(listing_requests(weeks), max_run)
    return [PlannedRun(tier, weeks[0], weeks[-1], tuple(chunk), run_requests(weeks, len(chunk)))
            for chunk in (listing_ids[i:i + per_run]
                          for i in range(0, len(listing_ids), per_run))]


def first_sync_runs(listing_ids: Sequence[str], weeks: list[date], allowance: int,
                    max_run: int) -> list[PlannedRun]:
    """First syncs of listings that appeared after the account's own (from the budget's
    reserve): as many of them, in the given order, as `allowance` requests hold."""
    per_listing = listing_requests(weeks)
    if not weeks or not listing_ids or per_listing + 1 > allowance:
        return []
    per_run = listings_per_run(per_listing, max_run)
    count = 0
    while count < len(listing_ids):
        more = count + 1
        cost = sum(run_requests(weeks, len(listing_ids[i:min(i + per_run, more)]))
                   for i in range(0, more, per_run))
        if cost > allowance:
            break
        count = more
    return shard_runs(FIRST_SYNC, weeks, list(listing_ids[:count]), max_run)


def near_weeks(policy: RefreshPolicy, ahead: int, today: date) -> list[date]:
    return policy.servable_offsets(range(-policy.lookback_weeks, ahead + 1), today)


def whole_range(policy: RefreshPolicy, today: date) -> list[date]:
    return policy.servable_offsets(range(-policy.lookback_weeks, policy.lookahead_weeks + 1),
                                   today)


def plan_day(listing_ids: Sequence[str], plannable: int, policy: RefreshPolicy, today: date,
             *, max_run: int, demand: Mapping[str, float] | None = None) -> DayPlan:
    """The runs of one account's day: within `plannable` requests on every day, each run
    within `max_run` requests unless a single listing's range is dearer."""
    ordered = listing_order(listing_ids)
    promise, feasible = choose_promise(len(ordered), plannable, policy, max_run)
    if not feasible or not ordered:
        return DayPlan(today, len(ordered), plannable, promise, (), feasible)
    due = due_block(ordered, promise.rotation_days, today)
    due_set = set(due)
    daily = set(_by_demand(ordered, demand or {})[:promise.daily_listings])
    near_only = [listing for listing in ordered if listing in daily and listing not in due_set]
    runs = (shard_runs(NEAR, near_weeks(policy, promise.ahead_weeks, today), near_only, max_run)
            + shard_runs(ROTATION, whole_range(policy, today), due, max_run))
    return DayPlan(today, len(ordered), plannable, promise, tuple(runs))


def observed_staleness(plans: Sequence[DayPlan], policy: RefreshPolicy) -> int:
    """The most days any (listing, week) of the daily range went between two refreshes over
    consecutive day plans: what the promise's `max_staleness_days` says it will not exceed.

    A week counts from the day it becomes reachable (from the first plan's day for those
    reachable then), as if fetched the day before: refreshed daily it is 1 day old. A week
    that leaves the range counts until its last day, and so does every week on the last day.
    """
    if not plans:
        return 0
    last: dict[tuple[str, date], int] = {}
    listings = {listing for plan in plans for run in plan.runs for listing in run.listing_ids}
    appeared: dict[date, int] = {}
    worst = 0
    previous: list[date] = []
    for index, plan in enumerate(plans):
        reachable = whole_range(policy, plan.day)
        for week in reachable:
            appeared.setdefault(week, index)
        for week in set(previous) - set(reachable):  # left the range yesterday
            for listing in listings:
                worst = max(worst, index - last.get((listing, week), appeared[week] - 1))
        for run in plan.runs:
            for week in run.weeks:
                for listing in run.listing_ids:
                    key = (listing, week)
                    worst = max(worst, index - last.get(key, appeared[week] - 1))
                    last[key] = index
        previous = reachable
    end = len(plans)
    for week in previous:
        for listing in listings:
            worst = max(worst, end - last.get((listing, week), appeared[week] - 1))
    return worst


def plan_days(listing_ids: Sequence[str], plannable: int, policy: RefreshPolicy, first: date,
              days: int, *, max_run: int,
              demand: Mapping[str, float] | None = None) -> list[DayPlan]:
    """`plan_day` for `days` consecutive days from `first`."""
    return [plan_day(listing_ids, plannable, policy, first + timedelta(days=i), max_run=max_run,
                     demand=demand) for i in range(days)]
