"""Capacity of one machine: the run slots a day's sync of N host accounts needs, the memory
those slots take, and how long first syncs take at that slot count.

Measured, in one run: K concurrent `dagster asset materialize` runs (the documented command,
with the definitions' default executor), one per simulated host of L listings, all started at
once as the run queue launches them when the daily schedule fires. Each run syncs one of the
ranges the daily schedule really asks for in the 7 days from today (RefreshPolicy: the near
weeks every day, one far block a day), clipped to the weeks a run started today can fetch
(see measured_ranges), handed out round-robin, against the simulator at a compressed
pacing. For every run: the peak memory of its whole process tree (RSS summed, not counting
a child between fork and exec, whose pages are still its parent's: a run forks `tail -F` and
watch_orphans.py, and with K runs on two cores a sample often lands there), its wall time,
its CPU time and its requests (counted by the simulator, checked against the plan). For all
runs: the peak of their memory summed at the same instant. For the machine:
MemTotal and MemAvailable (/proc/meminfo). With a PostgreSQL/TimescaleDB warehouse also the
peak number of its connections. The per-run fixed overhead is

    wall time - requests x pacing x (1 + mean jitter)

(start-up, recording materializations, exit, and K start-ups sharing this machine's cores):
the part of a run that does not scale with the pacing. K runs starting together is what the
schedule's tick does, and the worst case: later runs start one at a time as slots free up.
The derivation charges it to every run of the day, so it errs on the slow side.

Derived at the real pacing (AIRBNB_SYNC_MIN_REQUEST_INTERVAL, default 6 s, 7.5 s on average
with the pacer's jitter), from the schedule's plan (requests and runs per account per day,
the same arithmetic that bench/requests_per_day.py checks by simulating a week) and the
measured overhead: run-hours per day for N accounts x L listings; how long the run queue
takes to drain a day's runs at K slots (simulated as Dagster's queue launches them: first come
first served, skipping runs a tag limit blocks; with and without one run per account at a
time, since a second run of an account otherwise waits for the account's lease in a slot);
the slots that finish the longest day of the week within 24 h; the accounts one machine
serves per day at K slots; the backfill limit that still leaves the daily sync the slots it
needs; the memory K slots take next to an explicit budget for everything else on the machine
(TimescaleDB/PostgreSQL, Dagster's webserver, daemon and code server, the system); and how
long the first syncs of 10, 100, 800 accounts take at K slots.

Why 0.5 s and not a shorter pacing: a request's latency plus our own time per request, with
K runs sharing two cores, must stay well below the interval, or per-request costs that the
real 6 s interval hides would be counted as fixed overhead (and K runs at 20 requests/s each
are CPU-bound, a regime production never sees). The defaults take about 4-5 minutes here.

    .venv/bin/python bench/capacity.py [--slots 32] [--listings 10] [--accounts 800]
"""

from __future__ import annotations

import argparse
import heapq
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from common import (
    SyncBench,
    TreeMemorySampler,
    add_sync_run_arguments,
    default_executor,
    emit,
    in_fresh_workspace,
    log,
    machine,
    materialize_command,
    meminfo_bytes,
    mib,
    summary,
)
from sqlalchemy.pool import NullPool

from airbnb_sync.airbnb.pacing import DEFAULT_JITTER
from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.instance.access import horizon_weeks
from airbnb_sync.sync.accounts import plan_accounts
from airbnb_sync.sync.refresh import RefreshPolicy, WeekRange, weeks_of

FIRST_ACCOUNT = 74000001
MEAN_JITTER = 1 + DEFAULT_JITTER / 2
# What the machine holds besides the runs (MiB), budgeted, not measured here:
RESERVED_MIB = {
    # The timescale/timescaledb image tunes shared_buffers to 25 % of the machine's memory
    # (6 GiB of 24), plus ~10 MiB per backend for the runs' connections and Dagster's.
    "timescaledb": 8192,
    # Dagster's processes (in Compose: one container each); the Helm values cap the code
    # server at 1 GiB. Runs are launched as children of the code server, counted apart.
    "dagster_webserver": 1024,
    "dagster_daemon": 1024,
    "dagster_code_server": 1024,
    # Kernel, Docker, the Caddy proxy, and some page cache for the databases.
    "system_and_page_cache": 2048,
}


@dataclass(frozen=True)
class Schedule:
    """What the daily schedule asks for one account of L listings, from its plan: each day's
    runs as (range, requests), in the order the schedule requests them."""

    days: list[list[tuple[WeekRange, int]]]
    first_sync: WeekRange
    first_sync_requests: int

    @property
    def ranges(self) -> list[WeekRange]:
        return [week_range for day in self.days for week_range, _ in day]

    @property
    def requests_per_day(self) -> float:
        return sum(requests for day in self.days for _, requests in day) / len(self.days)

    @property
    def runs_per_day(self) -> float:
        return len(self.ranges) / len(self.days)


def planned_requests(settings: Settings, week_range: WeekRange, day: date, listings: int) -> int:
    """Requests a run of `week_range` costs on `day`: the sync's own plan (no I/O), which
    refuses a week Airbnb does not serve on `day`, as the run itself would."""
    (plan,) = plan_accounts(settings, {"account": weeks_of(week_range)}, day).values()
    return plan.request_count(listings)


def schedule_of(settings: Settings, today: date, listings: int, days: int = 7) -> Schedule:
    """The daily schedule's runs over `days` days (the far blocks rotate over a week)."""
    policy = RefreshPolicy.from_settings(settings)
    runs = [[(week_range, planned_requests(settings, week_range, day, listings))
             for week_range in policy.daily_ranges(day)]
            for day in (today + timedelta(days=offset) for offset in range(days))]
    first = policy.first_sync_range(today, settings.first_sync_weeks)
    return Schedule(runs, first, planned_requests(settings, first, today, listings))


def servable_weeks(settings: Settings, today: date) -> list[date]:
    """The weeks a run started today can sync: Airbnb serves them today (the horizon the sync
    checks before any request) and they are partitions of today's grid (Dagster refuses
    other keys). At 05:00 UTC, when the daily schedule fires."""
    return horizon_weeks(settings, datetime.combine(today, time(5), tzinfo=UTC))


def measured_ranges(schedule: Schedule, servable: Sequence[date]) -> list[WeekRange]:
    """The schedule's ranges of the week as runs started today: each clipped to the
    `servable` weeks (a contiguous run of weeks), without the ones left empty or repeated,
    in the schedule's order.

    A later day's range can reach past today's horizon: the week that becomes whole at the far
    end on that day (issue 22). Running each day's ranges as that day would see them is not
    possible here: a run's day could be pinned (the clock resource), but Airbnb's, the
    simulator's, is one day for all the runs that start together, and the runs must be ones it
    serves. Clipping keeps every run a range the schedule really asks for, at most a week
    shorter at the far end; what is measured here (a run's memory, its fixed overhead, its
    requests against its plan) does not depend on that week, and the derived daily figures use
    each day's own plan, unclipped."""
    allowed = set(servable)
    ranges: list[WeekRange] = []
    for week_range in schedule.ranges:
        weeks = [week for week in weeks_of(week_range) if week in allowed]
        if weeks and (weeks[0], weeks[-1]) not in ranges:
            ranges.append((weeks[0], weeks[-1]))
    return ranges


def queue_seconds(runs: Sequence[tuple[int, float]], slots: int, one_per_account: bool) -> float:
    """When a run queue with `slots` slots has finished `runs` ((account, seconds), all queued
    at once, in this order), as Dagster's queue launches them: first come first served,
    skipping a run that a tag limit blocks. Without a one-run-per-account limit, a run launched
    while another run of its account holds the lease waits for it in its slot."""
    free = [0.0] * slots  # when each slot is free next (a heap)
    busy: dict[int, float] = {}  # when each account's running run ends
    pending = list(runs)
    end = 0.0
    while pending:
        now = heapq.heappop(free)
        index = next((i for i, (account, _) in enumerate(pending)
                      if not one_per_account or busy.get(account, 0.0) <= now), None)
        if index is None:  # every queued run's account is busy: the slot idles until one ends
            heapq.heappush(free, min(busy[account] for account, _ in pending))
            continue
        account, seconds = pending.pop(index)
        finish = max(now, busy.get(account, 0.0)) + seconds
        busy[account] = finish
        end = max(end, finish)
        heapq.heappush(free, finish)
    return end


def daily_sync_hours(schedule: Schedule, accounts: int, slots: int, interval: float,
                     overhead: float, one_per_account: bool = True) -> float:
    """The longest day of the week: every account's runs queued at once by the schedule."""
    return max(queue_seconds([(account, requests * interval + overhead)
                              for account in range(accounts) for _, requests in day],
                             slots, one_per_account)
               for day in schedule.days) / 3600


class ConnectionSampler(TreeMemorySampler):
    """The runs' memory, and the peak number of connections to the warehouse database."""

    def __init__(self, url: str) -> None:
        super().__init__(exclude_forks=True)
        self.name = sa.make_url(url).database
        self.engine = sa.create_engine(url, poolclass=NullPool)
        self.connection = self.engine.connect()
        self.peak_connections = 0

    def sample(self, pids: Sequence[int]) -> None:
        super().sample(pids)
        count = self.connection.exec_driver_sql(
            "SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = %(name)s",
            {"name": self.name}).scalar_one()
        self.connection.rollback()
        self.peak_connections = max(self.peak_connections, int(count))

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


def measure(folder: Path, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    """K concurrent runs of the schedule's ranges; what each run and all together took."""
    today = args.today
    settings = load_settings({})
    ranges = measured_ranges(schedule_of(settings, today, args.listings),
                             servable_weeks(settings, today))
    accounts = {str(FIRST_ACCOUNT + index): args.listings for index in range(args.slots)}
    assigned = {account: ranges[index % len(ranges)] for index, account in enumerate(accounts)}
    bench = SyncBench(folder, url, args.latency_ms, args.pacing, accounts, args.profile)
    sampler = ConnectionSampler(url) if url else TreeMemorySampler(exclude_forks=True)
    available_before = meminfo_bytes()["MemAvailable"]
    try:
        commands = {account: materialize_command(account, *week_range)
                    for account, week_range in assigned.items()}
        log(f"  {len(commands)} runs at once, pacing {args.pacing} s, "
            f"{args.listings} listings each")
        outcomes, wall = bench.run_all_successfully(commands, sampler=sampler)
        requests = {account: bench.requests_of(account) for account in accounts}
    finally:
        bench.close()
        if isinstance(sampler, ConnectionSampler):
            sampler.close()
    planned = {account: planned_requests(settings, assigned[account], today, args.listings)
               for account in accounts}
    interval = args.pacing * MEAN_JITTER
    overheads = [outcome.seconds - requests[outcome.account_id] * interval
                 for outcome in outcomes]
    counts = [requests[outcome.account_id] for outcome in outcomes]
    seconds = [outcome.seconds for outcome in outcomes]
    fit = None
    if len(set(counts)) > 1:
        slope, intercept = statistics.linear_regression(counts, seconds)
        fit = {"seconds_per_request": round(slope, 4), "fixed_seconds": round(intercept, 2),
               "mean_interval_seconds": round(interval, 4)}
    log(f"  done in {wall:.1f} s; overhead per run {statistics.mean(overheads):.1f} s (mean), "
        f"peak per run {mib(max(o.peak_tree_rss for o in outcomes))} MiB, "
        f"all runs {mib(sampler.peak_total)} MiB")
    result: dict[str, Any] = {
        "runs": len(outcomes),
        "wall_seconds": round(wall, 2),
        "ranges": sorted({f"{first}..{last}" for first, last in assigned.values()}),
        "requests_per_run": summary(counts, 1),
        "requests_as_planned": requests == planned,
        "run_seconds": summary(seconds, 2),
        "overhead_per_run_seconds": {**summary(overheads, 2),
                                     "mean": round(statistics.mean(overheads), 2)},
        "wall_vs_requests_fit": fit,
        "cpu_seconds_per_run": {**summary([o.cpu_seconds for o in outcomes], 2),
                                "mean": round(statistics.mean(o.cpu_seconds for o in outcomes),
                                              2)},
        "peak_rss_per_run_mib": mib(max(outcome.peak_tree_rss for outcome in outcomes)),
        "peak_rss_per_run_median_mib": mib(statistics.median(
            outcome.peak_tree_rss for outcome in outcomes)),
        "peak_rss_largest_process_mib": mib(max(o.peak_process_rss for o in outcomes)),
        "peak_rss_all_runs_mib": mib(sampler.peak_total),
        "machine_memory_total_mib": mib(meminfo_bytes()["MemTotal"]),
        "machine_memory_available_before_mib": mib(available_before),
    }
    if isinstance(sampler, ConnectionSampler):
        result["warehouse_connections_peak"] = sampler.peak_connections
    return result


def derive(measured: dict[str, Any], schedule: Schedule, args: argparse.Namespace,
           ) -> dict[str, Any]:
    """The daily sync and first syncs at the real pacing, at `args.slots` slots."""
    slots, hours, accounts = args.slots, args.hours, args.accounts
    interval = args.real_pacing * MEAN_JITTER
    overhead = measured["overhead_per_run_seconds"]["mean"]
    per_account_day = (schedule.requests_per_day * interval
                       + schedule.runs_per_day * overhead)  # run-seconds
    run_hours = accounts * per_account_day / 3600

    def finishes(count: int, slot_count: int) -> bool:
        return daily_sync_hours(schedule, count, slot_count, interval, overhead) <= hours

    needed = math.ceil(run_hours / hours)
    while not finishes(accounts, needed):
        needed += 1
    low, high = 0, math.ceil(slots * hours * 3600 / per_account_day)  # high cannot finish
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if finishes(middle, slots) else (low, middle)
    daily = daily_sync_hours(schedule, accounts, slots, interval, overhead)
    spare_slot_hours = slots * hours - run_hours
    first_sync_seconds = schedule.first_sync_requests * interval + overhead
    per_run_mib = measured["peak_rss_per_run_mib"]
    machine_mib = args.machine_mib or measured["machine_memory_total_mib"]
    reserved = sum(RESERVED_MIB.values())
    cpu = measured["cpu_seconds_per_run"]["mean"]
    return {
        "pacing_seconds": args.real_pacing,
        "mean_interval_seconds": interval,
        "accounts": accounts,
        "listings_per_account": args.listings,
        "requests_per_day": round(accounts * schedule.requests_per_day),
        "runs_per_day": round(accounts * schedule.runs_per_day),
        "run_hours_per_day": round(run_hours, 1),
        "of_which_overhead_hours": round(accounts * schedule.runs_per_day * overhead / 3600, 1),
        "average_run_minutes": round(per_account_day / schedule.runs_per_day / 60, 1),
        "slots_needed_within_hours": {"hours": hours, "slots": needed},
        "slots": slots,
        "daily_sync_hours_at_slots": round(daily, 1),
        "daily_sync_hours_at_slots_without_one_run_per_account": round(daily_sync_hours(
            schedule, accounts, slots, interval, overhead, one_per_account=False), 1),
        "slot_utilization_by_daily_sync": round(run_hours / (slots * hours), 3),
        "accounts_per_machine_per_day_at_slots": low,
        "backfill_limit": max(1, slots - needed),
        "spare_slot_hours_per_day": round(spare_slot_hours, 1),
        "first_syncs_per_day_in_spare_slots": max(0, math.floor(
            spare_slot_hours * 3600 / first_sync_seconds)),
        "memory": {
            "per_run_mib": per_run_mib,
            "slots_mib": round(slots * per_run_mib),
            "reserved_mib": RESERVED_MIB,
            "reserved_total_mib": reserved,
            "machine_mib": machine_mib,
            "left_after_slots_and_reserved_mib": round(machine_mib - reserved
                                                       - slots * per_run_mib),
            "max_slots_by_memory": math.floor((machine_mib - reserved) / per_run_mib),
        },
        "cpu_cores_busy_on_average": round(accounts * schedule.runs_per_day * cpu / 86400, 3),
        "first_sync": {
            "weeks": len(weeks_of(schedule.first_sync)),
            "requests_per_account": schedule.first_sync_requests,
            "run_hours": round(first_sync_seconds / 3600, 2),
            "hours_for_accounts": {
                str(count): round(queue_seconds([(account, first_sync_seconds)
                                                 for account in range(count)],
                                                slots, True) / 3600, 1)
                for count in args.first_sync_accounts},
        },
    }


# --- accounts of any size (issue 20): the planner's days, the queue, one machine -----------

# Inputs of --sizes-only, measured by this benchmark's full run (README: Performance): the
# fixed seconds of a run and the peak memory of one.
MEASURED_OVERHEAD_SECONDS = 109.0
MEASURED_RUN_MIB = 260.0
MIX = {1000: 1, 10: 300}  # listings -> accounts: one property manager among small hosts


def planned_days(settings: Settings, today: date, listings: int, days: int = 7) -> list[Any]:
    """The daily plan of an account of `listings` listings over `days` days (sync/planner)."""
    from airbnb_sync.sync.budget import daily_budget, max_run_requests
    from airbnb_sync.sync.daily import what_if_listings
    from airbnb_sync.sync.planner import plan_days

    return plan_days(what_if_listings(listings), daily_budget(settings).plannable,
                     RefreshPolicy.from_settings(settings), today, days,
                     max_run=max_run_requests(settings))


def mix_hours(day_runs: dict[int, list[list[int]]], mix: dict[int, int], slots: int,
              interval: float, overhead: float) -> float:
    """The longest day for `mix` (listings -> accounts) at `slots` slots, one run per account
    at a time, the runs queued as the schedule orders them: by priority (the account's runs
    that day, most first), then interleaved across accounts."""
    longest = 0.0
    for day in range(len(next(iter(day_runs.values())))):
        per_account = [(account, day_runs[listings][day]) for account, listings in
                       enumerate(listings for listings, count in mix.items()
                                 for _ in range(count))]
        depth = max(len(runs) for _, runs in per_account)
        queue = [(account, runs[n] * interval + overhead, len(runs)) for n in range(depth)
                 for account, runs in per_account if n < len(runs)]
        queue.sort(key=lambda run: -run[2])  # stable: interleaved within a priority
        longest = max(longest, queue_seconds([run[:2] for run in queue], slots, True))
    return longest / 3600


def sizes(settings: Settings, today: date, slots: int, hours: float, overhead: float,
          run_mib: float, machine_mib: float) -> dict[str, Any]:
    """For one machine of `slots` run slots: the largest account kept fresh daily, the
    accounts of 10 listings it serves, and a mix of one 1,000-listing account and 300 of 10."""
    interval = mean_interval = settings.min_request_interval * MEAN_JITTER
    ideal = (settings.daily_ahead_weeks, settings.far_refresh_days)

    def promise(listings: int) -> Any:
        return planned_days(settings, today, listings, 1)[0].promise

    def largest(keeps: Any) -> int:
        low, high = 1, 100_000
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if keeps(promise(middle)) else (low, middle)
        return low

    fresh = largest(lambda p: p.near_fits and (p.ahead_weeks, p.rotation_days) == ideal)
    near_daily = largest(lambda p: p.near_fits)

    def account_day_hours(listings: int) -> float:
        return max(plan.requests * interval + len(plan.runs) * overhead
                   for plan in planned_days(settings, today, listings)) / 3600

    def runs_of(listings: int) -> list[list[int]]:
        return [[run.requests for run in plan.runs] for plan in planned_days(settings, today,
                                                                             listings)]

    day_runs = {listings: runs_of(listings) for listings in {10, *MIX}}
    low, high = 1, 20_000
    while high - low > 1:
        middle = (low + high) // 2
        fits = mix_hours(day_runs, {10: middle}, slots, interval, overhead) <= hours
        low, high = (middle, high) if fits else (low, middle)
    mixed = mix_hours(day_runs, MIX, slots, interval, overhead)
    big = planned_days(settings, today, 1000)
    return {
        "pacing_seconds": settings.min_request_interval,
        "mean_interval_seconds": mean_interval,
        "slots": slots,
        "overhead_per_run_seconds": overhead,
        "memory_mib": {"per_run": run_mib, "slots": round(slots * run_mib),
                       "reserved": sum(RESERVED_MIB.values()), "machine": machine_mib,
                       "fits": slots * run_mib + sum(RESERVED_MIB.values()) <= machine_mib},
        "largest_account_fresh_daily": {
            "listings": fresh,
            "meaning": f"near weeks (last week to {ideal[0]} ahead) daily and every week within "
                       f"{ideal[1]} days, within the account's budget",
            "its_day_run_hours": round(account_day_hours(fresh), 1)},
        "largest_account_near_weeks_daily": {
            "listings": near_daily,
            "max_staleness_days": promise(near_daily).max_staleness_days,
            "its_day_run_hours": round(account_day_hours(near_daily), 1)},
        "accounts_of_10_listings": {
            "accounts": low,
            "requests_per_account_per_day": round(statistics.mean(
                sum(runs) for runs in day_runs[10]), 1),
            "runs_per_account_per_day": round(statistics.mean(
                len(runs) for runs in day_runs[10]), 2)},
        "mix": {"accounts": {str(listings): count for listings, count in MIX.items()},
                "daily_sync_hours": round(mixed, 1), "fits": mixed <= hours,
                "big_account": {"requests_per_day_max": max(plan.requests for plan in big),
                                "runs_per_day_max": max(len(plan.runs) for plan in big),
                                "max_staleness_days": big[0].promise.max_staleness_days,
                                "its_day_run_hours": round(account_day_hours(1000), 1)}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slots", type=int, default=32,
                        help="concurrent runs measured (K) and the slot count derived for")
    parser.add_argument("--listings", type=int, default=10, help="listings per account")
    parser.add_argument("--pacing", type=float, default=0.5,
                        help="compressed AIRBNB_SYNC_MIN_REQUEST_INTERVAL of the measured runs")
    parser.add_argument("--latency-ms", type=float, default=50.0,
                        help="the simulator's latency per answer")
    parser.add_argument("--accounts", type=int, default=800,
                        help="accounts of the derived daily sync (N)")
    parser.add_argument("--first-sync-accounts", default="10,100,800",
                        type=lambda text: [int(count) for count in text.split(",")],
                        help="account counts whose first syncs are timed (comma-separated)")
    parser.add_argument("--real-pacing", type=float, default=None,
                        help="the pacing derived for (default: AIRBNB_SYNC_MIN_REQUEST_INTERVAL's "
                        "default, 6 s)")
    parser.add_argument("--hours", type=float, default=24.0,
                        help="the time the daily sync must fit in")
    parser.add_argument("--machine-mib", type=float, default=None,
                        help="memory of the machine derived for (default: this one's MemTotal)")
    parser.add_argument("--sizes-only", action="store_true",
                        help="only the accounts-of-any-size figures, from the daily plan and "
                        "the run overhead and memory measured before (no runs)")
    add_sync_run_arguments(parser, executor=False)
    args = parser.parse_args()
    defaults = load_settings({})
    if args.real_pacing is None:
        args.real_pacing = defaults.min_request_interval
    args.today = datetime.now(UTC).date()
    real = load_settings({"AIRBNB_SYNC_MIN_REQUEST_INTERVAL": str(args.real_pacing)})
    machine_mib = args.machine_mib or mib(meminfo_bytes()["MemTotal"])
    if args.sizes_only:
        emit({"benchmark": "capacity", "setup": {"date": args.today.isoformat(),
                                                 "inputs": "measured before (README)"},
              "accounts_of_any_size": sizes(real, args.today, args.slots, args.hours,
                                            MEASURED_OVERHEAD_SECONDS, MEASURED_RUN_MIB,
                                            machine_mib)})
        return
    schedule = schedule_of(defaults, args.today, args.listings)
    log(f"capacity: {args.slots} concurrent runs of the schedule's "
        f"{len(schedule.ranges)} ranges of {len(schedule.days)} days as runs started "
        f"{args.today} serve them, round-robin")
    before = machine()
    measured = in_fresh_workspace(args, measure)
    emit({
        "benchmark": "capacity",
        "setup": {"date": args.today.isoformat(), "slots": args.slots, "profile": args.profile,
                  "listings_per_account": args.listings,
                  "pacing_seconds": args.pacing, "pacing_jitter": f"+0..{DEFAULT_JITTER:.0%}",
                  "latency_ms": args.latency_ms, "warehouse": args.database,
                  "definitions_executor": default_executor()},
        "measured": measured,
        "schedule": {
            "days": len(schedule.days),
            "runs_per_account_per_day": round(schedule.runs_per_day, 3),
            "requests_per_account_per_day": round(schedule.requests_per_day, 1),
            "requests_per_listing_per_day": round(schedule.requests_per_day / args.listings, 2),
            "first_sync_range": "..".join(day.isoformat() for day in schedule.first_sync),
        },
        "derived": derive(measured, schedule, args),
        "accounts_of_any_size": sizes(real, args.today, args.slots, args.hours,
                                      measured["overhead_per_run_seconds"]["mean"],
                                      measured["peak_rss_per_run_mib"], machine_mib),
        "machine_before": before,
        "machine": machine(),  # the 1-minute load here is that of the runs' last minute
    })


if __name__ == "__main__":
    main()
