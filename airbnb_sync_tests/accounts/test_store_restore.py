"""Fresh cookies over a session Airbnb refused record the restore and when the outage
began; over a working session they record nothing. On every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet

from airbnb_sync.accounts.secrets import build_cipher
from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.cookies import SessionCookies
from airbnb_sync.simulator import make_cookie
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head

HOST = "58765432"
START = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _store(database_url: str, clock: Clock) -> AccountStore:
    engine = create_warehouse_engine(database_url)
    upgrade_to_head(engine)
    return AccountStore(engine, build_cipher((Fernet.generate_key().decode(),)), now=clock)


def test_a_fresh_session_over_a_refused_one_is_a_restore(database_url: str) -> None:
    clock = Clock()
    store = _store(database_url, clock)
    store.add(HOST, SessionCookies.parse(make_cookie(HOST)), "0" * 40, "Mozilla/5.0 t")
    synced = START + timedelta(days=1)
    store.mark_synced(HOST, synced)
    clock.now = START + timedelta(days=2)
    store.set_auth_status(HOST, "expired")
    clock.now = START + timedelta(days=9)
    # `accounts check` of the dead session again: the outage still began with the last sync.
    store.set_auth_status(HOST, "expired")
    clock.now = START + timedelta(days=12)

    record = store.update(HOST, cookies=SessionCookies.parse(make_cookie(HOST)),
                          user_agent="Mozilla/5.0 new")

    assert record.auth_status == "unknown" and record.auth_checked_at is None
    assert (record.session_restored_at, record.outage_started_at) == (clock.now, synced)
    assert record.session_stored_at == clock.now
    assert store.session(HOST).user_agent == "Mozilla/5.0 new"


def test_an_account_refused_before_any_sync_was_out_since_the_refusal(
        database_url: str) -> None:
    clock = Clock()
    store = _store(database_url, clock)
    store.add(HOST, SessionCookies.parse(make_cookie(HOST)), "0" * 40, "Mozilla/5.0 t")
    store.set_auth_status(HOST, "expired")
    clock.now = START + timedelta(hours=5)

    record = store.update(HOST, cookies=SessionCookies.parse(make_cookie(HOST)))

    assert (record.session_restored_at, record.outage_started_at) == (clock.now, START)


def test_new_cookies_over_a_working_session_or_a_new_label_are_no_restore(
        database_url: str) -> None:
    clock = Clock()
    store = _store(database_url, clock)
    store.add(HOST, SessionCookies.parse(make_cookie(HOST)), "0" * 40, "Mozilla/5.0 t")
    store.set_auth_status(HOST, "ok")
    store.update(HOST, cookies=SessionCookies.parse(make_cookie(HOST)))
    store.set_auth_status(HOST, "expired")
    record = store.update(HOST, label="no cookies given")

    assert record.auth_status == "expired"
    assert (record.session_restored_at, record.outage_started_at) == (None, None)
