"""The pipeline end to end: Dagster runs over ranges of weeks, against the simulator, into
each warehouse. Values are compared with what the simulator serves, row for row."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pipeline_helpers import (
    HOSTS,
    WEEKS,
    as_day,
    dump,
    run_range,
    same,
    table,
    weeks_ending_now,
)

from airbnb_sync.accounts.store import open_store
from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.partitions import partition_key
from airbnb_sync.simulator import make_cookie
from airbnb_sync.simulator.data import daily_point, listings_for, window_metrics


def test_range_run_of_two_accounts_stores_exactly_what_airbnb_serves(pipeline_env):
    first, last = weeks_ending_now()
    for account_id in HOSTS:
        result = run_range(account_id, first, last)
        assert result.success, result.all_events
    # The last run covered the second account, so now every check passes, `fresh` included.
    checks = {(evaluation.asset_key.path[-1], evaluation.check_name): evaluation.passed
              for evaluation in result.get_asset_check_evaluations()}
    assert checks == {(asset, check): True
                      for asset in ("listings", "conversion_metrics", "visibility_metrics")
                      for check in ("valid_schema", "complete", "fresh")}
    listings, conversion, visibility = (table("listings"), table("conversion_metrics"),
                                        table("visibility_metrics"))
    for account_id in HOSTS:
        served = {listing.id for listing in listings_for(account_id)}
        mine = listings[listings.account_id == account_id]
        assert set(mine.listing_id) == served
        assert len(mine) == len(served) * WEEKS
        assert len(conversion[conversion.account_id == account_id]) == len(served) * WEEKS * 7
        assert len(visibility[visibility.account_id == account_id]) == len(served) * WEEKS
    for row in conversion.itertuples():
        day = as_day(row.metric_date)
        rate = daily_point(row.account_id, row.listing_id, day, "conversion_rate")
        views = daily_point(row.account_id, row.listing_id, day, "p3_impressions")
        assert same(row.conversion_rate_your, rate[0])
        assert same(row.conversion_rate_similar, rate[1])
        assert same(row.p3_impressions_your, views[0])
        assert same(row.p3_impressions_similar, views[1])
        assert as_day(row.week_start) == week_start_of(day)
        assert first <= day <= last + timedelta(days=6)
    for row in visibility.itertuples():
        start = as_day(row.week_start)
        rates = window_metrics(row.account_id, row.listing_id, start, start + timedelta(days=6),
                               "conversion_rate")
        counts = window_metrics(row.account_id, row.listing_id, start, start + timedelta(days=6),
                                "p3_impressions")
        for column in ("conversion_rate", "p2_impressions_first_page_rate",
                       "search_conversion_rate", "listing_conversion_rate",
                       "conversion_rate_change"):
            assert same(getattr(row, column), rates[column]), column
        for column in ("p3_impressions", "p2_impressions", "p3_impressions_change"):
            assert same(getattr(row, column), counts[column]), column
    store = open_store(load_settings())
    assert {store.get(a).auth_status for a in HOSTS} == {"ok"}


def test_rerun_on_the_same_day_changes_nothing(pipeline_env):
    first, last = weeks_ending_now(3)
    assert run_range(HOSTS[0], first, last).success
    before = dump()
    assert run_range(HOSTS[0], first, last).success
    assert dump() == before


def test_weeks_out_of_reach_are_refused_before_any_request(pipeline_env):
    # The grid's oldest week: Airbnb no longer serves it, the grid keeps it one more week.
    too_old = week_start_of(datetime.now(UTC).date() - timedelta(days=180)) - timedelta(weeks=1)
    result = run_range(HOSTS[0], too_old, too_old + timedelta(weeks=1))
    assert not result.success
    assert "does not serve" in str(result.all_events)
    assert pipeline_env.stats()["total_requests"] == 0


def test_weeks_that_left_the_grid_are_refused_by_dagster_before_any_request(pipeline_env):
    too_old = week_start_of(datetime.now(UTC).date()) - timedelta(weeks=30)
    # Dagster's own CheckError: "Partition key range start ... is before the partitions
    # definition start time ...".
    with pytest.raises(Exception, match=f"{too_old}.*before the partitions definition start"):
        run_range(HOSTS[0], too_old, too_old + timedelta(weeks=1))
    assert pipeline_env.stats()["total_requests"] == 0


def test_drifted_response_writes_nothing(pipeline_env):
    first, last = weeks_ending_now(2)
    assert run_range(HOSTS[0], first, last).success
    before = dump()
    pipeline_env.configure(drift_rate=1.0)
    result = run_range(HOSTS[0], first, last)
    assert not result.success
    assert "changed shape" in str(result.all_events)
    assert dump() == before


def test_expired_session_stops_the_account_and_marks_it(pipeline_env):
    first, last = weeks_ending_now(2)
    pipeline_env.configure(expired_accounts=[HOSTS[0]])
    result = run_range(HOSTS[0], first, last)
    assert not result.success
    assert f"accounts update {HOSTS[0]} --cookie-file -" in str(result.all_events)
    assert open_store(load_settings()).get(HOSTS[0]).auth_status == "expired"
    assert dump()["listings"] == []


def test_plain_cookie_is_nowhere_at_rest(pipeline_env, dagster_home):
    first, last = weeks_ending_now(1)
    assert run_range(HOSTS[0], first, last).success
    secret = make_cookie(HOSTS[0]).split("_aat=")[1].split(";")[0]
    places = [Path(dagster_home)]
    url = load_settings().database_url
    if url.startswith("sqlite"):
        places.append(Path(url.split("///")[1]).parent)
    for place in places:
        for path in place.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def materialize_command(account_id: str, first: date, last: date) -> list[str]:
    """README: Syncing's command-line contract for a range of one account."""
    return [str(Path(sys.executable).parent / "dagster"), "asset", "materialize",
            "-m", "airbnb_sync.definitions",
            "--select", "listings,conversion_metrics,visibility_metrics",
            "--partition-range",
            f"{partition_key(account_id, first)}...{partition_key(account_id, last)}"]


def test_dg_launch_syncs_a_range_from_the_project_folder(pipeline_env):
    """`dg launch --assets` (dagster-dg-cli) finds the code location through [tool.dg]."""
    first, last = weeks_ending_now(1)
    run = subprocess.run(
        [str(Path(sys.executable).parent / "dg"), "launch",
         "--assets", "listings,conversion_metrics,visibility_metrics", "--partition-range",
         f"{partition_key(HOSTS[0], first)}...{partition_key(HOSTS[0], last)}"],
        cwd=Path(__file__).resolve().parents[2], env=os.environ.copy(), capture_output=True,
        text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert len(table("listings")) == len(listings_for(HOSTS[0]))
    assert len(table("visibility_metrics")) == len(listings_for(HOSTS[0]))


def test_two_cli_runs_of_one_account_never_overlap_their_requests(pipeline_env):
    """Two `dagster asset materialize` processes of one account at once: the lease makes
    them take turns, so Airbnb never sees two requests of the account in flight."""
    pipeline_env.configure(latency_ms=20)
    first, last = weeks_ending_now(2)
    runs = [subprocess.Popen(materialize_command(HOSTS[0], first, last), env=os.environ.copy(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    intervals = sorted(pipeline_env.request_intervals(HOSTS[0]))
    assert len(intervals) >= 2 * (1 + 2 * 1 + 2 * 2) * len(listings_for(HOSTS[0]))
    for (_, end), (start, _) in itertools.pairwise(intervals):
        assert start >= end - 1e-3
