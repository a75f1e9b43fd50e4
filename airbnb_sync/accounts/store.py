"""The account store: who the hosts are, their encrypted sessions, and their status.

Every input is validated before anything is written, so a bad cookie or a typo in an id
changes nothing. Credentials (the authentication cookies, the web build id and the browser's
user agent) are stored only as a Fernet token; `AccountRecord` never carries them, so
listing accounts cannot leak a session. Changing credentials resets `auth_status` to
'unknown': the next `accounts check` or sync confirms them as 'ok' or 'expired'. Fresh cookies
for an account Airbnb had refused also record the restore (`session_restored_at`) and when the
outage began (`outage_started_at`), for the sensor that alerts and fetches what was missed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from cryptography.fernet import InvalidToken, MultiFernet

from airbnb_sync.accounts.secrets import (
    KEY_VARIABLE,
    cipher_for,
    key_file_path,
    set_aside_key_file,
)
from airbnb_sync.airbnb.client import HostSession
from airbnb_sync.airbnb.cookies import (
    REQUIRED_COOKIES,
    InvalidCookie,
    SessionCookies,
    check_session,
    cookie_expiry,
    cookie_header,
    refused_cookies,
    session_cookies_for,
)
from airbnb_sync.core.settings import Settings
from airbnb_sync.core.text import shown
from airbnb_sync.datasets import purge_tables
from airbnb_sync.warehouse.engine import SQLITE_IMMEDIATE, create_warehouse_engine
from airbnb_sync.warehouse.tables import accounts, request_counts, request_pacing

logger = logging.getLogger(__name__)

AuthStatus = Literal["ok", "expired", "unknown"]
AUTH_STATUSES: tuple[str, ...] = ("ok", "expired", "unknown")

ACCOUNT_ID = re.compile(r"[0-9]{1,20}")
CLIENT_VERSION = re.compile(r"[0-9a-fA-F]{40}")
MAX_USER_AGENT = 512
MAX_LABEL = 200
MAX_API_KEY = 200


def account_data_tables() -> tuple[sa.Table, ...]:
    """The rows `purge` removes, children first: every registered dataset's, then the
    account's request state."""
    return (*purge_tables(), request_pacing, request_counts)


class AccountError(ValueError):
    """Something about an account cannot be done; the message says why and what to do."""


class InvalidAccountInput(AccountError):
    """An input (id, cookie, version, user agent, customer id, label) is unusable."""


class AccountExists(InvalidAccountInput):
    pass


class AccountNotFound(InvalidAccountInput):
    pass


class AccountUnavailable(AccountError):
    """The account exists but is deleted or deactivated, so its session is not handed out."""


class CredentialsUnreadable(AccountError):
    """The stored token cannot be decrypted with the configured keys."""


class AnotherKey(InvalidAccountInput):
    """Storing under the configured key would split the accounts across two keys."""


# --- validation -------------------------------------------------------------------------


def validate_account_id(account_id: str) -> str:
    if not ACCOUNT_ID.fullmatch(account_id):
        raise InvalidAccountInput(
            f"account id {_shown(account_id)} is invalid: it must be the host's Airbnb user id, "
            "1 to 20 digits (the id in the host's profile URL, airbnb.com/users/show/<id>)"
        )
    return account_id


def validate_client_version(version: str) -> str:
    if not CLIENT_VERSION.fullmatch(version):
        raise InvalidAccountInput(
            f"x-client-version {_shown(version)} is invalid: it must be 40 hex digits, the "
            "X-Client-Version header of a request to airbnb.com/api/v3/ in the browser's "
            "network tab"
        )
    return version.lower()


def validate_user_agent(user_agent: str) -> str:
    if not user_agent or len(user_agent) > MAX_USER_AGENT or not _printable_ascii(user_agent) \
            or not user_agent.startswith("Mozilla/"):
        raise InvalidAccountInput(
            f"user agent is invalid: it must be the browser's User-Agent header (printable "
            f"ASCII starting with 'Mozilla/', at most {MAX_USER_AGENT} characters), copied from "
            "the same browser as the cookie"
        )
    return user_agent


def validate_customer_id(customer_id: str) -> str | None:
    """A UUID in canonical form; '' clears it."""
    if customer_id == "":
        return None
    try:
        return str(uuid.UUID(customer_id))
    except ValueError:
        raise InvalidAccountInput(
            f"customer id {_shown(customer_id)} is invalid: it must be a UUID like "
            "123e4567-e89b-12d3-a456-426614174000 (or '' to clear it)"
        ) from None


def validate_label(label: str) -> str | None:
    """Free text for people; '' clears it."""
    if label == "":
        return None
    if len(label) > MAX_LABEL or not label.isprintable():
        raise InvalidAccountInput(
            f"label is invalid: at most {MAX_LABEL} printable characters, no line breaks or "
            f"control characters (got {len(label)} characters)"
        )
    return label


def read_cookies(account_id: str, cookie_text: str) -> SessionCookies:
    """The authentication cookies of a Cookie header or JSON export (a cookie file), parsed
    and checked like `validate_cookies`; InvalidAccountInput says what is wrong with them."""
    try:
        return session_cookies_for(account_id, cookie_text)
    except InvalidCookie as exc:
        raise InvalidAccountInput(str(exc)) from None


def validate_cookies(account_id: str, cookies: SessionCookies) -> SessionCookies:
    """`cookies`, which must belong to `account_id`; each value passes the rule keep-alive
    applies to Airbnb's Set-Cookie too (a value a Cookie header cannot carry would only fail
    later, at the first request)."""
    try:
        return check_session(account_id, cookies)
    except InvalidCookie as exc:
        raise InvalidAccountInput(str(exc)) from None


def validate_account_input(account_id: str, *, cookies: SessionCookies | None = None,
                           x_client_version: str | None = None, user_agent: str | None = None,
                           customer_id: str | None = None, label: str | None = None) -> None:
    """Validate what is given (None = not given) without touching the database, so that a
    command can refuse bad input before it opens, migrates or creates anything."""
    validate_account_id(account_id)
    if cookies is not None:
        validate_cookies(account_id, cookies)
    if x_client_version is not None:
        validate_client_version(x_client_version)
    if user_agent is not None:
        validate_user_agent(user_agent)
    if customer_id is not None:
        validate_customer_id(customer_id)
    if label is not None:
        validate_label(label)


def validate_api_key(api_key: str) -> str:
    if not api_key or len(api_key) > MAX_API_KEY or not _printable_ascii(api_key) \
            or " " in api_key:
        raise InvalidAccountInput(
            "the X-Airbnb-API-Key of the paste is invalid: it must be printable ASCII without "
            f"spaces, at most {MAX_API_KEY} characters; copy the request again, unchanged")
    return api_key


def outage_start(last_sync_at: datetime | None, refused_at: datetime | None,
                 now: datetime) -> datetime:
    """Since when an account went without data: its last successful sync (later weeks were
    never refreshed), else the moment Airbnb refused its session."""
    return min(time for time in (last_sync_at, refused_at, now) if time is not None)


def _expiry_texts(expires: Mapping[str, datetime] | None) -> dict[str, str]:
    """ISO texts in UTC, clamped like a browser's (cookies.cookie_expiry); a time outside the
    calendar is left unknown."""
    now = datetime.now(UTC)
    texts = {}
    for name, when in (expires or {}).items():
        utc = cookie_expiry(when, now)
        if utc is not None:
            texts[name] = utc.isoformat()
    return texts


def _printable_ascii(text: str) -> bool:
    return all(" " <= char <= "~" for char in text)


def _shown(value: str) -> str:
    """Echo a bad identifier back, shortened and with control characters escaped."""
    return shown(value)


# --- records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRecord:
    """An account as stored, without its credentials."""

    account_id: str
    customer_id: str | None
    label: str | None
    is_active: bool
    auth_status: str
    auth_checked_at: datetime | None
    last_sync_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    session_stored_at: datetime | None = None
    session_rotated_at: datetime | None = None
    session_expires_at: datetime | None = None
    session_restored_at: datetime | None = None
    outage_started_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def as_dict(self) -> dict[str, Any]:
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        return {name: value.isoformat() if isinstance(value, datetime) else value
                for name, value in values.items()}


@dataclass(frozen=True)
class CredentialsSummary:
    """What can be shown about stored credentials: nothing that helps rebuild the session."""

    cookie_count: int
    cookie_sha256_prefix: str
    x_client_version: str
    user_agent: str
    has_api_key: bool = False


@dataclass(frozen=True)
class _Credentials:
    cookies: dict[str, str]
    x_client_version: str
    user_agent: str
    # The X-Airbnb-API-Key captured with a paste (used when AIRBNB_API_KEY is unset), and
    # the expiry of each cookie whose expiry is known (ISO timestamps, UTC).
    api_key: str | None = None
    expires: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"_Credentials(<{len(self.cookies)} cookies>)"

    def to_json(self) -> str:
        data: dict[str, Any] = {"cookies": self.cookies,
                                "x_client_version": self.x_client_version,
                                "user_agent": self.user_agent}
        if self.api_key is not None:
            data["api_key"] = self.api_key
        if self.expires:
            data["expires"] = self.expires
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> _Credentials:
        data = json.loads(text)
        return cls(dict(data["cookies"]), data["x_client_version"], data["user_agent"],
                   data.get("api_key"), dict(data.get("expires") or {}))

    def expires_at(self) -> datetime | None:
        """The session ends when the first of the cookies it cannot do without (`_aat`,
        `_user_attributes`) does, when that is known; other cookies come and go."""
        times = [datetime.fromisoformat(value) for name, value in self.expires.items()
                 if name in self.cookies and name in REQUIRED_COOKIES]
        return min(times) if times else None


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; every timestamp is stored in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: sa.Row[Any]) -> AccountRecord:
    customer_id = row.customer_id
    return AccountRecord(
        account_id=row.account_id,
        customer_id=None if customer_id is None else str(uuid.UUID(str(customer_id))),
        label=row.label,
        is_active=bool(row.is_active),
        auth_status=row.auth_status,
        auth_checked_at=_utc(row.auth_checked_at),
        last_sync_at=_utc(row.last_sync_at),
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        updated_at=_utc(row.updated_at),  # type: ignore[arg-type]
        deleted_at=_utc(row.deleted_at),
        session_stored_at=_utc(row.session_stored_at),
        session_rotated_at=_utc(row.session_rotated_at),
        session_expires_at=_utc(row.session_expires_at),
        session_restored_at=_utc(row.session_restored_at),
        outage_started_at=_utc(row.outage_started_at),
    )


_RECORD_COLUMNS = [column for column in accounts.c if column.name != "credentials"]


# --- the store --------------------------------------------------------------------------


class AccountStore:
    """Accounts in the warehouse's `accounts` table; credentials encrypted with `cipher`.

    `now` is injectable so tests can pin timestamps; it must return an aware UTC datetime.
    """

    def __init__(self, engine: sa.Engine, cipher: MultiFernet,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), *,
                 key_source: str = KEY_VARIABLE,
                 set_aside: SetAsideKeys | None = None) -> None:
        self.engine = engine
        # Writes take SQLite's write lock up front, so read-then-write never hits SQLITE_BUSY.
        self._writer = engine.execution_options(**{SQLITE_IMMEDIATE: True})
        self._cipher = cipher
        self._now = now
        # Where the keys come from, for messages; and keys the installation has but the
        # configuration set aside (the SQLite key file, when AIRBNB_SYNC_SECRET_KEY is set).
        self._key_source = key_source
        self._set_aside = set_aside

    def __repr__(self) -> str:
        return f"AccountStore({self.engine.url.render_as_string(hide_password=True)})"

    # reading

    def get(self, account_id: str) -> AccountRecord:
        validate_account_id(account_id)
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(*_RECORD_COLUMNS).where(accounts.c.account_id == account_id)
            ).one_or_none()
        if row is None:
            raise _not_found(account_id)
        return _record(row)

    def list(self, include_deleted: bool = False) -> list[AccountRecord]:
        query = sa.select(*_RECORD_COLUMNS).order_by(accounts.c.account_id)
        if not include_deleted:
            query = query.where(accounts.c.deleted_at.is_(None))
        with self.engine.connect() as connection:
            return [_record(row) for row in connection.execute(query)]

    def page(self, *, after: str | None = None, limit: int = 100,
             auth_status: str | None = None, account_id: str | None = None,
             include_deleted: bool = False) -> tuple[list[AccountRecord], bool]:
        """Up to `limit` accounts after the id `after`, in id order, and whether more follow:
        keyset pagination, so a page costs the same wherever it is and accounts added or
        removed meanwhile never shift the others. `account_id` restricts it to that one."""
        query = sa.select(*_RECORD_COLUMNS).order_by(accounts.c.account_id).limit(limit + 1)
        if after is not None:
            query = query.where(accounts.c.account_id > after)
        if auth_status is not None:
            query = query.where(accounts.c.auth_status == auth_status)
        if account_id is not None:
            query = query.where(accounts.c.account_id == account_id)
        if not include_deleted:
            query = query.where(accounts.c.deleted_at.is_(None))
        with self.engine.connect() as connection:
            records = [_record(row) for row in connection.execute(query)]
        return records[:limit], len(records) > limit

    def session(self, account_id: str, require_active: bool = True) -> HostSession:
        """The decrypted session of an account that may be synced (active, not deleted)."""
        record = self.get(account_id)
        if record.is_deleted:
            raise AccountUnavailable(
                f"account {account_id} was deleted; restore it with "
                f"`airbnb-sync accounts activate {account_id}`"
            )
        if require_active and not record.is_active:
            raise AccountUnavailable(
                f"account {account_id} is deactivated; enable it with "
                f"`airbnb-sync accounts activate {account_id}`"
            )
        credentials = self._credentials(account_id)
        return HostSession(account_id, dict(credentials.cookies), credentials.x_client_version,
                           credentials.user_agent, api_key=credentials.api_key)

    def credentials_summary(self, account_id: str) -> CredentialsSummary:
        credentials = self._credentials(account_id)
        digest = hashlib.sha256(cookie_header(credentials.cookies).encode()).hexdigest()
        return CredentialsSummary(len(credentials.cookies), digest[:8],
                                  credentials.x_client_version, credentials.user_agent,
                                  credentials.api_key is not None)

    # writing

    def add(self, account_id: str, cookies: SessionCookies, x_client_version: str,
            user_agent: str,
            customer_id: str | None = None, label: str | None = None, *,
            api_key: str | None = None,
            expires: Mapping[str, datetime] | None = None) -> AccountRecord:
        account_id = validate_account_id(account_id)
        credentials = _Credentials(dict(validate_cookies(account_id, cookies)),
                                   validate_client_version(x_client_version),
                                   validate_user_agent(user_agent),
                                   None if api_key is None else validate_api_key(api_key),
                                   _expiry_texts(expires))
        values = {
            "customer_id": None if customer_id is None else validate_customer_id(customer_id),
            "label": None if label is None else validate_label(label),
        }
        now = self._now()
        try:
            with self._writer.begin() as connection:
                existing = connection.execute(
                    sa.select(accounts.c.deleted_at).where(accounts.c.account_id == account_id)
                ).one_or_none()
                if existing is not None:
                    raise _exists(account_id, existing.deleted_at is not None)
                self._refuse_another_key(connection, account_id, replacing=False)
                connection.execute(accounts.insert().values(
                    account_id=account_id, credentials=self._encrypt(credentials),
                    is_active=True, auth_status="unknown", created_at=now, updated_at=now,
                    session_stored_at=now, session_expires_at=credentials.expires_at(),
                    **values,
                ))
        except sa.exc.IntegrityError:
            raise _exists(account_id, False) from None
        return self.get(account_id)

    def update(self, account_id: str, *, cookies: SessionCookies | None = None,
               x_client_version: str | None = None, user_agent: str | None = None,
               customer_id: str | None = None, label: str | None = None,
               api_key: str | None = None,
               expires: Mapping[str, datetime] | None = None) -> AccountRecord:
        """Change what is given (None = keep; '' clears customer_id or label). New cookies
        start a new session: its times restart and old cookie expiries are forgotten."""
        validate_account_id(account_id)
        if all(value is None for value in
               (cookies, x_client_version, user_agent, customer_id, label)):
            raise InvalidAccountInput(
                "nothing to update: give at least one of --cookie-file, --x-client-version, "
                "--user-agent, --customer-id, --label"
            )
        kept = None if cookies is None else dict(validate_cookies(account_id, cookies))
        version = None if x_client_version is None else validate_client_version(x_client_version)
        agent = None if user_agent is None else validate_user_agent(user_agent)
        key = None if api_key is None else validate_api_key(api_key)
        values: dict[str, Any] = {}
        if customer_id is not None:
            values["customer_id"] = validate_customer_id(customer_id)
        if label is not None:
            values["label"] = validate_label(label)
        self.get(account_id)  # unknown accounts fail before any decryption
        if kept is not None or version is not None or agent is not None:
            with self.engine.connect() as connection:
                self._refuse_another_key(connection, account_id, replacing=True)
            if kept is not None and version is not None and agent is not None:
                # Everything is replaced: works even if the old token can no longer be read.
                credentials = _Credentials(kept, version, agent, key, _expiry_texts(expires))
            else:
                old = self._credentials(account_id)
                credentials = _Credentials(
                    kept or old.cookies, version or old.x_client_version,
                    agent or old.user_agent, key or old.api_key,
                    old.expires if kept is None else _expiry_texts(expires))
            values.update(credentials=self._encrypt(credentials), auth_status="unknown",
                          auth_checked_at=None)
            if kept is not None:
                values.update(session_stored_at=self._now(), session_rotated_at=None,
                              session_expires_at=credentials.expires_at())
                self._store_session(account_id, values)
                return self.get(account_id)
        self._update(account_id, **values)
        return self.get(account_id)

    def _store_session(self, account_id: str, values: dict[str, Any]) -> None:
        """Write new cookies; over a session Airbnb refused, record the restore too. The
        status is read in the same write transaction, so a run marking the account expired
        meanwhile cannot slip between the read and the write."""
        now = self._now()
        with self._writer.begin() as connection:
            row = connection.execute(
                sa.select(accounts.c.auth_status, accounts.c.auth_checked_at,
                          accounts.c.last_sync_at)
                .where(accounts.c.account_id == account_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise _not_found(account_id)
            if row.auth_status == "expired":
                values = {**values, "session_restored_at": now,
                          "outage_started_at": outage_start(_utc(row.last_sync_at),
                                                            _utc(row.auth_checked_at), now)}
            connection.execute(accounts.update().where(accounts.c.account_id == account_id)
                               .values(updated_at=now, **values))

    def set_auth_status(self, account_id: str, status: str) -> None:
        if status not in AUTH_STATUSES:
            raise ValueError(f"auth status must be one of {', '.join(AUTH_STATUSES)}")
        self._update(account_id, auth_status=status, auth_checked_at=self._now())

    def mark_synced(self, account_id: str, when: datetime) -> None:
        self._update(account_id, last_sync_at=_utc(when))

    def keep_rotated(self, account_id: str, started_with: Mapping[str, str],
                     rotated: Mapping[str, str], expires: Mapping[str, datetime]) -> bool:
        """Store cookies Airbnb rotated during a run, encrypted, with their known expiry.

        The caller holds the account's lease, so no other sync writes meanwhile; but a person
        may have stored a fresh paste during the run: if the stored cookies are no longer
        `started_with`, theirs win and nothing is written. True when stored.

        The rotated cookies pass the paste's rule once more (cookies.refused_cookies): one
        that fails it is not stored (logged by name), and a `_user_attributes` of another
        user stores none of them.
        """
        validate_account_id(account_id)
        offered = SessionCookies(rotated)
        refused = refused_cookies(account_id, offered)
        for name, why in refused.items():
            logger.warning("account %s: the rotated %s is not stored (%s)", account_id, name,
                           why)
        rotated = offered.without(refused)
        with self._writer.begin() as connection:
            token = connection.execute(
                sa.select(accounts.c.credentials).where(accounts.c.account_id == account_id)
            ).scalar_one_or_none()
            if token is None:
                return False
            try:
                old = _Credentials.from_json(self._cipher.decrypt(token.encode("ascii")).decode())
            except InvalidToken:
                return False
            if old.cookies != dict(started_with):
                return False
            cookies = {**old.cookies, **rotated}
            known = {**old.expires, **_expiry_texts(
                {name: when for name, when in expires.items() if name not in refused})}
            credentials = _Credentials(cookies, old.x_client_version, old.user_agent,
                                       old.api_key, known)
            now = self._now()
            connection.execute(
                accounts.update().where(accounts.c.account_id == account_id).values(
                    credentials=self._encrypt(credentials), updated_at=now,
                    session_rotated_at=now, session_expires_at=credentials.expires_at()))
        return True

    def activate(self, account_id: str) -> AccountRecord:
        """Enable syncing again; also restores a soft-deleted account."""
        self._update(account_id, is_active=True, deleted_at=None)
        return self.get(account_id)

    def deactivate(self, account_id: str) -> AccountRecord:
        self._update(account_id, is_active=False)
        return self.get(account_id)

    def soft_delete(self, account_id: str) -> AccountRecord:
        """Stop syncing and hide the account from `list`, keeping its data and credentials."""
        record = self.get(account_id)
        self._update(account_id, is_active=False, deleted_at=record.deleted_at or self._now())
        return self.get(account_id)

    def purge(self, account_id: str) -> dict[str, int]:
        """Remove the account and everything stored for it; returns rows removed per table."""
        self.get(account_id)
        removed: dict[str, int] = {}
        with self._writer.begin() as connection:
            for table in account_data_tables():
                result = connection.execute(table.delete().where(table.c.account_id == account_id))
                removed[table.name] = result.rowcount
            connection.execute(accounts.delete().where(accounts.c.account_id == account_id))
        return removed

    def rotate_key(self) -> int:
        """Re-encrypt every account with the first key, in one transaction (all or nothing)."""
        with self._writer.begin() as connection:
            rows = connection.execute(
                sa.select(accounts.c.account_id, accounts.c.credentials)
                .order_by(accounts.c.account_id)
            ).all()
            for row in rows:
                try:
                    token = self._cipher.rotate(row.credentials.encode("ascii"))
                except InvalidToken:
                    raise _unreadable(row.account_id) from None
                connection.execute(accounts.update()
                                   .where(accounts.c.account_id == row.account_id)
                                   .values(credentials=token.decode("ascii")))
        return len(rows)

    # internals

    def _refuse_another_key(self, connection: sa.Connection, account_id: str, *,
                            replacing: bool) -> None:
        """Never store credentials under keys that read none of the stored accounts: the
        accounts would be split across two keys, each set readable only where its key is
        configured (the demo hosts without the variable, the new host with it).

        One way back stays open: when no key this installation knows reads any stored
        account (their key is lost), replacing an account's whole session is how each is
        recovered, as the decryption error says."""
        rows = connection.execute(sa.select(accounts.c.account_id, accounts.c.credentials)
                                  ).all()
        if not rows or any(_reads(self._cipher, row.credentials) for row in rows):
            return
        aside = self._set_aside
        if aside is not None and any(_reads(aside.cipher, row.credentials) for row in rows):
            raise AnotherKey(
                f"{KEY_VARIABLE} is not the key of the {len(rows)} account(s) already stored, "
                f"which use the key file {aside.path}: storing account {account_id} under it "
                "would split the accounts across two keys. Unset "
                f"{KEY_VARIABLE} to go on with the key file (or set it to that file's key); "
                "nothing was stored")
        if replacing:
            return
        raise AnotherKey(
            f"{self._key_source} cannot decrypt any of the {len(rows)} account(s) already "
            f"stored: storing account {account_id} under it would split the accounts across "
            f"two keys. Set {KEY_VARIABLE} to the key they were stored with (to change keys, "
            "give NEW,OLD and run `airbnb-sync accounts rotate-key`); nothing was stored")

    def _update(self, account_id: str, **values: Any) -> None:
        validate_account_id(account_id)
        with self._writer.begin() as connection:
            result = connection.execute(
                accounts.update().where(accounts.c.account_id == account_id)
                .values(updated_at=self._now(), **values)
            )
        if result.rowcount == 0:
            raise _not_found(account_id)

    def _credentials(self, account_id: str) -> _Credentials:
        with self.engine.connect() as connection:
            token = connection.execute(
                sa.select(accounts.c.credentials).where(accounts.c.account_id == account_id)
            ).scalar_one_or_none()
        if token is None:
            raise _not_found(account_id)
        try:
            return _Credentials.from_json(self._cipher.decrypt(token.encode("ascii")).decode())
        except InvalidToken:
            raise _unreadable(account_id) from None

    def _encrypt(self, credentials: _Credentials) -> str:
        return self._cipher.encrypt(credentials.to_json().encode()).decode("ascii")


@dataclass(frozen=True)
class SetAsideKeys:
    """Keys of the installation that the configuration does not use, and where they are."""

    path: str
    cipher: MultiFernet = field(repr=False)


def _reads(cipher: MultiFernet, token: str) -> bool:
    try:
        cipher.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True


def _not_found(account_id: str) -> AccountNotFound:
    return AccountNotFound(
        f"account {account_id} does not exist: see `airbnb-sync accounts list`, or register it "
        "with `airbnb-sync accounts add`"
    )


def _exists(account_id: str, deleted: bool) -> AccountExists:
    if deleted:
        return AccountExists(
            f"account {account_id} already exists (soft-deleted): restore it with `airbnb-sync "
            f"accounts activate {account_id}`, then change it with `airbnb-sync accounts update "
            f"{account_id}`, or remove it for good with `airbnb-sync accounts delete "
            f"{account_id} --purge --yes`"
        )
    return AccountExists(
        f"account {account_id} already exists: change it with "
        f"`airbnb-sync accounts update {account_id} ...`"
    )


def _unreadable(account_id: str) -> CredentialsUnreadable:
    return CredentialsUnreadable(
        f"the credentials of account {account_id} cannot be decrypted with the configured keys: "
        f"{KEY_VARIABLE} (or <DAGSTER_HOME>/secret.key for SQLite) must include the key they "
        f"were encrypted with; if that key is lost, store a fresh session: `airbnb-sync accounts "
        f"update {account_id} --from-curl -` and paste the browser's Copy as cURL (bash)"
    )


def open_store(settings: Settings) -> AccountStore:
    """The store of the configured warehouse, brought to the schema head."""
    from airbnb_sync.warehouse.migrate import upgrade_to_head

    engine = create_warehouse_engine(settings.database_url)  # connects only when used
    cipher = cipher_for(settings, engine)  # fail on a missing key before changing the database
    upgrade_to_head(engine)
    source = KEY_VARIABLE if settings.secret_keys else f"the key file {key_file_path(settings)}"
    aside = set_aside_key_file(settings)
    return AccountStore(engine, cipher, key_source=source,
                        set_aside=None if aside is None else SetAsideKeys(str(aside[0]),
                                                                          aside[1]))
