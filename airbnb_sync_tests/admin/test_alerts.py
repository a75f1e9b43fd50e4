"""Alert payloads and their delivery to a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from webhook_receiver import WebhookReceiver

from airbnb_sync.admin.alerts import FailedRun, deliver, run_failed_alert, session_expired_alert
from airbnb_sync.core.redact import register_secret

FAILED = FailedRun(
    run_id="0f3c2a1b-aaaa-bbbb-cccc-000000000000", job_name="__ASSET_JOB",
    accounts=["41234567"],
    partitions={"start": "41234567|2026-11-01", "end": "41234567|2026-11-29"},
    error_class="AirbnbUnavailable",
    error="account 41234567: AirbnbUnavailable: HTTP 503 after 5 retries",
    run_url="http://127.0.0.1:3000/runs/0f3c2a1b-aaaa-bbbb-cccc-000000000000",
)


def test_run_failed_alert_is_slack_text_plus_structured_fields() -> None:
    alert = run_failed_alert(FAILED)
    assert alert["event"] == "run_failed"
    assert alert["text"].startswith("airbnb-sync: run 0f3c2a1b failed for account 41234567 "
                                    "(41234567|2026-11-01..41234567|2026-11-29)")
    assert FAILED.run_url in alert["text"]
    assert {k: alert[k] for k in ("run_id", "accounts", "error_class", "run_url")} == {
        "run_id": FAILED.run_id, "accounts": ["41234567"], "error_class": "AirbnbUnavailable",
        "run_url": FAILED.run_url}
    assert alert["partitions"] == dict(FAILED.partitions)


def test_session_expired_alert_says_how_to_refresh() -> None:
    alert = session_expired_alert("41234567", "Lisbon flats", datetime(2026, 11, 29, 5, tzinfo=UTC),
                                  "run-1", "http://ui/runs/run-1")
    assert alert["fix"] == "airbnb-sync accounts update 41234567 --cookie-file -"
    assert "41234567 (Lisbon flats)" in alert["text"] and alert["fix"] in alert["text"]
    assert alert["expired_at"] == "2026-11-29T05:00:00+00:00"


def test_secrets_in_an_error_never_reach_the_payload() -> None:
    register_secret("session-cookie-value-0123456789")
    error = "boom Cookie: _airbed_session_id=session-cookie-value-0123456789"
    leaky = FailedRun(**{**FAILED.__dict__, "error": error})
    body = json.dumps(run_failed_alert(leaky))
    assert "session-cookie-value-0123456789" not in body


def test_delivery_retries_transient_failures_then_succeeds() -> None:
    with WebhookReceiver(fail_first=2) as receiver:
        assert deliver(receiver.url, run_failed_alert(FAILED), backoff_factor=0) is True
    assert receiver.attempts == 3
    assert receiver.posts == [run_failed_alert(FAILED)]


def test_a_receiver_that_keeps_failing_is_logged_not_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    with WebhookReceiver(fail_first=-1) as receiver, caplog.at_level(logging.ERROR):
        assert deliver(receiver.url, run_failed_alert(FAILED), backoff_factor=0) is False
    assert receiver.attempts == 4
    assert "refused the run_failed alert with HTTP 500 after 4 attempts" in caplog.text
    assert "secret-token" not in caplog.text


def test_an_unreachable_receiver_is_logged_without_its_url(
        caplog: pytest.LogCaptureFixture) -> None:
    with WebhookReceiver() as receiver:
        url = receiver.url  # closed when the block ends
    with caplog.at_level(logging.ERROR):
        assert deliver(url, run_failed_alert(FAILED), backoff_factor=0) is False
    assert "could not deliver the run_failed alert" in caplog.text
    assert "secret-token" not in caplog.text and url.split("/hooks")[0] not in caplog.text


def test_without_a_webhook_one_line_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="airbnb_sync.admin.alerts"):
        assert deliver(None, run_failed_alert(FAILED)) is False
    lines = [r for r in caplog.records if r.name == "airbnb_sync.admin.alerts"]
    assert len(lines) == 1 and "run 0f3c2a1b failed" in lines[0].getMessage()
