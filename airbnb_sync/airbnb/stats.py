"""Per-run request statistics, reported as Dagster metadata.

They show how hard a run leaned on Airbnb (requests, retries, 429s, time spent waiting),
which is what an operator needs to tune pacing before Airbnb starts expiring sessions.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RequestStats:
    """Counters of one run; safe to update from several threads.

    `requests` counts calls per operation (first attempts); `retries` counts every further
    attempt of a call, whatever its cause, so requests + retries is what Airbnb received.
    """

    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    bytes_received: int = 0
    seconds_waiting: float = 0.0
    auth_errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_request(self, operation: str) -> None:
        with self._lock:
            self.requests[str(operation)] += 1

    def count_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def count_rate_limited(self) -> None:
        with self._lock:
            self.rate_limited += 1

    def count_auth_error(self) -> None:
        with self._lock:
            self.auth_errors += 1

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes_received += count

    def add_wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            self.seconds_waiting += seconds

    @property
    def total_requests(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def merge(self, other: RequestStats) -> RequestStats:
        """Add `other`'s counts into this one (in place) and return self."""
        if other is self:
            raise ValueError("cannot merge request statistics into themselves")
        with other._lock:
            snapshot = (Counter(other.requests), other.retries, other.rate_limited,
                        other.bytes_received, other.seconds_waiting, other.auth_errors)
        requests, retries, rate_limited, bytes_received, seconds_waiting, auth_errors = snapshot
        with self._lock:
            self.requests.update(requests)
            self.retries += retries
            self.rate_limited += rate_limited
            self.bytes_received += bytes_received
            self.seconds_waiting += seconds_waiting
            self.auth_errors += auth_errors
        return self

    def as_metadata(self) -> dict[str, int | float]:
        """Flat, JSON-friendly figures (Dagster metadata values must be scalars)."""
        with self._lock:
            metadata: dict[str, int | float] = {
                "requests": sum(self.requests.values()),
                **{f"requests_{operation}": count
                   for operation, count in sorted(self.requests.items())},
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "bytes_received": self.bytes_received,
                "seconds_waiting": round(self.seconds_waiting, 3),
                "auth_errors": self.auth_errors,
            }
        return metadata
