"""Pacing of one account's requests: a minimum, jittered interval and shared hold-backs.

Airbnb expires sessions that look automated, so requests of one account are spaced at least
`min_interval` seconds apart (plus a random 0..50 % so the rhythm does not look machine-made).
The account's "next request not before" time lives in a `PacingStore`: in memory by default,
in the warehouse when several processes sync the same account, so that a `Retry-After` seen by
one process also holds back the others. Every wait of the client goes through `Pacer`, which
adds it to the run's statistics.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Protocol

from airbnb_sync.airbnb.stats import RequestStats

logger = logging.getLogger(__name__)

DEFAULT_JITTER = 0.5
# A stored time further ahead than this is taken for clock skew between machines, not for a
# real hold-back (Retry-After is capped well below it), so a bad clock cannot park a run.
DEFAULT_MAX_WAIT = 3600.0


class PacingStore(Protocol):
    """Where the account's next allowed request time (epoch seconds, wall clock) is kept."""

    def get(self, account_id: str) -> float | None: ...

    def set(self, account_id: str, epoch: float) -> None: ...


class MemoryPacingStore:
    """The default store: shared by the clients of one process only."""

    def __init__(self) -> None:
        self._times: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, account_id: str) -> float | None:
        with self._lock:
            return self._times.get(account_id)

    def set(self, account_id: str, epoch: float) -> None:
        with self._lock:
            self._times[account_id] = epoch


class Pacer:
    """Decides when an account may send its next request, and waits until then.

    Across processes the store's wall-clock epoch counts; within the process a monotonic
    deadline is kept as well, so a wall clock stepping backwards never shortens the interval.
    """

    def __init__(self, min_interval: float, *, store: PacingStore | None = None,
                 stats: RequestStats | None = None, jitter: float = DEFAULT_JITTER,
                 max_wait: float = DEFAULT_MAX_WAIT,
                 wall_clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if min_interval < 0 or jitter < 0 or max_wait < 0:
            raise ValueError("min_interval, jitter and max_wait must not be negative")
        self.min_interval = min_interval
        self.jitter = jitter
        self.max_wait = max_wait
        self.store: PacingStore = store if store is not None else MemoryPacingStore()
        self.stats = stats if stats is not None else RequestStats()
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._local_deadlines: dict[str, float] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Pacer(min_interval={self.min_interval}, store={type(self.store).__name__})"

    def next_interval(self) -> float:
        """The gap to leave after a request: min_interval plus a uniform 0..jitter share."""
        return self.min_interval * (1 + random.uniform(0, self.jitter))

    def seconds_until_turn(self, account_id: str) -> float:
        """How long the account must still wait before its next request."""
        return self._wait_for(account_id, self.store.get(account_id))

    def _wait_for(self, account_id: str, stored: float | None) -> float:
        shared = 0.0 if stored is None else stored - self._wall_clock()
        with self._lock:
            local_deadline = self._local_deadlines.get(account_id)
        local = 0.0 if local_deadline is None else local_deadline - self._monotonic()
        wait = max(shared, local, 0.0)
        if wait > self.max_wait:
            logger.warning("account %s is held back for %.0f s, more than the %.0f s allowed; "
                           "is a clock wrong? waiting %.0f s", account_id, wait, self.max_wait,
                           self.max_wait)
            wait = self.max_wait
        return wait

    def wait_turn(self, account_id: str) -> float:
        """Wait until the account may send, then reserve the slot; return the seconds waited.

        Call it right before each request (attempts of a retry included).
        """
        # The shared state is read once per request: it is the one round trip to the database
        # that every request pays, and under the account's lease nobody else moves it.
        stored = self.store.get(account_id)
        wait = self._wait_for(account_id, stored)
        if wait > 0:
            self._sleep_for(wait)
            self.stats.add_wait(wait)
        interval = self.next_interval()
        with self._lock:
            self._local_deadlines[account_id] = self._monotonic() + interval
        if interval > 0:  # a deadline of "now" holds nothing back: no write for it
            self._push_shared(account_id, self._wall_clock() + interval, stored)
        return wait

    def hold_back(self, account_id: str, seconds: float) -> None:
        """Let no request of the account go out for `seconds` from now (never moves earlier)."""
        if seconds <= 0:
            return
        with self._lock:
            deadline = self._monotonic() + seconds
            self._local_deadlines[account_id] = max(
                deadline, self._local_deadlines.get(account_id, deadline))
        self._push_shared(account_id, self._wall_clock() + seconds, self.store.get(account_id))

    def _push_shared(self, account_id: str, epoch: float, stored: float | None) -> None:
        if stored is None or epoch > stored:
            self.store.set(account_id, epoch)

    def _sleep_for(self, seconds: float) -> None:
        # time.sleep may wake early on some platforms; loop on the monotonic clock.
        deadline = self._monotonic() + seconds
        while (remaining := deadline - self._monotonic()) > 0:
            self._sleep(remaining)
