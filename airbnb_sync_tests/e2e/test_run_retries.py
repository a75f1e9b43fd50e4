"""Dagster retries transient failures (Airbnb unavailable, rate-limit budget spent, database
errors) and never what would fail the same way again (expired session, drift, invalid data)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import dagster as dg
import pytest
from pipeline_helpers import HOSTS, run_range, weeks_ending_now

from airbnb_sync.airbnb.errors import (
    AirbnbUnavailable,
    ApiKeyRejected,
    AuthExpired,
    QueryHashRejected,
    RateLimited,
    SchemaDrift,
)
from airbnb_sync.sync.lease import LeaseLost, LeaseTimeout
from airbnb_sync.sync.report import SyncReport


@pytest.mark.parametrize(("error", "retried"), [
    (AirbnbUnavailable("ChartQuery", "HTTP 503"), True),
    (RateLimited("41234567", "ChartQuery", 900.0), True),
    (LeaseTimeout("held by another run"), True),
    (LeaseLost("41234567", ConnectionError("server closed the connection")), True),
    (AuthExpired("41234567", "authentication_required"), False),
    (SchemaDrift("ChartQuery", "data.porch", "missing"), False),
    (QueryHashRejected("ChartQuery", "AIRBNB_SYNC_HASH_CHART"), False),
    (ApiKeyRejected("ChartQuery", 401), False),
    (KeyError("no such account"), False),
])
def test_retry_classification(error: Exception, retried: bool) -> None:
    report = SyncReport(scraped_at=datetime.now(UTC))
    report.failed("41234567", error)
    assert report.retryable is retried


def test_a_failed_listing_is_transient() -> None:
    report = SyncReport(scraped_at=datetime.now(UTC))
    report.failed_listings["41234567"] = {"1": AirbnbUnavailable("ChartQuery", "HTTP 503")}
    assert report.retryable


def retries(result: dg.ExecuteInProcessResult) -> int:
    return sum(1 for event in result.all_events
               if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)


@pytest.fixture
def two_retries(pipeline_env, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRBNB_SYNC_RUN_RETRIES", "2")
    monkeypatch.setenv("AIRBNB_SYNC_RUN_RETRY_DELAY", "0")
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RETRIES", "0")
    return pipeline_env


def test_airbnb_unavailable_is_retried_by_dagster(two_retries,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AIRBNB_BASE_URL", f"http://127.0.0.1:{port}")
    result = run_range(HOSTS[0], *weeks_ending_now(1))
    assert not result.success
    assert retries(result) == 2
    assert "AirbnbUnavailable" in str(result.get_step_failure_events()[0].step_failure_data.error)


def test_an_expired_session_is_not_retried(two_retries) -> None:
    two_retries.expire(HOSTS[0])
    result = run_range(HOSTS[0], *weeks_ending_now(1))
    assert not result.success
    assert retries(result) == 0
    assert len(two_retries.requests(HOSTS[0])) == 1


def test_schema_drift_is_not_retried(two_retries) -> None:
    two_retries.configure(drift_rate=1.0)
    result = run_range(HOSTS[0], *weeks_ending_now(1))
    assert not result.success
    assert retries(result) == 0
