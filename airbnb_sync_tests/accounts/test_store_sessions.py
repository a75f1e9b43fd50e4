"""The store keeps rotated sessions encrypted, with their times, and only over the session
the run started with; a captured API key travels with the account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from airbnb_sync.accounts.secrets import build_cipher
from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.cookies import SessionCookies
from airbnb_sync.simulator import make_cookie
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head
from airbnb_sync.warehouse.tables import accounts

HOST = "58765432"
NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def _store(tmp_path: Path) -> AccountStore:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_to_head(engine)
    return AccountStore(engine, build_cipher((Fernet.generate_key().decode(),)), now=lambda: NOW)


def test_rotated_cookies_are_stored_encrypted_with_their_times(tmp_path: Path) -> None:
    store = _store(tmp_path)
    later = NOW + timedelta(days=3)
    store.add(HOST, SessionCookies.parse(make_cookie(HOST)), "0" * 40, "Mozilla/5.0 t",
              api_key="captured-key",
              expires={"_aaj": NOW + timedelta(hours=1)})  # not a cookie the session needs
    record = store.get(HOST)
    assert (record.session_stored_at, record.session_rotated_at,
            record.session_expires_at) == (NOW, None, None)
    started = dict(store.session(HOST).cookies)
    assert store.session(HOST).api_key == "captured-key"

    kept = store.keep_rotated(HOST, started, {"_aat": "rotated-aat-value", "_ga": "tracker"},
                              {"_aat": later})

    assert kept
    session = store.session(HOST)
    assert session.cookies["_aat"] == "rotated-aat-value" and "_ga" not in session.cookies
    assert session.api_key == "captured-key"
    record = store.get(HOST)
    assert (record.session_rotated_at, record.session_expires_at) == (NOW, later)
    with store.engine.connect() as connection:
        token = connection.execute(sa.select(accounts.c.credentials)).scalar_one()
    assert "rotated-aat-value" not in token and "captured-key" not in token


def test_rotated_cookies_never_replace_a_session_stored_meanwhile(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(HOST, SessionCookies.parse(make_cookie(HOST)), "0" * 40, "Mozilla/5.0 t")
    started = dict(store.session(HOST).cookies)
    store.update(HOST, cookies=SessionCookies.parse(
        make_cookie(HOST).replace("_aat=", "_aat=pasted")))

    assert not store.keep_rotated(HOST, started, {"_aat": "rotated"}, {})
    assert store.session(HOST).cookies["_aat"].startswith("pasted")
    assert store.get(HOST).session_rotated_at is None
