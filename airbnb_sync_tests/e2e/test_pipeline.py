"""The pipeline end to end: Dagster runs over ranges of weeks, against the simulator, into
each warehouse. Values are compared with what the simulator serves, row for row."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from dagster import DagsterInstance

from airbnb_sync.accounts import open_store
from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.cli import main as cli
from airbnb_sync.definitions import build_definitions
from airbnb_sync.partitions import partition_key, range_tags
from airbnb_sync.settings import load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.simulator.data import daily_point, listings_for, window_metrics
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.tables import METRIC_TABLES

HOSTS = ("41234567", "58765432")
API_KEY = "sim-api-key"
CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"
WEEKS = 8


@pytest.fixture
def simulator():
    with Simulator(SimulatorConfig(api_key=API_KEY)) as sim:
        yield sim


@pytest.fixture
def pipeline_env(database_url, dagster_home, simulator, monkeypatch, tmp_path_factory):
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("AIRBNB_BASE_URL", simulator.url)
    monkeypatch.setenv("AIRBNB_API_KEY", API_KEY)
    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "0")
    cookies = tmp_path_factory.mktemp("cookies")  # away from the files scanned for secrets
    for account_id in HOSTS:
        cookie = cookies / f"{account_id}.cookie"
        cookie.write_text(make_cookie(account_id))
        assert cli(["accounts", "add", "--account-id", account_id, "--cookie-file", str(cookie),
                    "--x-client-version", CLIENT_VERSION, "--user-agent", USER_AGENT]) == 0
    return simulator


def weeks_ending_now(count: int = WEEKS) -> tuple[date, date]:
    last = week_start_of(datetime.now(UTC).date())
    return last - timedelta(weeks=count - 1), last


def run_range(account_id: str, first: date, last: date):
    defs = build_definitions(load_settings())
    job = defs.get_implicit_global_asset_job_def()
    return job.execute_in_process(instance=DagsterInstance.get(),
                                  tags=range_tags(account_id, first, last), raise_on_error=False)


def table(name: str) -> pd.DataFrame:
    engine = create_warehouse_engine(load_settings().database_url)
    with engine.connect() as connection:
        frame = pd.read_sql(sa.select(METRIC_TABLES[name]), connection)
    key = [c for c in ("account_id", "listing_id", "metric_date", "week_start", "scraped_on")
           if c in frame.columns]
    return frame.sort_values(key).reset_index(drop=True)


def dump() -> dict[str, list[tuple]]:
    # NULL comes back as NaN, which never equals itself: compare None instead.
    return {name: [tuple(row) for row in table(name).astype(object).pipe(
                lambda f: f.where(f.notna(), None)).itertuples(index=False)]
            for name in ("listings", "conversion_metrics", "visibility_metrics")}


def as_day(value) -> date:
    return pd.Timestamp(value).date()


def same(stored, served) -> bool:
    if served is None:
        return stored is None or pd.isna(stored)
    return stored == pytest.approx(served, rel=1e-12)


def test_range_run_of_two_accounts_stores_exactly_what_airbnb_serves(pipeline_env):
    first, last = weeks_ending_now()
    for account_id in HOSTS:
        result = run_range(account_id, first, last)
        assert result.success, result.all_events
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
    too_old = week_start_of(datetime.now(UTC).date()) - timedelta(weeks=30)
    result = run_range(HOSTS[0], too_old, too_old + timedelta(weeks=1))
    assert not result.success
    assert "does not serve" in str(result.all_events)
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
    """DESIGN.md §5's command-line contract for a range of one account."""
    return [str(Path(sys.executable).parent / "dagster"), "asset", "materialize",
            "-m", "airbnb_sync.definitions",
            "--select", "listings,conversion_metrics,visibility_metrics",
            "--partition-range",
            f"{partition_key(account_id, first)}...{partition_key(account_id, last)}"]


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
