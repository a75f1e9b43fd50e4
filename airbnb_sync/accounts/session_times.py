"""What people are told about a host's session: its age, its last rotation, its expiry.

Shared by `accounts list`, `accounts show`, `status` and the `session_expiring` alert, so
they all say the same thing. Only times: nothing here can help rebuild a session.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by CLI modules that must not load the store up front
    from airbnb_sync.accounts.store import AccountRecord


def duration(span: timedelta) -> str:
    """A short human duration: '3d 4h', '5h 12m', '40m', 'expired'."""
    seconds = int(span.total_seconds())
    if seconds < 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def session_age(record: AccountRecord, now: datetime) -> str:
    return "-" if record.session_stored_at is None else duration(now - record.session_stored_at)


def expires_in(record: AccountRecord, now: datetime) -> str:
    """'-' when the expiry is unknown (a paste from curl carries none until Airbnb sets one)."""
    return "-" if record.session_expires_at is None else duration(
        record.session_expires_at - now)


def expiring_soon(record: AccountRecord, now: datetime, hours: float) -> bool:
    """A known expiry within `hours` (or past) of an account that is synced."""
    expires = record.session_expires_at
    return (expires is not None and record.is_active and not record.is_deleted
            and expires - now <= timedelta(hours=hours))


def session_details(record: AccountRecord, now: datetime) -> dict[str, Any]:
    """JSON-ready session times, for `accounts show --json` and `status --json`."""
    return {
        "session_stored_at": _iso(record.session_stored_at),
        "session_age": session_age(record, now),
        "session_rotated_at": _iso(record.session_rotated_at),
        "session_expires_at": _iso(record.session_expires_at),
        "session_expires_in": expires_in(record, now),
    }


def describe(record: AccountRecord, now: datetime) -> str:
    """One line: 'stored 3d 4h ago, last rotated 2026-12-01 10:00 UTC, expires in 6d 2h'."""
    stored = ("stored at an unknown time" if record.session_stored_at is None
              else f"stored {session_age(record, now)} ago")
    rotated = ("never rotated" if record.session_rotated_at is None
               else f"last rotated {when(record.session_rotated_at)}")
    expiry = ("expiry unknown" if record.session_expires_at is None
              else f"expires {when(record.session_expires_at)} (in {expires_in(record, now)})")
    return f"{stored}, {rotated}, {expiry}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()
