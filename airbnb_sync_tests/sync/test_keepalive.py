"""Keep-alive over real HTTP against the simulator: Airbnb (simulated) rotates `_aat` every K
requests and accepts the previous value for G more; 14 simulated days of daily runs of the
sync core show no expiry with keep-alive on, and expiry with it off."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from airbnb_sync.accounts.secrets import build_cipher
from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.cookies import SessionCookies
from airbnb_sync.airbnb.factory import HttpClientFactory
from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.simulator.rotation import rotated_aat
from airbnb_sync.sync.accounts import SyncEnvironment
from airbnb_sync.sync.tables import (
    LISTINGS,
    SyncFailed,
    conversion_sync,
    listing_ids_by_account,
    run_table,
    visibility_sync,
)
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head

ACCOUNT = "58765432"  # four listings in the simulator
API_KEY = "keepalive-test-key"
FIRST_DAY = date(2026, 11, 1)
DAYS = 14
ROTATE_EVERY, GRACE, MAX_AGE = 5, 2, 7 * 86400


@dataclass
class Days:
    runs: int = 0
    failed_runs: int = 0
    expiries: int = 0  # runs in which Airbnb refused the session
    requests: int = 0


@pytest.fixture
def world(database_url: str, tmp_path) -> Iterator[tuple[SyncEnvironment, Simulator]]:
    config = SimulatorConfig(api_key=API_KEY, rotate_every=ROTATE_EVERY, rotate_grace=GRACE,
                             cookie_max_age=MAX_AGE)
    with Simulator(config) as simulator:
        settings = load_settings({
            "DAGSTER_HOME": str(tmp_path), "AIRBNB_SYNC_DATABASE_URL": database_url,
            "AIRBNB_BASE_URL": simulator.url, "AIRBNB_API_KEY": API_KEY,
            "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "0", "AIRBNB_SYNC_MAX_RETRIES": "0"})
        engine = create_warehouse_engine(settings.database_url)
        upgrade_to_head(engine)
        store = AccountStore(engine, build_cipher((Fernet.generate_key().decode(),)))
        store.add(ACCOUNT, SessionCookies.parse(make_cookie(ACCOUNT)), "0" * 40,
                  "Mozilla/5.0 keep-alive test")
        yield SyncEnvironment(settings=settings, warehouse=engine, accounts=store,
                              airbnb=HttpClientFactory(settings), now=datetime.now(UTC)), simulator
        dispose_warehouse_engine(database_url)


def _daily_runs(env: SyncEnvironment, simulator: Simulator) -> Days:
    """One run a day, as the schedule would: the current week's three tables, in order."""
    days = Days()
    for offset in range(DAYS):
        today = FIRST_DAY + timedelta(days=offset)
        simulator.configure(today=today)
        day_env = replace(env, now=datetime.combine(today, datetime.min.time(), UTC)
                          + timedelta(hours=5))
        if day_env.accounts.get(ACCOUNT).auth_status == "expired":
            days.failed_runs += 1  # the schedule leaves an expired session out
            continue
        weeks = {ACCOUNT: [week_start_of(today)]}
        days.runs += 1
        try:
            listings = run_table(day_env, LISTINGS, weeks)
            ids = listing_ids_by_account(listings.frame, [ACCOUNT])
            run_table(day_env, conversion_sync(ids), weeks)
            run_table(day_env, visibility_sync(ids), weeks)
        except SyncFailed:
            days.failed_runs += 1
            days.expiries += day_env.accounts.get(ACCOUNT).auth_status == "expired"
    days.requests = simulator.stats()["accounts"][ACCOUNT]["requests"]
    return days


def test_14_days_of_rotation_end_with_no_expiry_when_keep_alive_is_on(world) -> None:
    env, simulator = world
    started = datetime.now(UTC)

    days = _daily_runs(env, simulator)

    rotations = simulator.state.rotation.generations(ACCOUNT)
    print(f"keep-alive on: {days.runs} runs, {days.requests} requests, {rotations} rotations, "
          f"{days.expiries} expiries")
    assert (days.runs, days.failed_runs, days.expiries) == (DAYS, 0, 0)
    assert rotations >= DAYS  # several rotations a day: the test exercises them
    record = env.accounts.get(ACCOUNT)
    assert record.auth_status == "ok"
    # The stored session is the newest one Airbnb set, with the expiry it sent.
    assert env.accounts.session(ACCOUNT).cookies["_aat"] == rotated_aat(0, ACCOUNT, rotations)
    assert record.session_rotated_at is not None and record.session_rotated_at >= started
    assert record.session_expires_at is not None
    assert abs((record.session_expires_at - started).total_seconds() - MAX_AGE) < 600
    assert 401 not in {r["status"] for r in simulator.requests(ACCOUNT)}


def test_14_days_of_rotation_expire_the_session_when_keep_alive_is_off(world) -> None:
    env, simulator = world
    settings = replace(env.settings, session_keepalive=False)
    env = replace(env, settings=settings, airbnb=HttpClientFactory(settings))
    stored = dict(env.accounts.session(ACCOUNT).cookies)

    days = _daily_runs(env, simulator)

    print(f"keep-alive off: {days.runs} runs, {days.requests} requests, {days.expiries} "
          f"expiries, {days.failed_runs} of {DAYS} days failed")
    assert days.expiries == 1 and days.failed_runs == DAYS  # refused on day 1, then left out
    assert days.requests == ROTATE_EVERY + GRACE + 1  # K accepted, G in grace, 1 refused
    assert env.accounts.get(ACCOUNT).auth_status == "expired"
    assert dict(env.accounts.session(ACCOUNT).cookies) == stored


def test_a_run_ending_with_an_auth_error_keeps_the_stored_session(world) -> None:
    env, simulator = world
    stored = dict(env.accounts.session(ACCOUNT).cookies)
    simulator.configure(today=FIRST_DAY)
    env = replace(env, now=datetime.combine(FIRST_DAY, datetime.min.time(), UTC))
    weeks = {ACCOUNT: [week_start_of(FIRST_DAY)]}
    ids = listing_ids_by_account(run_table(env, LISTINGS, weeks).frame, [ACCOUNT])
    rotated_after_listings = dict(env.accounts.session(ACCOUNT).cookies)
    assert rotated_after_listings == stored  # 1 request: no rotation yet

    # The session is refused after a rotation happened in this run.
    def refuse_after_rotation(sim: Simulator, record) -> None:
        if sim.state.rotation.generations(ACCOUNT) >= 1:
            sim.expire(ACCOUNT)

    simulator.on_request(refuse_after_rotation)
    with pytest.raises(SyncFailed):
        run_table(env, conversion_sync(ids), weeks)

    assert simulator.state.rotation.generations(ACCOUNT) >= 1
    assert env.accounts.get(ACCOUNT).auth_status == "expired"
    assert dict(env.accounts.session(ACCOUNT).cookies) == stored
    assert env.accounts.get(ACCOUNT).session_rotated_at is None


def test_a_dry_run_does_not_store_rotated_cookies(world) -> None:
    env, simulator = world
    settings = replace(env.settings, dry_run=True)
    env = replace(env, settings=settings, airbnb=HttpClientFactory(settings),
                  now=datetime.combine(FIRST_DAY, datetime.min.time(), UTC))
    stored = dict(env.accounts.session(ACCOUNT).cookies)
    simulator.configure(today=FIRST_DAY)
    weeks = {ACCOUNT: [week_start_of(FIRST_DAY)]}
    ids = listing_ids_by_account(run_table(env, LISTINGS, weeks).frame, [ACCOUNT])
    run_table(env, conversion_sync(ids), weeks)  # rotates within the run, and succeeds

    assert simulator.state.rotation.generations(ACCOUNT) >= 1
    assert dict(env.accounts.session(ACCOUNT).cookies) == stored
    assert env.accounts.get(ACCOUNT).session_rotated_at is None


def test_a_paste_stored_during_the_run_wins_over_the_rotated_cookies(world) -> None:
    env, simulator = world
    env = replace(env, now=datetime.combine(FIRST_DAY, datetime.min.time(), UTC))
    simulator.configure(today=FIRST_DAY)
    weeks = {ACCOUNT: [week_start_of(FIRST_DAY)]}
    ids = listing_ids_by_account(run_table(env, LISTINGS, weeks).frame, [ACCOUNT])
    fresh = make_cookie(ACCOUNT).replace("_aat=", "_aat=fresh")
    pasted = []

    def paste_once(sim: Simulator, record) -> None:
        if not pasted:
            env.accounts.update(ACCOUNT, cookies=SessionCookies.parse(fresh))
            pasted.append(True)

    simulator.on_request(paste_once)
    run_table(env, conversion_sync(ids), weeks)

    assert simulator.state.rotation.generations(ACCOUNT) >= 1
    assert env.accounts.session(ACCOUNT).cookies["_aat"].startswith("fresh")
    with env.warehouse.connect() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1
