"""A session expires: the run stops asking, the account turns expired, a person is alerted
with the fix, the schedule leaves it out; a refreshed cookie brings it back on the next tick.
End to end: the schedule's own run requests, executed through Dagster against the simulator,
alerts POSTed to a real HTTP receiver."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from automation_helpers import accounts_of, alert_on_failure, run_request, tick_schedule
from pipeline_helpers import HOSTS
from webhook_receiver import WebhookReceiver

from airbnb_sync.accounts.store import open_store
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import make_cookie

TODAY = datetime.now(UTC).date()


@pytest.fixture
def receiver(pipeline_env, monkeypatch: pytest.MonkeyPatch):
    # A short horizon keeps the runs small: near tier -1..1, far weeks 2..3.
    monkeypatch.setenv("AIRBNB_SYNC_LOOKAHEAD_WEEKS", "3")
    monkeypatch.setenv("AIRBNB_SYNC_DAILY_AHEAD_WEEKS", "1")
    monkeypatch.setenv("AIRBNB_SYNC_DAGSTER_URL", "http://dagster.example:3000")
    with WebhookReceiver() as hook:
        monkeypatch.setenv("AIRBNB_SYNC_ALERT_WEBHOOK", hook.url)
        yield hook


def test_expiry_alerts_skips_and_recovers(pipeline_env, receiver: WebhookReceiver,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    simulator = pipeline_env
    expiring, other = HOSTS
    simulator.expire(expiring)
    day: date = TODAY

    # 1. The daily tick asks for both accounts; the expiring one's run fails.
    tick = tick_schedule(day)
    assert set(accounts_of(tick.run_requests)) == {expiring, other}
    failed = run_request(next(r for r in tick.run_requests
                              if r.tags["airbnb_sync/account"] == expiring), day)
    assert not failed.success
    # The session was refused from the first request: nothing else was sent for it.
    assert len(simulator.requests(expiring)) == 1
    record = open_store(load_settings()).get(expiring)
    assert record.auth_status == "expired"
    assert datetime.now(UTC) - record.auth_checked_at < timedelta(minutes=5)

    # 2. The failure sensor tells a person: the failed run, and the expired session's fix.
    alert_on_failure(failed)
    events = {post["event"]: post for post in receiver.posts}
    assert set(events) == {"run_failed", "session_expired"}
    assert events["run_failed"]["run_id"] == failed.run_id
    assert events["run_failed"]["accounts"] == [expiring]
    assert events["run_failed"]["error_class"] == "AuthExpired"
    assert events["run_failed"]["run_url"] == f"http://dagster.example:3000/runs/{failed.run_id}"
    assert events["session_expired"]["fix"] == (
        f"airbnb-sync accounts update {expiring} --cookie-file -")
    cookie = make_cookie(expiring)
    secrets = [value.split("=", 1)[1] for value in cookie.split("; ")] + [
        load_settings().secret_keys[0]]
    for body in receiver.raw:
        assert not any(secret in body.decode() for secret in secrets if len(secret) > 8)

    # 3. The next ticks leave the expired account out, naming it.
    sent_before = len(simulator.requests(expiring))
    next_tick = tick_schedule(day + timedelta(days=1))
    assert set(accounts_of(next_tick.run_requests)) == {other}
    assert cli(["accounts", "deactivate", other]) == 0
    quiet = tick_schedule(day + timedelta(days=1))
    assert quiet.run_requests == [] and f"account {expiring}: session expired" in (
        quiet.skip_message or "")
    assert len(simulator.requests(expiring)) == sent_before

    # 4. A refreshed cookie sets it back, and the next tick syncs it successfully.
    simulator.restore(expiring)
    monkeypatch.setattr("sys.stdin", io.StringIO(cookie))
    assert cli(["accounts", "update", expiring, "--cookie-file", "-"]) == 0
    assert open_store(load_settings()).get(expiring).auth_status == "unknown"
    recovered = tick_schedule(day + timedelta(days=2))
    assert accounts_of(recovered.run_requests)[0] == expiring
    for request in recovered.run_requests:
        assert run_request(request, day).success
    assert open_store(load_settings()).get(expiring).auth_status == "ok"
    assert len(receiver.posts) == 2  # nothing more to say
    json.dumps(receiver.posts)
