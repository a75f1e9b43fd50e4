"""Session rotation, as Airbnb may do it: a new `_aat` every K requests of an account.

With `rotate_every` = K, the K-th request that an account's current `_aat` authenticates
is answered with `Set-Cookie: _aat=<new>`; the previous value is then accepted for
`rotate_grace` = G more requests, after which it gets `authentication_required`. The first
`_aat` an account presents (since start, reset or restore) is its current one. With
`cookie_max_age` the Set-Cookie carries Max-Age and Expires. New values are a function of the
seed, the account and the generation, so a test can recompute them (`rotated_aat`).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime


def rotated_aat(seed: int, account_id: str, generation: int) -> str:
    """The `_aat` the simulator sets at an account's `generation`-th rotation (1, 2, ...)."""
    digest = hashlib.blake2b(f"sim-rotation|{seed}|{account_id}|{generation}".encode(),
                             digest_size=24)
    return digest.hexdigest()


@dataclass
class _Session:
    current: str
    previous: str | None = None
    grace_left: int = 0
    since_rotation: int = 0
    generation: int = 0


@dataclass(frozen=True)
class Verdict:
    """Whether the presented `_aat` authenticates, and the Set-Cookie to send, if any."""

    accepted: bool
    set_cookie: str | None = None


class SessionRotation:
    """Per-account rotation state; thread-safe (the server answers on many threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def reset(self, account_id: str | None = None) -> None:
        """Forget rotations (of one account, or of all): the next `_aat` seen is current."""
        with self._lock:
            if account_id is None:
                self._sessions.clear()
            else:
                self._sessions.pop(account_id, None)

    def generations(self, account_id: str) -> int:
        with self._lock:
            session = self._sessions.get(account_id)
            return session.generation if session else 0

    def check(self, account_id: str, aat: str, *, every: int, grace: int, seed: int,
              max_age: int | None, now: datetime | None = None) -> Verdict:
        with self._lock:
            session = self._sessions.setdefault(account_id, _Session(current=aat))
            if aat == session.previous and session.grace_left > 0:
                session.grace_left -= 1
                return Verdict(True)
            if aat != session.current:
                return Verdict(False)
            session.since_rotation += 1
            if session.since_rotation < every:
                return Verdict(True)
            session.generation += 1
            new = rotated_aat(seed, account_id, session.generation)
            session.previous, session.current = session.current, new
            session.grace_left, session.since_rotation = grace, 0
            return Verdict(True, set_cookie_header(new, max_age, now))


def set_cookie_header(value: str, max_age: int | None, now: datetime | None = None) -> str:
    """`_aat=<value>; Path=/; HttpOnly`, with Max-Age and Expires when `max_age` is given."""
    header = f"_aat={value}; Path=/; HttpOnly; SameSite=Lax"
    if max_age is not None:
        expires = (now or datetime.now(UTC)) + timedelta(seconds=max_age)
        header += f"; Max-Age={max_age}; Expires={format_datetime(expires, usegmt=True)}"
    return header
