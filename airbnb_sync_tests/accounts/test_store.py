"""The account store against every warehouse: validation, encryption, status, deletion."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, MultiFernet

from airbnb_sync.accounts.secrets import generate_key
from airbnb_sync.accounts.store import (
    AccountExists,
    AccountNotFound,
    AccountStore,
    AccountUnavailable,
    CredentialsUnreadable,
    InvalidAccountInput,
    validate_account_id,
    validate_client_version,
    validate_customer_id,
    validate_label,
    validate_user_agent,
)
from airbnb_sync.airbnb.cookies import SessionCookies
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head
from airbnb_sync.warehouse.tables import (
    accounts,
    conversion_metrics,
    listings,
    request_counts,
    request_pacing,
    visibility_metrics,
)

ACCOUNT = "41234567"
OTHER = "58765432"
VERSION = "0123456789ABCDEF0123456789abcdef01234567"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
CUSTOMER = "123E4567-E89B-12D3-A456-426614174000"
NOW = datetime(2026, 6, 3, 12, 30, tzinfo=UTC)


def host_cookie(account_id: str) -> tuple[str, str]:
    """A Cookie header of `account_id` with a tracking cookie, and its secret `_aat` value."""
    secret = secrets.token_urlsafe(24)
    attributes = quote(json.dumps({"id_str": account_id, "first_name": "Ada"}))
    return (f"_aat={secret}; _user_attributes={attributes}; _airbed_session_id="
            f"{secrets.token_hex(16)}; bev=tracking-{secrets.token_hex(4)}"), secret


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    engine = create_warehouse_engine(database_url)
    upgrade_to_head(engine)
    return engine


@pytest.fixture
def store(engine: sa.Engine, key: str, clock: Clock) -> AccountStore:
    return AccountStore(engine, MultiFernet([Fernet(key)]), now=clock)


# --- validators (no database) -------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "41234567", "1" * 20])
def test_account_ids_are_1_to_20_digits(value: str) -> None:
    assert validate_account_id(value) == value


@pytest.mark.parametrize("value", ["", "1" * 21, "12a", " 123", "١٢٣", "-1", "12|3"])
def test_bad_account_ids_are_refused(value: str) -> None:
    with pytest.raises(InvalidAccountInput, match="1 to 20 digits"):
        validate_account_id(value)


def test_client_version_is_40_hex_and_stored_lowercase() -> None:
    assert validate_client_version(VERSION) == VERSION.lower()
    for bad in ("", VERSION[:-1], VERSION + "0", "g" * 40):
        with pytest.raises(InvalidAccountInput, match="40 hex digits"):
            validate_client_version(bad)


def test_user_agent_must_look_like_a_browser() -> None:
    assert validate_user_agent(AGENT) == AGENT
    for bad in ("", "curl/8.0", "Mozilla/" + "x" * 505, "Mozilla/5.0\n(X11)", "Mozilla/5.0 é"):
        with pytest.raises(InvalidAccountInput, match="User-Agent"):
            validate_user_agent(bad)


def test_customer_id_and_label_are_normalized_and_clearable() -> None:
    assert validate_customer_id(CUSTOMER) == CUSTOMER.lower()
    assert validate_customer_id("") is None
    with pytest.raises(InvalidAccountInput, match="UUID"):
        validate_customer_id("customer-7")
    assert validate_label("Lakeside cabins ☀") == "Lakeside cabins ☀"
    assert validate_label("") is None
    for bad in ("x" * 201, "two\nlines", "tab\there"):
        with pytest.raises(InvalidAccountInput, match="printable"):
            validate_label(bad)


# --- the store ------------------------------------------------------------------------------


def test_add_stores_the_account_without_secrets_in_its_record(store: AccountStore) -> None:
    cookie, secret = host_cookie(ACCOUNT)
    record = store.add(ACCOUNT, SessionCookies.parse(cookie), VERSION, AGENT,
                       customer_id=CUSTOMER, label="Cabins")
    assert record == store.get(ACCOUNT)
    assert (record.account_id, record.customer_id, record.label) == (
        ACCOUNT, CUSTOMER.lower(), "Cabins")
    assert record.is_active and not record.is_deleted and record.auth_status == "unknown"
    assert record.created_at == record.updated_at == NOW
    assert record.created_at.tzinfo is not None and record.auth_checked_at is None
    assert secret not in repr(record) and secret not in json.dumps(record.as_dict())
    assert [r.account_id for r in store.list()] == [ACCOUNT]


def test_session_decrypts_only_the_authentication_cookies(store: AccountStore) -> None:
    cookie, secret = host_cookie(ACCOUNT)
    store.add(ACCOUNT, SessionCookies.parse(cookie), VERSION, AGENT)
    session = store.session(ACCOUNT)
    assert session.account_id == ACCOUNT
    assert session.cookies["_aat"] == secret
    assert set(session.cookies) == {"_aat", "_user_attributes", "_airbed_session_id"}
    assert (session.x_client_version, session.user_agent) == (VERSION.lower(), AGENT)
    assert secret not in repr(session)


def test_credentials_are_a_fernet_token_of_json(store: AccountStore, engine: sa.Engine,
                                                key: str) -> None:
    cookie, secret = host_cookie(ACCOUNT)
    store.add(ACCOUNT, SessionCookies.parse(cookie), VERSION, AGENT)
    with engine.connect() as connection:
        token = connection.execute(sa.select(accounts.c.credentials)).scalar_one()
    assert secret not in token and "tracking" not in token
    stored = json.loads(Fernet(key).decrypt(token.encode()))
    assert stored["cookies"]["_aat"] == secret and "bev" not in stored["cookies"]
    assert stored["x_client_version"] == VERSION.lower() and stored["user_agent"] == AGENT
    summary = store.credentials_summary(ACCOUNT)
    assert summary.cookie_count == 3 and len(summary.cookie_sha256_prefix) == 8
    assert secret not in repr(summary)


def test_adding_twice_or_for_someone_else_is_refused(store: AccountStore) -> None:
    store.add(ACCOUNT, SessionCookies.parse(host_cookie(ACCOUNT)[0]), VERSION, AGENT)
    with pytest.raises(AccountExists, match="accounts update"):
        store.add(ACCOUNT, SessionCookies.parse(host_cookie(ACCOUNT)[0]), VERSION, AGENT)
    with pytest.raises(InvalidAccountInput, match=f"belongs to Airbnb user {ACCOUNT}"):
        store.add(OTHER, SessionCookies.parse(host_cookie(ACCOUNT)[0]), VERSION, AGENT)
    assert [r.account_id for r in store.list()] == [ACCOUNT]


def test_new_credentials_reset_auth_status_details_do_not(store: AccountStore,
                                                          clock: Clock) -> None:
    store.add(ACCOUNT, SessionCookies.parse(host_cookie(ACCOUNT)[0]), VERSION, AGENT,
              customer_id=CUSTOMER, label="Cabins")
    clock.now = NOW + timedelta(minutes=1)
    store.set_auth_status(ACCOUNT, "ok")
    assert store.get(ACCOUNT).auth_checked_at == clock.now
    clock.now = NOW + timedelta(minutes=2)
    record = store.update(ACCOUNT, label="Lake cabins")
    assert (record.label, record.auth_status, record.updated_at) == ("Lake cabins", "ok", clock.now)
    cookie, secret = host_cookie(ACCOUNT)
    record = store.update(ACCOUNT, cookies=SessionCookies.parse(cookie))
    assert record.auth_status == "unknown" and record.auth_checked_at is None
    session = store.session(ACCOUNT)
    assert session.cookies["_aat"] == secret and session.user_agent == AGENT
    record = store.update(ACCOUNT, customer_id="", label="")
    assert record.customer_id is None and record.label is None
    store.update(ACCOUNT, x_client_version="f" * 40)
    assert store.session(ACCOUNT).cookies["_aat"] == secret  # kept
    assert store.session(ACCOUNT).x_client_version == "f" * 40


def test_update_refuses_nothing_unknown_and_bad_input(store: AccountStore) -> None:
    store.add(ACCOUNT, SessionCookies.parse(host_cookie(ACCOUNT)[0]), VERSION, AGENT,
              label="Cabins")
    before = store.get(ACCOUNT)
    with pytest.raises(InvalidAccountInput, match="nothing to update"):
        store.update(ACCOUNT)
    with pytest.raises(AccountNotFound, match="does not exist"):
        store.update(OTHER, label="x")
    with pytest.raises(InvalidAccountInput, match="User-Agent"):
        store.update(ACCOUNT, label="changed", user_agent="curl/8")
    assert store.get(ACCOUNT) == before


def test_status_changes_and_soft_delete(store: AccountStore, clock: Clock) -> None:
    store.add(ACCOUNT, SessionCookies.parse(host_cookie(ACCOUNT)[0]), VERSION, AGENT)
    with pytest.raises(ValueError, match="ok, expired, unknown"):
        store.set_auth_status(ACCOUNT, "fine")
    store.mark_synced(ACCOUNT, datetime(2026, 6, 3, 14, 0, tzinfo=UTC))
    assert store.get(ACCOUNT).last_sync_at == datetime(2026, 6, 3, 14, 0, tzinfo=UTC)

    assert not store.deactivate(ACCOUNT).is_active
    with pytest.raises(AccountUnavailable, match="deactivated"):
        store.session(ACCOUNT)
    assert store.session(ACCOUNT, require_active=False).account_id == ACCOUNT
    assert store.activate(ACCOUNT).is_active

    clock.now = NOW + timedelta(days=1)
    deleted = store.soft_delete(ACCOUNT)
    assert deleted.deleted_at == clock.now and not deleted.is_active
    assert store.list() == [] and store.list(include_deleted=True) == [deleted]
    with pytest.raises(AccountUnavailable, match="deleted"):
        store.session(ACCOUNT, require_active=False)
    with pytest.raises(AccountExists, match="soft-deleted"):
        store.add(ACCOUNT, SessionCookies.parse(host_cookie(ACCOUNT)[0]), VERSION, AGENT)
    restored = store.activate(ACCOUNT)
    assert restored.is_active and restored.deleted_at is None


def test_unknown_accounts_are_reported(store: AccountStore) -> None:
    for call in (store.get, store.activate, store.deactivate, store.soft_delete, store.purge,
                 store.session, store.credentials_summary,
                 lambda a: store.set_auth_status(a, "ok")):
        with pytest.raises(AccountNotFound, match=f"account {OTHER} does not exist"):
            call(OTHER)


def _insert_metrics(engine: sa.Engine, account_id: str) -> None:
    week = date(2026, 5, 3)
    with engine.begin() as connection:
        connection.execute(listings.insert().values(
            account_id=account_id, listing_id="9", week_start=week, scraped_at=NOW))
        connection.execute(conversion_metrics.insert().values(
            account_id=account_id, listing_id="9", metric_date=week, scraped_on=NOW.date(),
            week_start=week, scraped_at=NOW))
        connection.execute(visibility_metrics.insert().values(
            account_id=account_id, listing_id="9", week_start=week, scraped_on=NOW.date(),
            week_end=week + timedelta(days=6), scraped_at=NOW))
        connection.execute(request_pacing.insert().values(account_id=account_id,
                                                          anchor_day=week))
        connection.execute(request_counts.insert().values(account_id=account_id, hour=NOW,
                                                          requests=3))


def _counts(engine: sa.Engine, account_id: str) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(
                sa.select(sa.func.count()).select_from(table)
                .where(table.c.account_id == account_id)).scalar_one()
            for table in (accounts, listings, conversion_metrics, visibility_metrics,
                          request_pacing, request_counts)
        }


def test_purge_removes_one_account_and_its_data_only(store: AccountStore,
                                                     engine: sa.Engine) -> None:
    for account_id in (ACCOUNT, OTHER):
        store.add(account_id, SessionCookies.parse(host_cookie(account_id)[0]), VERSION, AGENT)
        _insert_metrics(engine, account_id)
    store.soft_delete(ACCOUNT)
    assert set(_counts(engine, ACCOUNT).values()) == {1}  # soft delete keeps everything
    removed = store.purge(ACCOUNT)
    assert removed == {"conversion_metrics": 1, "visibility_metrics": 1, "listings": 1,
                       "request_pacing": 1, "request_counts": 1}
    assert set(_counts(engine, ACCOUNT).values()) == {0}
    assert set(_counts(engine, OTHER).values()) == {1}


def test_rotation_moves_every_account_to_the_first_key(engine: sa.Engine, key: str,
                                                       clock: Clock) -> None:
    old_store = AccountStore(engine, MultiFernet([Fernet(key)]), now=clock)
    secrets_by_account = {}
    for account_id in (ACCOUNT, OTHER):
        cookie, secrets_by_account[account_id] = host_cookie(account_id)
        old_store.add(account_id, SessionCookies.parse(cookie), VERSION, AGENT)
    new_key = generate_key()
    both = AccountStore(engine, MultiFernet([Fernet(new_key), Fernet(key)]), now=clock)
    assert both.session(ACCOUNT).cookies["_aat"] == secrets_by_account[ACCOUNT]
    assert both.rotate_key() == 2
    only_new = AccountStore(engine, MultiFernet([Fernet(new_key)]), now=clock)
    for account_id, secret in secrets_by_account.items():
        assert only_new.session(account_id).cookies["_aat"] == secret
    with pytest.raises(CredentialsUnreadable, match="AIRBNB_SYNC_SECRET_KEY") as raised:
        old_store.session(ACCOUNT)
    assert secrets_by_account[ACCOUNT] not in str(raised.value)


def test_rotation_with_an_unknown_token_changes_nothing(engine: sa.Engine, key: str,
                                                        clock: Clock) -> None:
    first = AccountStore(engine, MultiFernet([Fernet(key)]), now=clock)
    first.add(ACCOUNT, SessionCookies.parse(host_cookie(ACCOUNT)[0]), VERSION, AGENT)
    first.add(OTHER, SessionCookies.parse(host_cookie(OTHER)[0]), VERSION, AGENT)
    # OTHER's token under a key `first` does not have (the store itself never splits keys).
    stranger = Fernet(generate_key())
    with engine.begin() as connection:
        connection.execute(accounts.update().where(accounts.c.account_id == OTHER).values(
            credentials=stranger.encrypt(b'{"cookies": {}}').decode()))
    with engine.connect() as connection:
        before = connection.execute(sa.select(accounts).order_by(accounts.c.account_id)).all()
    with pytest.raises(CredentialsUnreadable, match=OTHER):
        first.rotate_key()
    with engine.connect() as connection:
        assert connection.execute(
            sa.select(accounts).order_by(accounts.c.account_id)).all() == before


def test_a_lost_key_is_recovered_by_replacing_all_credentials(engine: sa.Engine,
                                                              clock: Clock) -> None:
    AccountStore(engine, MultiFernet([Fernet(generate_key())]), now=clock).add(
        ACCOUNT, SessionCookies.parse(host_cookie(ACCOUNT)[0]), VERSION, AGENT)
    store = AccountStore(engine, MultiFernet([Fernet(generate_key())]), now=clock)
    with pytest.raises(CredentialsUnreadable):
        store.update(ACCOUNT, user_agent=AGENT)
    cookie, secret = host_cookie(ACCOUNT)
    store.update(ACCOUNT, cookies=SessionCookies.parse(cookie), x_client_version=VERSION,
                 user_agent=AGENT)
    assert store.session(ACCOUNT).cookies["_aat"] == secret
