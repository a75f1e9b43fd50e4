"""A session Airbnb refused is replaced by a fresh one: the expired state clears, a
`session_restored` alert reaches the webhook, and the next tick of `session_restored_sensor`
asks for the weeks the schedule skipped during the outage (within the horizon); those runs
then fetch them from the simulator. End to end on a real Dagster instance, alerts POSTed to a
real HTTP receiver."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from automation_helpers import accounts_of, resources, run_request, tick_accounts_sensor
from pipeline_helpers import API_KEY, HOSTS
from webhook_receiver import WebhookReceiver

from airbnb_sync.accounts.secrets import build_cipher
from airbnb_sync.accounts.store import AccountStore, open_store
from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import LISTINGS_TAG, range_tags
from airbnb_sync.defs.session_restore import SENSOR_NAME
from airbnb_sync.simulator import Simulator, make_cookie
from airbnb_sync.simulator.paste_sample import sample_curl
from airbnb_sync.sync.budget import max_run_requests
from airbnb_sync.sync.planner import run_requests
from airbnb_sync.sync.refresh import RefreshPolicy, weeks_of
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.inventory import current_listings
from airbnb_sync.warehouse.tables import visibility_metrics

pytestmark = pytest.mark.slow
TODAY = datetime.now(UTC).date()
OUTAGE_DAYS = 10


@pytest.fixture
def short_horizon(pipeline_env: Simulator, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    # Small runs: the near tier is weeks -1..1, the far weeks 2..3.
    monkeypatch.setenv("AIRBNB_SYNC_LOOKAHEAD_WEEKS", "3")
    monkeypatch.setenv("AIRBNB_SYNC_DAILY_AHEAD_WEEKS", "1")
    return pipeline_env


def tick_restored_sensor(day: date, cursor: str | None) -> dg.SensorResult:
    sensor = build_definitions(load_settings()).get_sensor_def(SENSOR_NAME)
    with dg.build_sensor_context(instance=dg.DagsterInstance.get(), cursor=cursor,
                                 resources=resources(day)) as context:
        return sensor.evaluate_tick(context)


def paste_fresh_session(simulator: Simulator, account_id: str,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    simulator.restore(account_id)
    monkeypatch.setattr("sys.stdin", io.StringIO(sample_curl(account_id, API_KEY, simulator.url)))
    assert cli(["accounts", "update", account_id, "--from-curl", "-"]) == 0


def refuse_in_a_run(simulator: Simulator, account_id: str, first: date, last: date) -> None:
    simulator.expire(account_id)
    tags = {**range_tags(account_id, first, last), "airbnb_sync/account": account_id}
    assert not run_request(dg.RunRequest(tags=tags), TODAY).success
    assert open_store(load_settings()).get(account_id).auth_status == "expired"


def range_of(request: dg.RunRequest) -> tuple[date, date]:
    start, end = (request.tags[f"dagster/asset_partition_range_{side}"] for side in
                  ("start", "end"))
    return date.fromisoformat(start.split("|")[1]), date.fromisoformat(end.split("|")[1])


def test_a_restored_session_alerts_and_fetches_the_weeks_missed(
        short_horizon: Simulator, receiver: WebhookReceiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    simulator = short_horizon
    host = HOSTS[0]
    current = week_start_of(TODAY)
    # Airbnb refuses the session in a real run, which marks the account expired; its last
    # good sync was ten days ago (written with the store's clock pinned then).
    refuse_in_a_run(simulator, host, current, current)
    settings = load_settings()
    engine = create_warehouse_engine(settings.database_url)
    last_sync = datetime.now(UTC) - timedelta(days=OUTAGE_DAYS)
    pinned = AccountStore(engine, build_cipher(settings.secret_keys), now=lambda: last_sync)
    pinned.mark_synced(host, last_sync)

    # Nothing restored yet: the sensor has nothing to say.
    quiet = tick_restored_sensor(TODAY, None)
    assert quiet.run_requests == [] and receiver.posts == []

    paste_fresh_session(simulator, host, monkeypatch)
    record = open_store(settings).get(host)
    assert record.auth_status == "unknown"
    assert record.outage_started_at == last_sync
    assert datetime.now(UTC) - record.session_restored_at < timedelta(minutes=5)

    tick = tick_restored_sensor(TODAY, quiet.cursor)
    expected = RefreshPolicy.from_settings(settings).missed_weeks(last_sync.date(), TODAY)
    # Ten days out: the week that was "last week" when the outage began through the far end.
    assert expected.ranges == [(week_start_of(last_sync.date()) - timedelta(weeks=1),
                                current + timedelta(weeks=3))]
    assert [range_of(request) for request in tick.run_requests] == expected.ranges
    assert set(accounts_of(tick.run_requests)) == {host}
    assert {request.tags["airbnb_sync/trigger"] for request in tick.run_requests} == {
        "session_restored"}
    [alert] = receiver.posts
    assert alert["event"] == "session_restored" and alert["account"] == host
    assert alert["outage_started_at"] == last_sync.isoformat()
    assert alert["catch_up"] == [{"from": first.isoformat(), "to": last.isoformat()}
                                 for first, last in expected.ranges]
    assert alert["lost_weeks"] == []
    secrets = [value.split("=", 1)[1] for value in make_cookie(host).split("; ")]
    for body in receiver.raw:
        assert not any(secret in body.decode() for secret in secrets if len(secret) > 8)

    sent_before = len(simulator.requests(host))
    for request in tick.run_requests:
        assert run_request(request, TODAY).success
    assert len(simulator.requests(host)) > sent_before
    with engine.connect() as connection:
        fetched = set(connection.execute(
            sa.select(visibility_metrics.c.week_start)
            .where(visibility_metrics.c.account_id == host,
                   visibility_metrics.c.scraped_on == TODAY)).scalars())
    missed = {week for weeks in expected.ranges for week in weeks_of(weeks)}
    assert {date.fromisoformat(str(week)[:10]) for week in fetched} == missed
    assert open_store(settings).get(host).auth_status == "ok"

    # Once per restore: the next tick asks for nothing and says nothing.
    again = tick_restored_sensor(TODAY, tick.cursor)
    assert again.run_requests == [] and len(receiver.posts) == 1
    json.dumps(receiver.posts)


def test_an_account_refused_before_its_first_sync_gets_its_first_sync_again(
        short_horizon: Simulator, receiver: WebhookReceiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    simulator = short_horizon
    host = HOSTS[0]
    first = tick_accounts_sensor(TODAY)
    first_sync = next(r for r in first.run_requests if r.tags["airbnb_sync/account"] == host)
    simulator.expire(host)
    assert not run_request(first_sync, TODAY).success
    assert open_store(load_settings()).get(host).auth_status == "expired"
    assert tick_accounts_sensor(TODAY, first.cursor).run_requests == []

    paste_fresh_session(simulator, host, monkeypatch)

    again = tick_accounts_sensor(TODAY, first.cursor)
    assert accounts_of(again.run_requests) == [host]
    assert range_of(again.run_requests[0]) == range_of(first_sync)
    tick = tick_restored_sensor(TODAY, None)
    assert tick.run_requests == []  # the first sync above covers it
    [alert] = receiver.posts
    assert alert["event"] == "session_restored" and alert["catch_up"] == []
    assert run_request(again.run_requests[0], TODAY).success
    assert open_store(load_settings()).get(host).last_sync_at is not None



def test_a_big_accounts_catch_up_comes_in_runs_of_bounded_length(
        short_horizon: Simulator, receiver: WebhookReceiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of at most AIRBNB_SYNC_MAX_RUN_MINUTES of requests, by listings, as the daily runs
    are: with a pacing of 1 s (1.25 s on average) a one-minute run holds two listings' weeks."""
    simulator = short_horizon
    host = HOSTS[1]  # 4 listings
    current = week_start_of(TODAY)
    settings = load_settings()
    assert run_request(dg.RunRequest(tags={**range_tags(host, current, current),
                                           "airbnb_sync/account": host}), TODAY).success
    engine = create_warehouse_engine(settings.database_url)
    stored = current_listings(engine, [host], TODAY)[host]
    assert len(stored) == 4
    refuse_in_a_run(simulator, host, current, current)
    last_sync = datetime.now(UTC) - timedelta(days=OUTAGE_DAYS)
    pinned = AccountStore(engine, build_cipher(settings.secret_keys), now=lambda: last_sync)
    pinned.mark_synced(host, last_sync)
    paste_fresh_session(simulator, host, monkeypatch)

    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "1")
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RUN_MINUTES", "1")
    tick = tick_restored_sensor(TODAY, None)
    bound = max_run_requests(load_settings())
    expected = RefreshPolicy.from_settings(settings).missed_weeks(last_sync.date(), TODAY)
    shards: dict[tuple[date, date], list[str]] = {}
    for request in tick.run_requests:
        listings = request.tags[LISTINGS_TAG].split(",")
        assert run_requests(weeks_of(range_of(request)), len(listings)) <= bound
        shards.setdefault(range_of(request), []).extend(listings)
    assert len(tick.run_requests) == len(expected.ranges) * 2
    assert {weeks: sorted(ids) for weeks, ids in shards.items()} == {
        weeks: sorted(stored) for weeks in expected.ranges}
    assert len({request.run_key for request in tick.run_requests}) == len(tick.run_requests)

    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "0")  # the runs themselves, fast
    for request in tick.run_requests:
        assert run_request(request, TODAY).success
    with engine.connect() as connection:
        fetched = set(connection.execute(
            sa.select(visibility_metrics.c.listing_id, visibility_metrics.c.week_start)
            .where(visibility_metrics.c.account_id == host,
                   visibility_metrics.c.scraped_on == TODAY)).all())
    missed = {week for weeks in expected.ranges for week in weeks_of(weeks)}
    assert {(listing, date.fromisoformat(str(week)[:10])) for listing, week in fetched} == {
        (listing, week) for listing in stored for week in missed}
