"""One-time invite links for owners: created by `airbnb-sync api invite`, opened by the owner,
used once.

A link is `<AIRBNB_SYNC_API_URL>/api/v1/invite#<token>`: the token (256 random bits) is in the
URL's fragment, which browsers never send to a server, so it appears in no access log or
proxy log; the page's script hands it over in the body of its requests. Only the token's
SHA-256 is stored, as for the API's tokens (api/tokens.py says why a plain hash is enough).

A link works once: `claim` marks it used in one conditional UPDATE, so two submissions at
the same moment cannot both pass; a paste that is refused after the claim (it could not be
stored) gives the link back with `release`, so a typo never costs the owner their link.
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

from airbnb_sync.accounts.store import InvalidAccountInput, validate_account_id, validate_label
from airbnb_sync.warehouse.engine import SQLITE_IMMEDIATE
from airbnb_sync.warehouse.tables import invites

INVITE_PREFIX = "abi_"
INVITE_PATH = "/api/v1/invite"
DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY = timedelta(days=30)
_DURATION = re.compile(r"([1-9][0-9]{0,4})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class InviteError(InvalidAccountInput):
    """An invite cannot be created as asked; the message says why."""


class InviteUnusable(Exception):
    """The link cannot be used: unknown (404), used or expired (410). The message is one
    sentence for the owner, who cannot fix it but by asking for a new link."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Invite:
    """An invite as stored, without its token or hash."""

    account_id: str | None
    label: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: str | None

    @property
    def for_new_account(self) -> bool:
        return self.account_id is None


def parse_expiry(text: str) -> timedelta:
    """`7d`, `12h`, `90m`: at most 30 days."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise InviteError(f"--expires {text!r} is not a duration: give a number and a unit, "
                          "like 7d (days), 12h (hours) or 90m (minutes)")
    duration = timedelta(**{_UNITS[match[2]]: int(match[1])})
    if duration > MAX_EXPIRY:
        raise InviteError(f"--expires {text} is longer than {MAX_EXPIRY.days} days: an invite "
                          "link is a key to the account, so keep it short-lived")
    return duration


def invite_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite_url(api_url: str, token: str) -> str:
    return f"{api_url.rstrip('/')}{INVITE_PATH}#{token}"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _invite(row: sa.Row[Any]) -> Invite:
    return Invite(row.account_id, row.label, _utc(row.created_at),  # type: ignore[arg-type]
                  _utc(row.expires_at), _utc(row.used_at),  # type: ignore[arg-type]
                  row.used_by)


_COLUMNS = [column for column in invites.c if column.name != "token_sha256"]


class InviteStore:
    """Invites in the warehouse's `invites` table; `now` is injectable for tests."""

    def __init__(self, engine: sa.Engine,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{SQLITE_IMMEDIATE: True})
        self._now = now

    def create(self, account_id: str | None, expires_in: timedelta = DEFAULT_EXPIRY,
               label: str | None = None) -> tuple[Invite, str]:
        """A new invite and its token, which is shown once and never stored."""
        if account_id is not None:
            validate_account_id(account_id)
        if label is not None:
            label = validate_label(label)
        if not timedelta(0) < expires_in <= MAX_EXPIRY:
            raise InviteError(f"an invite expires within {MAX_EXPIRY.days} days")
        token = INVITE_PREFIX + secrets.token_urlsafe(32)
        now = self._now()
        with self._writer.begin() as connection:
            connection.execute(invites.insert().values(
                token_sha256=invite_hash(token), account_id=account_id, label=label,
                created_at=now, expires_at=now + expires_in))
        return Invite(account_id, label, now, now + expires_in, None, None), token

    def open(self, token: str) -> Invite:
        """The invite of a link that may still be used; InviteUnusable otherwise."""
        invite = self._find(token)
        self._check_usable(invite)
        return invite

    def claim(self, token: str) -> Invite:
        """Mark the link used, or raise InviteUnusable when it no longer may be."""
        invite = self.open(token)
        now = self._now()
        with self._writer.begin() as connection:
            claimed = connection.execute(
                invites.update()
                .where(invites.c.token_sha256 == invite_hash(token), invites.c.used_at.is_(None),
                       invites.c.expires_at > now)
                .values(used_at=now)).rowcount
        if claimed != 1:
            self._check_usable(self._find(token))  # used or expired meanwhile: say which
            raise InviteUnusable(410, "this invite link was just used")
        return Invite(invite.account_id, invite.label, invite.created_at, invite.expires_at,
                      now, None)

    def release(self, token: str) -> None:
        """Give a claimed link back: what it was used for could not be stored."""
        with self._writer.begin() as connection:
            connection.execute(invites.update()
                               .where(invites.c.token_sha256 == invite_hash(token),
                                      invites.c.used_by.is_(None))
                               .values(used_at=None))

    def used_for(self, token: str, account_id: str) -> None:
        with self._writer.begin() as connection:
            connection.execute(invites.update()
                               .where(invites.c.token_sha256 == invite_hash(token))
                               .values(used_by=account_id))

    def _find(self, token: str) -> Invite:
        if not token.startswith(INVITE_PREFIX) or len(token) > 100:
            raise _unknown()
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(*_COLUMNS).where(
                invites.c.token_sha256 == invite_hash(token))).one_or_none()
        if row is None:
            raise _unknown()
        return _invite(row)

    def _check_usable(self, invite: Invite) -> None:
        if invite.used_at is not None:
            raise InviteUnusable(410, f"this invite link was already used, on "
                                      f"{invite.used_at:%Y-%m-%d at %H:%M} UTC: it works once; "
                                      "ask whoever sent it for a new one")
        if invite.expires_at <= self._now():
            raise InviteUnusable(410, f"this invite link expired on "
                                      f"{invite.expires_at:%Y-%m-%d at %H:%M} UTC: ask whoever "
                                      "sent it for a new one")


def _unknown() -> InviteUnusable:
    return InviteUnusable(404, "this invite link is not known here: check that it was copied "
                               "whole (with everything after the #), or ask for a new one")
