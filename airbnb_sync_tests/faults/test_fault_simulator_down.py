"""Airbnb (the simulator) is down, from the start or from the middle of a run: the run fails
with a clear AirbnbUnavailable, Dagster marks no partition materialized that does not hold
exactly what an undisturbed run stores, and a run once it is back completes the warehouse."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import date

import pytest
from fault_helpers import (
    ASSETS,
    Reference,
    Work,
    compare,
    failure_text,
    materialized,
    partially_materialized,
    run_work,
    snapshot,
    step_failures,
)
from pipeline_helpers import API_KEY, HOSTS

from airbnb_sync.accounts.store import open_store
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig
from airbnb_sync.simulator.state import RequestRecord

pytestmark = [pytest.mark.faults, pytest.mark.parametrize("database_url", ["sqlite"],
                                                          indirect=True)]

WEEKS = 2


@pytest.fixture
def quick_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """One retry, no long backoff: the client's patience is not what these tests measure."""
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RETRIES", "1")
    monkeypatch.setenv("AIRBNB_SYNC_RETRY_BUDGET", "0.01")


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_airbnb_down_from_the_start_fails_clearly_and_materializes_nothing(
        pipeline_env: Simulator, today: date, quick_give_up: None,
        reference: Callable[[Work], Reference], monkeypatch: pytest.MonkeyPatch) -> None:
    work = Work.weeks_up_to((HOSTS[1],), today, WEEKS)
    expected = reference(work)
    monkeypatch.setenv("AIRBNB_BASE_URL", closed_port_url())

    result = run_work(work)

    assert not result.success
    failures = failure_text(result)
    assert f"account {HOSTS[1]}: AirbnbUnavailable: Airbnb is unavailable for " \
           "ListingsSectionQuery" in failures, failures
    assert materialized() == {asset: set() for asset in ASSETS}
    assert {name: sum(rows.values()) for name, rows in snapshot().items()} == {
        "accounts": len(HOSTS), "listings": 0, "conversion_metrics": 0, "visibility_metrics": 0}
    # An outage says nothing about the session.
    assert open_store(load_settings()).get(HOSTS[1]).auth_status == "unknown"

    monkeypatch.setenv("AIRBNB_BASE_URL", pipeline_env.url)
    rerun = run_work(work)

    assert rerun.success, failure_text(rerun)
    comparison = compare(expected.snapshot, snapshot())
    assert comparison.identical, str(comparison)
    assert materialized() == {asset: work.partition_keys for asset in ASSETS}


def test_airbnb_going_down_mid_run_marks_no_partial_partition_materialized(
        pipeline_env: Simulator, today: date, quick_give_up: None,
        reference: Callable[[Work], Reference], monkeypatch: pytest.MonkeyPatch) -> None:
    account = HOSTS[1]  # four listings: two are fetched before Airbnb goes down
    work = Work.weeks_up_to((account,), today, WEEKS)
    expected = reference(work)
    log = expected.requests[account]
    charted = list(dict.fromkeys(r["listing_id"] for r in log if r["operation"] == "ChartQuery"))
    assert len(charted) == 4, log
    # The first ChartQuery of the third listing is the first request that goes unanswered.
    down_at = next(i for i, r in enumerate(log, 1) if r["listing_id"] == charted[2])

    def go_down(simulator: Simulator, record: RequestRecord) -> None:
        if record.account_id == account and len(simulator.requests(account)) == down_at:
            simulator.stop()

    pipeline_env.on_request(go_down)
    port = pipeline_env.port

    result = run_work(work)

    assert not result.success
    assert not pipeline_env.serving
    failures = step_failures(result)["conversion_metrics"]
    for listing in charted[2:]:
        assert f"listing {listing}: AirbnbUnavailable" in failures, failures
    for listing in charted[:2]:
        assert f"listing {listing}:" not in failures, failures
    stored = compare(expected.snapshot, snapshot())
    assert stored.nothing_changed_or_duplicated, str(stored)
    assert set(stored.lost) == {"conversion_metrics", "visibility_metrics"}, str(stored)
    assert partially_materialized(expected.snapshot) == {asset: [] for asset in ASSETS}

    with Simulator(SimulatorConfig(api_key=API_KEY, today=today, port=port)):
        rerun = run_work(work)

    assert rerun.success, failure_text(rerun)
    comparison = compare(expected.snapshot, snapshot())
    assert comparison.identical, str(comparison)
    assert materialized() == {asset: work.partition_keys for asset in ASSETS}
