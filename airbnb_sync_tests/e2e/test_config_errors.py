"""A configuration error fails the run's step once, with the deployment's retries on: no
Dagster retry, no request sent. Through the real definitions and a real Dagster instance."""

from __future__ import annotations

import pytest
from pipeline_helpers import HOSTS, run_range, weeks_ending_now

from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"],
                                                        indirect=True)]


def test_a_missing_api_key_for_airbnb_fails_once(pipeline_env: Simulator,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Airbnb's own domain (airbnb/domains.py: a lookalike such as airbnb.test is not) and no
    # key: a setting to fix, refused before any request is sent.
    monkeypatch.setenv("AIRBNB_BASE_URL", "https://www.airbnb.com")
    monkeypatch.delenv("AIRBNB_API_KEY")
    monkeypatch.setenv("AIRBNB_SYNC_RUN_RETRIES", "3")
    monkeypatch.setenv("AIRBNB_SYNC_RUN_RETRY_DELAY", "0")

    result = run_range(HOSTS[0], *weeks_ending_now(2))

    events = [event.event_type_value for event in result.all_events]
    assert not result.success
    assert events.count("STEP_START") == 1, events
    assert "STEP_UP_FOR_RETRY" not in events and "STEP_RESTARTED" not in events, events
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert "AIRBNB_API_KEY is not set" in str(failure.step_failure_data.error)
    assert pipeline_env.stats()["total_requests"] == 0
