"""What Airbnb sends back is untrusted like a paste: hostile `Set-Cookie` headers over real
HTTP (the simulator's `set_cookies`), during real syncs of the sync core. Every run
succeeds; an unusable value is ignored and logged by name only; a valid one is kept with its
expiry clamped; a cookie naming another user is refused, so the account's identity (and
the listings stored under it) never changes; and the next run still works."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet

from airbnb_sync.accounts.secrets import build_cipher
from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.cookies import SessionCookies
from airbnb_sync.airbnb.factory import HttpClientFactory
from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.simulator.data import listings_for
from airbnb_sync.sync.accounts import SyncEnvironment
from airbnb_sync.sync.tables import (
    LISTINGS,
    conversion_sync,
    listing_ids_by_account,
    run_table,
    visibility_sync,
)
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head

ACCOUNT = "58765432"
OTHER = "41234567"  # another host, with listings of its own in the simulator
API_KEY = "hostile-set-cookie-key"
VALID = "Rot8dValidAatValue0123456789"  # a value a paste could give
MAX_LIFETIME = timedelta(days=400)  # what browsers clamp a cookie's lifetime to
OWN_LISTINGS = {listing.id for listing in listings_for(ACCOUNT)}


def _attributes(account_id: str) -> str:
    return quote(json.dumps({"id_str": account_id, "id": int(account_id)}), safe="")


@dataclass(frozen=True)
class Case:
    set_cookies: tuple[str, ...]
    kept: dict[str, str] | None  # cookies stored anew by the run (None: none, unchanged)
    clamped: bool = False  # the stored expiry is at most 400 days ahead
    hidden: tuple[str, ...] = ()  # values that must never reach a log line


NESTED = quote("[" * 9_000 + "]" * 9_000)  # beyond the recursion limit, within a header line
LONG = "L" * 60_000
CASES: dict[str, Case] = {
    "Max-Age beyond any calendar": Case(
        (f"_aat={VALID}; Path=/; Max-Age=99999999999999",), {"_aat": VALID}, clamped=True,
        hidden=(VALID,)),
    "Expires in the year 9999": Case(
        (f"_aat={VALID}; Path=/; Expires=Fri, 31 Dec 9999 23:59:59 GMT",), {"_aat": VALID},
        clamped=True, hidden=(VALID,)),
    "Max-Age of 5000 digits": Case((f"_aat={VALID}; Path=/; Max-Age={'9' * 5000}",), None,
                                   hidden=(VALID,)),
    "empty _aat": Case(("_aat=; Path=/",), None),
    "_aat with spaces": Case(("_aat=two words here; Path=/",), None, hidden=("two words",)),
    "_aat in Latin-1": Case(("_aat=caf\xe9-cr\xe8me-v4lue; Path=/",), None,
                            hidden=("caf\xe9",)),
    "_aat with a control character": Case(("_aat=ctrl\x01value\x7fend; Path=/",), None,
                                          hidden=("ctrl\x01value",)),
    "_aat of 60 KB": Case((f"_aat={LONG}; Path=/",), None, hidden=(LONG[:40],)),
    "_aat set to two values in one answer": Case(
        (f"_aat={VALID}; Path=/", f"_aat={VALID}Other; Path=/api"), None,
        hidden=(VALID,)),
    "_aat deleted": Case(("_aat=gone; Path=/; Max-Age=0",), None),
    "_user_attributes of another user": Case(
        (f"_user_attributes={_attributes(OTHER)}; Path=/",
         f"_aat={VALID}; Path=/"), None, hidden=(VALID,)),
    "_user_attributes that cannot be read, with a new _aat": Case(
        (f"_user_attributes={'%7B' * 2000}; Path=/", f"_aat={VALID}; Path=/"), None,
        hidden=(VALID,)),
    "_user_attributes nested too deeply": Case(
        (f"_user_attributes={NESTED}; Path=/",), None),
    "_user_attributes naming no user": Case(
        (f"_user_attributes={quote(json.dumps({'curr': 'USD'}))}; Path=/",), None),
    "the same user's _user_attributes, renewed": Case(
        (f"_user_attributes={_attributes(ACCOUNT)}; Path=/; Max-Age=3600",),
        {"_user_attributes": _attributes(ACCOUNT)}),
}


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[tuple[SyncEnvironment, Simulator]]:
    with Simulator(SimulatorConfig(api_key=API_KEY)) as simulator:
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
                              airbnb=HttpClientFactory(settings),
                              now=datetime.now(UTC)), simulator
        dispose_warehouse_engine(database_url)


def _run_all_tables(env: SyncEnvironment) -> set[str]:
    """The three tables of this week, as a run does (SyncFailed fails the test); the
    listing ids of the frames the run would write under the account."""
    weeks = {ACCOUNT: [week_start_of(env.now.date())]}
    frames = [run_table(env, LISTINGS, weeks).frame]
    ids = listing_ids_by_account(frames[0], [ACCOUNT])
    frames.append(run_table(env, conversion_sync(ids), weeks).frame)
    frames.append(run_table(env, visibility_sync(ids), weeks).frame)
    assert all(set(frame["account_id"]) == {ACCOUNT} for frame in frames)
    return set().union(*(set(frame["listing_id"]) for frame in frames))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_set_cookie_never_fails_a_run_nor_changes_who_the_account_is(
        world: tuple[SyncEnvironment, Simulator], case: str,
        caplog: pytest.LogCaptureFixture) -> None:
    env, simulator = world
    spec = CASES[case]
    caplog.set_level(logging.DEBUG)
    before = dict(env.accounts.session(ACCOUNT).cookies)
    simulator.configure(set_cookies=spec.set_cookies)

    written = _run_all_tables(env)  # succeeds: no SyncFailed, no ValueError out of keep-alive

    after = dict(env.accounts.session(ACCOUNT).cookies)
    expected = {**before, **(spec.kept or {})}
    assert after == expected
    record = env.accounts.get(ACCOUNT)
    assert record.auth_status == "ok"
    if spec.clamped:
        assert record.session_expires_at is not None
        assert record.session_expires_at <= datetime.now(UTC) + MAX_LIFETIME
    # Every request of the run was the stored host's, so were the listings written.
    assert {r["account_id"] for r in simulator.requests()} == {ACCOUNT}
    assert written == OWN_LISTINGS
    for value in spec.hidden:
        assert value not in caplog.text

    # The next run, with Airbnb quiet again, works with what was stored.
    simulator.configure(set_cookies=())
    assert _run_all_tables(replace(env, now=env.now + timedelta(days=1))) == OWN_LISTINGS
    assert env.accounts.get(ACCOUNT).auth_status == "ok"
    assert {r["account_id"] for r in simulator.requests()} == {ACCOUNT}


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_another_users_cookie_is_refused_on_every_warehouse_and_logged_by_name(
        world: tuple[SyncEnvironment, Simulator], caplog: pytest.LogCaptureFixture) -> None:
    env, simulator = world
    caplog.set_level(logging.INFO)
    before = dict(env.accounts.session(ACCOUNT).cookies)
    simulator.configure(set_cookies=(f"_user_attributes={_attributes(OTHER)}; Path=/",
                                     f"_aat={VALID}; Path=/; Max-Age=99999999999999",
                                     "_aat=; Path=/"))
    assert _run_all_tables(env) == OWN_LISTINGS
    assert _run_all_tables(replace(env, now=env.now + timedelta(days=1))) == OWN_LISTINGS
    assert dict(env.accounts.session(ACCOUNT).cookies) == before
    assert {r["account_id"] for r in simulator.requests()} == {ACCOUNT}
    assert "_user_attributes" in caplog.text and "another user" in caplog.text
    assert VALID not in caplog.text and _attributes(OTHER) not in caplog.text
