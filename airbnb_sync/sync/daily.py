"""Each account's daily plan from what the warehouse knows: the glue between the settings,
the warehouse (listings, demand) and the pure planner, shared by the daily schedule, the
`plan` command and `status`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from airbnb_sync.core.settings import Settings
from airbnb_sync.sync.budget import Budget, daily_budget, max_run_requests
from airbnb_sync.sync.planner import (
    DayPlan,
    PlannedRun,
    first_sync_runs,
    listing_order,
    observed_staleness,
    plan_days,
)
from airbnb_sync.sync.refresh import RefreshPolicy, weeks_of
from airbnb_sync.warehouse.inventory import (
    current_listings,
    listing_demand,
    listings_with_figures,
)

# The share of the reserve that first syncs of new listings may take; the rest is for retries.
NEW_LISTINGS_SHARE = 0.5

# A what-if account's listing ids: any distinct digits do, the plan only counts them.
_WHAT_IF_FIRST_ID = 10_000_000


def what_if_listings(count: int) -> list[str]:
    return [str(_WHAT_IF_FIRST_ID + i) for i in range(count)]


@dataclass(frozen=True)
class AccountSchedule:
    """An account's plans for consecutive days, and what they promise."""

    account_id: str | None
    listings_known: bool
    budget: Budget
    max_run: int
    plans: list[DayPlan]
    policy: RefreshPolicy
    # Today's first syncs of listings that appeared after the account's own (the reserve's).
    new_listing_runs: tuple[PlannedRun, ...] = ()
    new_listings: int = 0

    @property
    def listings(self) -> int | None:
        return self.plans[0].listings if self.listings_known and self.plans else None

    @property
    def behind_schedule(self) -> bool:
        """Not even every listing's near weeks fit the budget daily."""
        return self.listings_known and bool(self.plans) and (
            not self.plans[0].feasible or not self.plans[0].promise.near_fits)

    def as_dict(self) -> dict[str, Any]:
        plans = self.plans
        within = all(plan.requests <= self.budget.plannable for plan in plans)
        data: dict[str, Any] = {
            "account_id": self.account_id,
            "listings": self.listings,
            "listings_known": self.listings_known,
            "budget": self.budget.daily,
            "budget_reserved": self.budget.reserved,
            "budget_planned": self.budget.plannable,
            "budget_derived_from_pacing": self.budget.derived,
            "max_run_requests": self.max_run,
            "first_day": plans[0].day.isoformat() if plans else None,
            "requests_per_day": [plan.requests for plan in plans],
            "runs_per_day": [len(plan.runs) for plan in plans],
            "within_budget": within,
            "behind_schedule": self.behind_schedule,
            "new_listings": self.new_listings,
            "new_listing_requests_today": sum(run.requests for run in self.new_listing_runs),
        }
        if not self.listings_known:
            return {**data, "max_staleness_days": None, "promise": None,
                    "promise_holds": None, "note": (
                        "listing count unknown: the account has no listings stored yet (its "
                        "first sync has not run); try `airbnb-sync plan --listings N`")}
        promise = plans[0].promise
        observed = observed_staleness(plans, self.policy)
        data.update({
            "max_staleness_days": promise.max_staleness_days if plans[0].feasible else None,
            "promise": promise.as_dict(),
            "observed_staleness_days": observed,
            # Over fewer days than the rotation, not every listing came round yet: the
            # observed figure is a lower bound, and cannot refute the promise.
            "promise_holds": plans[0].feasible and within
            and observed <= promise.max_staleness_days,
            "note": _note(plans[0], self.budget),
        })
        return data


def behind_reason(schedule: AccountSchedule, overdue_runs: int) -> str | None:
    """Why an account is behind schedule, with the fix; None when it is not."""
    fix = ("raise AIRBNB_SYNC_DAILY_REQUEST_BUDGET (or lower AIRBNB_SYNC_MIN_REQUEST_INTERVAL), "
           "or split the listings across Airbnb accounts")
    if schedule.behind_schedule:
        return f"{_note(schedule.plans[0], schedule.budget)}; {fix}"
    if overdue_runs:
        return (f"{overdue_runs} of its sync runs were queued more than a day ago and have not "
                "finished: its queue grows; see them in the Dagster UI (Runs, tag "
                f"airbnb_sync/account={schedule.account_id}), then {fix}")
    return None


def _note(plan: DayPlan, budget: Budget) -> str:
    promise = plan.promise
    if not plan.feasible:
        return (f"not even one listing's weeks fit the {budget.plannable} planned requests a "
                "day: raise AIRBNB_SYNC_DAILY_REQUEST_BUDGET")
    near = f"last week through {promise.ahead_weeks} week(s) ahead"
    if not promise.near_fits:
        return (f"behind schedule: the near weeks ({near}) fit daily for the "
                f"{promise.daily_listings} listings with the most page views only; the others "
                f"and every far week are refreshed every {promise.rotation_days} days")
    return (f"near weeks ({near}) daily for every listing; every reachable week at least "
            f"every {promise.rotation_days} days")


def schedule_for(settings: Settings, account_id: str | None, listing_ids: Sequence[str] | None,
                 first_day: date, days: int, demand: dict[str, float] | None = None,
                 new_listings: Sequence[str] = ()) -> AccountSchedule:
    policy = RefreshPolicy.from_settings(settings)
    budget = daily_budget(settings)
    max_run = max_run_requests(settings)
    known = listing_ids is not None
    plans = plan_days(list(listing_ids or []), budget.plannable, policy, first_day, days,
                      max_run=max_run, demand=demand)
    new_runs: list[PlannedRun] = []
    if new_listings:
        weeks = weeks_of(policy.first_sync_range(first_day, settings.first_sync_weeks))
        new_runs = first_sync_runs(listing_order(new_listings), weeks,
                                   int(budget.reserved * NEW_LISTINGS_SHARE), max_run)
    return AccountSchedule(account_id, known, budget, max_run, plans, policy, tuple(new_runs),
                           len(new_listings))


def account_schedules(settings: Settings, engine: sa.Engine, account_ids: Sequence[str],
                      first_day: date, days: int,
                      listings_override: int | None = None) -> list[AccountSchedule]:
    """Each account's schedule from its stored listings (or `listings_override` of them);
    listings without any figures stored, in an account that has some, get first syncs."""
    stored = current_listings(engine, account_ids, first_day) if listings_override is None \
        else {}
    schedules = []
    for account_id in account_ids:
        if listings_override is not None:
            ids: list[str] | None = what_if_listings(listings_override)
            demand = None
        else:
            ids = stored.get(account_id)
            demand = listing_demand(engine, account_id, first_day) if ids else None
        with_figures = listings_with_figures(engine, account_id) if ids else set()
        new = [listing for listing in ids or [] if listing not in with_figures] \
            if with_figures else []
        schedules.append(schedule_for(settings, account_id, ids, first_day, days, demand, new))
    return schedules
