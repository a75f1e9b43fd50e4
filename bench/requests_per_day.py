"""Requests per listing per day of the daily schedule, counted by the simulator itself.

For each policy (the default tiers, and the earlier tool's "every week of the horizon,
daily", which is AIRBNB_SYNC_FAR_REFRESH_DAYS=1), a fresh instance and warehouse, with the
account's listings stored (as after its first sync), see seven simulated days: each day the
real `daily_insights_sync` schedule is ticked with Dagster's test API and every run it
requests is executed through Dagster against the simulator, whose clock is set to that day.
Each day's count is compared with the requests the daily plan (sync/planner.py) says it
costs. Prints one JSON object.

    .venv/bin/python bench/requests_per_day.py [--listings 10] [--days 7]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

ACCOUNT = "41234567"
EARLIER_TOOL_REQUESTS_PER_LISTING_PER_DAY = 66
GOAL = 25
POLICIES = {
    "tiered (default)": {},
    "earlier tool's (AIRBNB_SYNC_FAR_REFRESH_DAYS=1)": {"AIRBNB_SYNC_FAR_REFRESH_DAYS": "1"},
}


def simulate(listings: int, days: int, overrides: dict[str, str]) -> dict[str, Any]:
    import dagster as dg

    from airbnb_sync.cli.main import main as cli
    from airbnb_sync.core.settings import load_settings
    from airbnb_sync.defs.definitions import build_definitions
    from airbnb_sync.defs.partitions import range_tags
    from airbnb_sync.defs.resources import WarehouseResource
    from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
    from airbnb_sync.simulator.config import DEFAULT_API_KEY
    from airbnb_sync.sync.daily import account_schedules

    served = {ACCOUNT: [{"id": str(7_000_000 + i), "listing_name": f"Flat {i}"}
                        for i in range(listings)]}
    with tempfile.TemporaryDirectory() as home, \
            Simulator(SimulatorConfig(accounts=served)) as simulator:
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        os.environ.update({
            "DAGSTER_HOME": home, "AIRBNB_BASE_URL": simulator.url,
            "AIRBNB_API_KEY": DEFAULT_API_KEY, "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "0",
            "AIRBNB_SYNC_RUN_RETRIES": "0", **overrides,
        })
        cookie = Path(home, "cookie")
        cookie.write_text(make_cookie(ACCOUNT))
        with contextlib.redirect_stdout(sys.stderr):  # stdout is for the JSON only
            added = cli(["accounts", "add", "--account-id", ACCOUNT, "--cookie-file", str(cookie),
                         "--x-client-version", "0" * 40, "--user-agent", "Mozilla/5.0 bench"])
        if added != 0:
            raise SystemExit("could not register the benchmark account")
        settings = load_settings()
        defs = build_definitions(settings)
        job = defs.resolve_implicit_global_asset_job_def()
        schedule = defs.get_schedule_def("daily_insights_sync")
        warehouse = WarehouseResource(database_url=settings.database_url)
        instance = dg.DagsterInstance.get()
        per_day, planned, runs, operations = [], [], 0, {}
        first_day = datetime.now(UTC).date()
        # The account's listings, as any earlier sync leaves them: the schedule plans a
        # known listing set (sync/planner.py) from the first day on. Not counted below.
        simulator.configure(today=first_day)
        week = first_day - timedelta(days=first_day.isoweekday() % 7)
        seeded = job.execute_in_process(
            instance=instance, tags=range_tags(ACCOUNT, week, week),
            asset_selection=[dg.AssetKey("listings")],
            run_config={"resources": {"clock": {"config": {"today": first_day.isoformat()}}}})
        if not seeded.success:
            raise SystemExit("could not store the benchmark account's listings")
        for day in (first_day + timedelta(days=i) for i in range(days)):
            simulator.configure(today=day)
            before = _requests(simulator)
            with dg.build_schedule_context(
                    instance=instance, resources={"warehouse": warehouse},
                    scheduled_execution_time=datetime.combine(day, time(5),
                                                              tzinfo=UTC)) as context:
                tick = schedule.evaluate_tick(context)
            (plan,) = account_schedules(settings, warehouse.engine(), [ACCOUNT], day, 1)
            planned.append(plan.plans[0].requests)
            for request in tick.run_requests:
                result = job.execute_in_process(
                    instance=instance, tags=request.tags, raise_on_error=False,
                    run_config={"resources": {"clock": {"config": {
                        "today": day.isoformat()}}}})
                if not result.success:
                    raise SystemExit(f"the run for {request.tags} failed on {day}")
                runs += 1
            per_day.append(_requests(simulator) - before)
            print(f"{day}: {per_day[-1]} requests in {len(tick.run_requests)} runs",
                  file=sys.stderr)
        for operation, count in simulator.stats()["accounts"][ACCOUNT]["by_operation"].items():
            operations[operation] = count
        operations["ListingsSectionQuery"] -= 1  # the listings stored before the first day
    total = sum(per_day)
    return {
        "requests": total,
        "requests_per_listing_per_day": round(total / listings / days, 2),
        "runs_per_day": round(runs / days, 2),
        "requests_by_day": per_day,
        "planned_by_day": planned,
        "as_planned": per_day == planned,
        "requests_by_operation": operations,
    }


def _requests(simulator: Any) -> int:
    return simulator.stats()["accounts"].get(ACCOUNT, {}).get("requests", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=10)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    # One fresh process per policy: Dagster and the engines cache per-process state.
    spawn = multiprocessing.get_context("spawn")
    results = {}
    for name, overrides in POLICIES.items():
        with spawn.Pool(1) as pool:
            results[name] = pool.apply(simulate, (args.listings, args.days, overrides))
    print(json.dumps({
        "benchmark": "requests_per_listing_per_day",
        "date": date.today().isoformat(),
        "listings": args.listings,
        "days": args.days,
        "policies": results,
        "goal_per_listing_per_day": GOAL,
        "earlier_tool_reported_per_listing_per_day": EARLIER_TOOL_REQUESTS_PER_LISTING_PER_DAY,
    }, indent=2))


if __name__ == "__main__":
    main()
