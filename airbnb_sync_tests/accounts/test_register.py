"""A paste becomes a typed session once: its Cookie header is parsed and filtered to the
authentication cookies one time, and those cookies go through validation into storage."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from airbnb_sync.accounts import paste as paste_module
from airbnb_sync.accounts.paste_summary import summarize
from airbnb_sync.accounts.register import (
    BrowserCookie,
    Overrides,
    PasteRefused,
    read_paste,
    register,
    replace_session,
    session_from_cookies,
    session_input,
)
from airbnb_sync.accounts.secrets import build_cipher
from airbnb_sync.accounts.store import AccountStore, InvalidAccountInput, validate_account_input
from airbnb_sync.airbnb import cookies as cookies_module
from airbnb_sync.airbnb.cookies import AUTH_COOKIES, SessionCookies, parse_cookie_text
from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.simulator import make_cookie
from airbnb_sync.simulator.paste_sample import sample_curl
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head

HOST = "58765432"
NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_to_head(engine)
    return AccountStore(engine, build_cipher((Fernet.generate_key().decode(),)), now=lambda: NOW)


@pytest.fixture
def settings() -> Settings:
    return load_settings({})


class Counts:
    def __init__(self) -> None:
        self.parses = 0
        self.filters = 0


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counts:
    """Counts every parse of cookie text and every filtering to the authentication cookies
    (a SessionCookies made of anything but a SessionCookies)."""
    counted = Counts()
    real_parse, real_init = parse_cookie_text, SessionCookies.__init__

    def parse(text: str) -> dict[str, str]:
        counted.parses += 1
        return real_parse(text)

    def init(self: SessionCookies, cookies: Mapping[str, str] | None = None) -> None:
        if not isinstance(cookies, SessionCookies):
            counted.filters += 1
        real_init(self, cookies)

    monkeypatch.setattr(cookies_module, "parse_cookie_text", parse)
    monkeypatch.setattr(paste_module, "parse_cookie_text", parse)
    monkeypatch.setattr(SessionCookies, "__init__", init)
    return counted


def test_a_pasted_session_is_parsed_and_filtered_once_from_paste_to_storage(
        store: AccountStore, settings: Settings, counts: Counts) -> None:
    pasted = read_paste(sample_curl(HOST, "captured-key"), settings)
    session = session_input(pasted)
    validate_account_input(session.account_id, cookies=session.cookies,
                           x_client_version=session.x_client_version,
                           user_agent=session.user_agent)
    register(store, session, label="Cabins")
    assert (counts.parses, counts.filters) == (1, 1)

    fresh = session_input(read_paste(sample_curl(HOST, None), settings),
                          Overrides(account_id=HOST), require_headers=False)
    replace_session(store, fresh)
    assert (counts.parses, counts.filters) == (2, 2)
    assert dict(store.session(HOST).cookies) == dict(fresh.cookies)


def test_the_companions_cookies_are_filtered_once(store: AccountStore, settings: Settings,
                                                  counts: Counts) -> None:
    register(store, session_input(read_paste(sample_curl(HOST, None), settings)))
    browser = [BrowserCookie(name, value, ".airbnb.com") for name, value in
               parse_cookie_text(make_cookie(HOST)).items()]
    before = (counts.parses, counts.filters)
    session, ignored = session_from_cookies(HOST, browser, "Mozilla/5.0 companion", settings)
    replace_session(store, session)
    assert (counts.parses - before[0], counts.filters - before[1]) == (0, 1)
    assert list(session.cookies) == [name for name in AUTH_COOKIES if name in session.cookies]
    assert ignored == len(browser) - len(session.cookies) > 0


def test_a_companion_cookie_a_header_cannot_carry_is_refused_not_cut(
        store: AccountStore, settings: Settings) -> None:
    """A value with ';' used to be cut at it when the cookies were written out and read back;
    the typed session refuses it whole, with the paste's rule, and stores nothing."""
    register(store, session_input(read_paste(sample_curl(HOST, None), settings)))
    stored = dict(store.session(HOST).cookies)
    browser = [BrowserCookie(name, f"{value};tail" if name == "_aat" else value, ".airbnb.com")
               for name, value in parse_cookie_text(make_cookie(HOST)).items()]
    session, _ = session_from_cookies(HOST, browser, None, settings)
    with pytest.raises(InvalidAccountInput, match="the cookie _aat has characters a Cookie "
                                                  "header cannot carry"):
        replace_session(store, session)
    assert dict(store.session(HOST).cookies) == stored


def test_the_preview_names_what_the_paste_drops_without_reading_it_again(
        settings: Settings, counts: Counts) -> None:
    pasted = read_paste(sample_curl(HOST, "captured-key"), settings)
    summary = summarize(pasted).as_dict()
    assert counts.parses == 1
    everything = set(parse_cookie_text(make_cookie(HOST)))
    assert summary["kept"]["cookies"] == list(pasted.cookies)
    assert summary["dropped"]["cookies"] == sorted(everything - set(AUTH_COOKIES))
    assert "accept-language" in summary["dropped"]["headers"]
    assert "cookie" not in summary["dropped"]["headers"]


def test_session_cookies_hide_their_values_and_cannot_change() -> None:
    cookies = SessionCookies.parse(make_cookie(HOST))
    assert set(cookies) == set(AUTH_COOKIES)
    assert all(cookies[name] not in repr(cookies) for name in cookies)
    with pytest.raises(TypeError):
        cookies["_aat"] = "other"  # type: ignore[index]
    assert SessionCookies.parse(cookies.header()) == cookies
    assert set(cookies.without({"_pt", "rclu"})) == set(AUTH_COOKIES) - {"_pt", "rclu"}


def test_a_paste_of_another_user_is_still_refused_before_storage(
        store: AccountStore, settings: Settings) -> None:
    pasted = read_paste(sample_curl(HOST, None), settings)
    with pytest.raises(PasteRefused, match=f"belongs to Airbnb user {HOST}, not to account"):
        session_input(pasted, Overrides(account_id="41234567"))
    assert store.list() == []
