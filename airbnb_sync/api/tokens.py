"""The API's bearer tokens: created, listed and revoked by `airbnb-sync api token ...`,
checked on every request.

A token is 256 random bits (`secrets.token_urlsafe(32)`) behind a fixed prefix that secret
scanners can match; it is shown once, at creation, and only its SHA-256 is stored. A plain,
fast hash is enough here because the token is not a password: with 256 bits of entropy
nobody can guess one from its hash, so a slow salted hash (bcrypt, argon2) would only slow
every request down. The hash is also what a request is looked up by, so no comparison of
secrets happens in Python at all.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from airbnb_sync.accounts.store import InvalidAccountInput, validate_account_id
from airbnb_sync.warehouse.engine import SQLITE_IMMEDIATE
from airbnb_sync.warehouse.tables import accounts, api_tokens

TOKEN_PREFIX = "abs_"
TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# `last_used_at` is written at most this often per token: a busy client must not turn every
# read into a write (SQLite has one writer at a time).
LAST_USE_RESOLUTION = timedelta(seconds=30)


class TokenError(InvalidAccountInput):
    """A token cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True)
class TokenRecord:
    """A token as listed: never the token or its hash."""

    name: str
    account_id: str | None
    read_only: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def scope(self) -> str:
        return "all accounts" if self.account_id is None else f"account {self.account_id}"

    def as_dict(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {"name": self.name, "account_id": self.account_id, "scope": self.scope,
                "read_only": self.read_only, "created_at": iso(self.created_at),
                "last_used_at": iso(self.last_used_at), "revoked_at": iso(self.revoked_at),
                "revoked": self.revoked_at is not None}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: sa.Row[Any]) -> TokenRecord:
    return TokenRecord(row.name, row.account_id, bool(row.read_only),
                       _utc(row.created_at),  # type: ignore[arg-type]
                       _utc(row.last_used_at), _utc(row.revoked_at))


_COLUMNS = [column for column in api_tokens.c if column.name != "token_sha256"]


class TokenStore:
    """Tokens in the warehouse's `api_tokens` table (at schema head)."""

    def __init__(self, engine: sa.Engine,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{SQLITE_IMMEDIATE: True})
        self._now = now

    def create(self, name: str, account_id: str | None = None,
               read_only: bool = False) -> tuple[TokenRecord, str]:
        """A new token and the token itself, which is never available again."""
        if not TOKEN_NAME.fullmatch(name):
            raise TokenError(f"token name {name[:70]!r} is invalid: 1 to 64 letters, digits, "
                             "'.', '_' or '-', starting with a letter or digit")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._writer.begin() as connection:
            if account_id is not None:
                validate_account_id(account_id)
                known = connection.execute(sa.select(accounts.c.account_id).where(
                    accounts.c.account_id == account_id)).first()
                if known is None:
                    raise TokenError(f"account {account_id} does not exist: see `airbnb-sync "
                                     "accounts list`, or register it first")
            taken = connection.execute(sa.select(api_tokens.c.name).where(
                api_tokens.c.name == name)).first()
            if taken is not None:
                raise TokenError(f"a token named {name} already exists: choose another name, "
                                 f"or revoke it with `airbnb-sync api token revoke {name}` "
                                 "(revoked names stay taken, so the history stays readable)")
            connection.execute(api_tokens.insert().values(
                name=name, token_sha256=token_hash(token), account_id=account_id,
                read_only=read_only, created_at=self._now()))
        return self.get(name), token

    def get(self, name: str) -> TokenRecord:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(*_COLUMNS).where(
                api_tokens.c.name == name)).one_or_none()
        if row is None:
            raise TokenError(f"there is no token named {name[:70]!r}: see `airbnb-sync api "
                             "token list`")
        return _record(row)

    def list(self) -> list[TokenRecord]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(*_COLUMNS).order_by(api_tokens.c.created_at,
                                                                    api_tokens.c.name))
            return [_record(row) for row in rows]

    def revoke(self, name: str) -> TokenRecord:
        """Revoke a token for good; revoking it again changes nothing."""
        record = self.get(name)
        if record.revoked_at is None:
            with self._writer.begin() as connection:
                connection.execute(api_tokens.update().where(api_tokens.c.name == name)
                                   .where(api_tokens.c.revoked_at.is_(None))
                                   .values(revoked_at=self._now()))
        return self.get(name)

    def authenticate(self, token: str) -> TokenRecord | None:
        """The valid (known, not revoked) token's record, its use recorded; else None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = token_hash(token)
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(*_COLUMNS).where(
                api_tokens.c.token_sha256 == digest)).one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        record = _record(row)
        now = self._now()
        if record.last_used_at is None or now - record.last_used_at >= LAST_USE_RESOLUTION:
            with self._writer.begin() as connection:
                connection.execute(api_tokens.update().where(api_tokens.c.name == record.name)
                                   .values(last_used_at=now))
        return record
