"""A first sync in runs of bounded length: the accounts sensor asks for the new account's
listings first (one request), then, once they are stored, for every listing's figures over
the first sync's weeks in runs of at most AIRBNB_SYNC_MAX_RUN_MINUTES of requests, queued
after the daily runs. Executed for real against the simulator: the runs send exactly what
they were planned to, and together they complete every partition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from automation_helpers import tick_accounts_sensor, tick_schedule
from pipeline_helpers import HOSTS, table

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import LISTINGS_TAG, listings_of_tags, range_tags
from airbnb_sync.defs.schedules import TIER_TAG
from airbnb_sync.defs.sensors import FIRST_SYNC_PRIORITY
from airbnb_sync.simulator import Simulator
from airbnb_sync.simulator.data import listings_for
from airbnb_sync.sync.budget import max_run_requests
from airbnb_sync.sync.planner import FIRST_SYNC, run_requests
from airbnb_sync.sync.refresh import RefreshPolicy, weeks_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200),
              pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)]

BIG = HOSTS[0]
LISTINGS = 30
RUN_MINUTES = 10  # at zero pacing: runs of at most 600 requests, 4 listings of 50 weeks


def execute(request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    job = build_definitions(load_settings()).resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.get() as instance:
        return job.execute_in_process(instance=instance, tags=request.tags,
                                      asset_selection=request.asset_selection,
                                      raise_on_error=False)


def served(simulator: Simulator) -> int:
    return simulator.stats()["accounts"].get(BIG, {}).get("requests", 0)


def test_a_first_sync_runs_in_bounded_runs(pipeline_env: Simulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    simulator = pipeline_env
    simulator.configure(listings_for={BIG: LISTINGS})
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RUN_MINUTES", str(RUN_MINUTES))
    today = datetime.now(UTC).date()

    first = tick_accounts_sensor(today)
    stage_one = next(r for r in first.run_requests if r.tags["airbnb_sync/account"] == BIG)
    assert stage_one.asset_selection == [dg.AssetKey("listings")]
    assert LISTINGS_TAG not in stage_one.tags
    assert execute(stage_one).success
    assert served(simulator) == 1  # the listings alone

    second = tick_accounts_sensor(today, cursor=first.cursor)
    shards = [r for r in second.run_requests if r.tags["airbnb_sync/account"] == BIG]
    settings = load_settings()
    max_run = max_run_requests(settings)
    weeks = weeks_of(RefreshPolicy.from_settings(settings).first_sync_range(
        today, settings.first_sync_weeks))
    assert len(weeks) >= 49
    planned = [run_requests(weeks, len(listings_of_tags(r.tags) or ())) for r in shards]
    assert all(requests <= max_run for requests in planned)
    assert len(shards) == -(-LISTINGS // ((max_run - 1) // (planned[0] // 4)))
    covered = [listing for r in shards for listing in sorted(listings_of_tags(r.tags) or ())]
    assert len(covered) == len(set(covered)) == LISTINGS
    assert {r.tags["dagster/priority"] for r in shards} == {str(FIRST_SYNC_PRIORITY)}
    # Asked once: another tick asks nothing more.
    third = tick_accounts_sensor(today, cursor=second.cursor)
    assert not [r for r in third.run_requests if r.tags["airbnb_sync/account"] == BIG]

    before = served(simulator)
    for shard in shards:
        assert execute(shard).success
    assert served(simulator) - before == sum(planned)

    stored = table("visibility_metrics")
    stored = stored[stored["account_id"] == BIG]
    pairs = set(zip(stored["listing_id"], pd.to_datetime(stored["week_start"]).dt.date,
                    strict=True))
    assert pairs == {(listing, week) for listing in covered for week in weeks}
    with dg.DagsterInstance.get() as instance:
        done = instance.get_materialized_partitions(dg.AssetKey("visibility_metrics"))
    assert {f"{BIG}|{week}" for week in weeks} <= done


def test_listings_that_appear_later_get_a_first_sync_from_the_reserve(
        pipeline_env: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once an account is synced, a listing that appears on Airbnb gets its own first sync
    (its past weeks too), from the reserve of the budget, in the next daily tick."""
    simulator = pipeline_env
    simulator.configure(listings_for={BIG: 3})
    monkeypatch.setenv("AIRBNB_SYNC_FIRST_SYNC_WEEKS", "2")  # a short first sync: a quick test
    today = datetime.now(UTC).date()
    settings = load_settings()
    first, last = RefreshPolicy.from_settings(settings).first_sync_range(today, 2)
    assert execute(dg.RunRequest(tags=range_tags(BIG, first, last))).success  # synced: 3
    simulator.configure(listings_for={BIG: 5})  # two listings appear
    week = first + timedelta(weeks=2)  # the current week
    assert execute(dg.RunRequest(tags=range_tags(BIG, week, week),
                                 asset_selection=[dg.AssetKey("listings")])).success

    tick = tick_schedule(today)
    mine = [r for r in tick.run_requests if r.tags["airbnb_sync/account"] == BIG]
    new = [r for r in mine if r.tags[TIER_TAG] == FIRST_SYNC]
    appeared = {listing.id for listing in listings_for(BIG, 5)[3:]}
    assert {listing for r in new for listing in listings_of_tags(r.tags) or ()} == appeared
    assert all(r.tags["dagster/asset_partition_range_start"] == f"{BIG}|{first}"
               for r in new)
    for request in mine:
        assert execute(request).success
    stored = table("visibility_metrics")
    stored = stored[(stored["account_id"] == BIG) & stored["listing_id"].isin(appeared)]
    assert set(pd.to_datetime(stored["week_start"]).dt.date) == set(weeks_of((first, last)))
    again = tick_schedule(today + timedelta(days=1))
    assert not [r for r in again.run_requests if r.tags.get(TIER_TAG) == FIRST_SYNC]
