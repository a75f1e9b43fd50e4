"""Runs that go partly wrong, end to end: one listing down, a session that expires in the
middle of a run, and a dry run. What was fetched is kept, the failure names its cause, and
re-running the same range completes it without touching anything else."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult
from pipeline_helpers import (
    HOSTS,
    TABLES,
    dump,
    run_range,
    table,
    weeks_ending_now,
    write_cookie_file,
)

from airbnb_sync.accounts.store import open_store
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import range_tags
from airbnb_sync.simulator import Simulator
from airbnb_sync.simulator.data import listings_for

HOST = HOSTS[1]  # four listings: one can fail while the others go on
LISTING_IDS = [listing.id for listing in listings_for(HOST)]
WEEKS = 2


def failure_text(result: ExecuteInProcessResult) -> str:
    return "\n".join(str(event.step_failure_data.error) for event in result.all_events
                     if event.is_step_failure and event.step_failure_data is not None)


def check_evaluation(result: ExecuteInProcessResult, asset: str, check: str) -> Any:
    found = [evaluation for evaluation in result.get_asset_check_evaluations()
             if evaluation.asset_key.to_user_string() == asset and evaluation.check_name == check]
    assert len(found) == 1, found
    return found[0]


def rows_per_listing(name: str) -> dict[str, int]:
    frame = table(name)
    return frame[frame.account_id == HOST].groupby("listing_id").size().to_dict()


def rows_except(listing_id: str) -> dict[str, list[tuple]]:
    """Every stored row except those of one listing, comparable across runs."""
    kept = {}
    for name in TABLES:
        frame = table(name).astype(object)
        frame = frame[frame.listing_id != listing_id]
        kept[name] = [tuple(row) for row in
                      frame.where(pd.notna(frame), None).itertuples(index=False)]
    return kept


def auth_status() -> str:
    return open_store(load_settings()).get(HOST).auth_status


def test_one_failing_listing_keeps_the_others_and_a_rerun_completes_it(
        pipeline_env: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RETRIES", "1")
    monkeypatch.setenv("AIRBNB_SYNC_RETRY_BUDGET", "0.01")
    failing = LISTING_IDS[0]  # also the listing the visibility asset would calibrate with
    pipeline_env.configure(failing_listings=[failing])
    first, last = weeks_ending_now(WEEKS)

    result = run_range(HOST, first, last)

    assert not result.success
    failures = failure_text(result)
    assert f"listing {failing}: AirbnbUnavailable" in failures
    assert not any(f"listing {other}" in failures for other in LISTING_IDS[1:])
    others = LISTING_IDS[1:]
    assert rows_per_listing("conversion_metrics") == {o: WEEKS * 7 for o in others}
    assert rows_per_listing("visibility_metrics") == {o: WEEKS for o in others}
    assert rows_per_listing("listings") == dict.fromkeys(LISTING_IDS, WEEKS)
    complete = check_evaluation(result, "conversion_metrics", "complete")
    assert not complete.passed
    missing = complete.metadata["missing"].value
    assert set(missing) == {f"{HOST}/{failing}"} and len(missing[f"{HOST}/{failing}"]) == WEEKS * 7
    assert not check_evaluation(result, "visibility_metrics", "complete").passed
    assert check_evaluation(result, "listings", "complete").passed
    refused = [r for r in pipeline_env.requests(HOST) if r["fault"] == "failing_listing"]
    assert refused and {r["status"] for r in refused} == {503}
    assert auth_status() == "ok"  # a listing's outage says nothing about the session
    before = rows_except(failing)

    pipeline_env.configure(failing_listings=[])
    rerun = run_range(HOST, first, last)

    assert rerun.success, failure_text(rerun)
    assert rows_per_listing("conversion_metrics") == dict.fromkeys(LISTING_IDS, WEEKS * 7)
    assert rows_per_listing("visibility_metrics") == dict.fromkeys(LISTING_IDS, WEEKS)
    assert check_evaluation(rerun, "conversion_metrics", "complete").passed
    assert rows_except(failing) == before


def test_visibility_alone_calibrates_with_another_listing_when_the_first_fails(
        pipeline_env: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without conversion_metrics in the run no anchor was measured today: the visibility
    asset probes one listing's chart for it, and must not give up when that listing is down."""
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RETRIES", "0")
    failing = LISTING_IDS[0]
    pipeline_env.configure(failing_listings=[failing])
    first, last = weeks_ending_now(WEEKS)
    job = build_definitions(load_settings()).resolve_implicit_global_asset_job_def()

    result = job.execute_in_process(
        instance=DagsterInstance.get(), tags=range_tags(HOST, first, last),
        asset_selection=[AssetKey("listings"), AssetKey("visibility_metrics")],
        raise_on_error=False)

    assert not result.success
    assert f"listing {failing}: AirbnbUnavailable" in failure_text(result)
    assert rows_per_listing("visibility_metrics") == dict.fromkeys(LISTING_IDS[1:], WEEKS)
    assert table("conversion_metrics").empty


def test_a_session_expiring_mid_run_stops_the_account_at_the_first_refusal(
        pipeline_env: Simulator, tmp_path_factory: pytest.TempPathFactory) -> None:
    first, last = weeks_ending_now(WEEKS)
    # ListingsSectionQuery and three ChartQuery requests pass; the fourth is refused.
    pipeline_env.configure(expire_after=4)

    result = run_range(HOST, first, last)

    assert not result.success
    log = pipeline_env.requests(HOST)
    statuses = [r["status"] for r in log]
    assert statuses == [200, 200, 200, 200, 401], log
    assert [r["operation"] for r in log] == ["ListingsSectionQuery"] + ["ChartQuery"] * 4
    assert pipeline_env.stats()["accounts"][HOST]["by_status"] == {"200": 4, "401": 1}
    assert f"accounts update {HOST} --cookie-file -" in failure_text(result)
    assert auth_status() == "expired"
    assert table("conversion_metrics").empty and table("visibility_metrics").empty

    pipeline_env.configure(expire_after=None)
    pipeline_env.restore(HOST)
    cookie = write_cookie_file(tmp_path_factory.mktemp("fresh_cookie"), HOST)
    assert cli(["accounts", "update", HOST, "--cookie-file", str(cookie)]) == 0
    assert auth_status() == "unknown"
    rerun = run_range(HOST, first, last)

    assert rerun.success, failure_text(rerun)
    assert auth_status() == "ok"
    assert rows_per_listing("conversion_metrics") == dict.fromkeys(LISTING_IDS, WEEKS * 7)
    assert rows_per_listing("visibility_metrics") == dict.fromkeys(LISTING_IDS, WEEKS)


def test_a_dry_run_fetches_and_writes_nothing(pipeline_env: Simulator,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_DRY_RUN", "1")
    first, last = weeks_ending_now(WEEKS)

    result = run_range(HOST, first, last)

    assert result.success, failure_text(result)
    operations = pipeline_env.stats()["accounts"][HOST]["by_operation"]
    assert operations["ListingsSectionQuery"] == 1
    # The metric assets got the listings the dry run did not store, and fetched for each.
    assert operations["ChartQuery"] >= len(LISTING_IDS) * 2
    assert operations["ListOfMetricsQuery"] == len(LISTING_IDS) * WEEKS * 2
    assert dump() == {name: [] for name in TABLES}
