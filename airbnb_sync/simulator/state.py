"""What the simulator remembers between requests: configuration, sessions, rate limits, log.

One lock guards it all: the server handles each request on its own thread, and tests read
statistics while clients are still sending.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from airbnb_sync.simulator.config import SimulatorConfig
from airbnb_sync.simulator.data import unit
from airbnb_sync.simulator.rotation import SessionRotation

ANONYMOUS = "anonymous"
TRANSIENT_FAULTS = ("error", "malformed", "truncated")


@dataclass
class RequestRecord:
    """One API request: who, what, when (wall-clock seconds), and how it was answered."""

    account_id: str | None
    operation: str | None
    started: float
    finished: float | None = None
    status: int | None = None
    fault: str | None = None
    listing_id: str | None = None  # of a metric request
    first_day: str | None = None  # the days a metric answer covers (ISO dates)
    last_day: str | None = None
    retry_after: int | None = None  # the Retry-After sent, in seconds
    detail: str | None = None  # what a fault changed, e.g. the JSON path a drift renamed


_OPTIONAL_FACTS = ("listing_id", "first_day", "last_day", "retry_after", "detail")


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class _Account:
    authenticated: int = 0  # requests that passed the session check, for expire_after
    sequence: int = 0  # requests that reached fault injection, for reproducible faults
    blocked_until: float = 0.0  # the end of the last Retry-After given
    violations: int = 0  # requests that came before that end
    bucket: _Bucket | None = None


class SimulatorState:
    """Thread-safe state; every method takes the lock for its whole duration."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._accounts: dict[str, _Account] = defaultdict(_Account)
        self._records: list[RequestRecord] = []
        self._faults: Counter[str] = Counter()
        self.rotation = SessionRotation()
        # The `_aat` of each account's latest sign-in (`/_sim/sign-in`): only it authenticates.
        self._signed_in: dict[str, str] = {}

    @property
    def config(self) -> SimulatorConfig:
        with self._lock:
            return self._config

    def configure(self, **knobs: Any) -> SimulatorConfig:
        with self._lock:
            self._config = self._config.changed(**knobs)
            return self._config

    def reset(self) -> None:
        """Forget requests, sessions, buckets and faults (the configuration stays)."""
        with self._lock:
            self._accounts.clear()
            self._records.clear()
            self._faults.clear()
            self._signed_in.clear()
        self.rotation.reset()

    # --- sessions --------------------------------------------------------------------------

    def expire(self, account_id: str) -> None:
        with self._lock:
            self._config = self._config.changed(
                expired_accounts=self._config.expired_accounts | {account_id})

    def restore(self, account_id: str) -> None:
        """A fresh session: not expired, and expire_after counts from zero again."""
        with self._lock:
            self._config = self._config.changed(
                expired_accounts=self._config.expired_accounts - {account_id})
            self._accounts[account_id].authenticated = 0
        self.rotation.reset(account_id)

    def sign_in(self, account_id: str) -> str:
        """A browser signed in as the host: a fresh session whose new `_aat` is from now on
        the only one that authenticates the account."""
        aat = secrets.token_hex(24)
        with self._lock:
            self._signed_in[account_id] = aat
        self.restore(account_id)
        return aat

    def signed_in_aat(self, account_id: str) -> str | None:
        with self._lock:
            return self._signed_in.get(account_id)

    def accepts_aat(self, account_id: str, aat: str) -> bool:
        """False only for an account signed in since, with any `_aat` but the sign-in's."""
        with self._lock:
            current = self._signed_in.get(account_id)
        return current is None or secrets.compare_digest(current, aat)

    def session_expired(self, account_id: str) -> bool:
        """Count an authenticated request; True when the account's session is (now) expired."""
        with self._lock:
            config = self._config
            if account_id in config.expired_accounts:
                return True
            state = self._accounts[account_id]
            state.authenticated += 1
            limit = _expire_limit(config, account_id)
            return limit is not None and state.authenticated > limit

    def _is_expired(self, account_id: str) -> bool:
        config = self._config
        if account_id in config.expired_accounts:
            return True
        count = self._accounts[account_id].authenticated if account_id in self._accounts else 0
        limit = _expire_limit(config, account_id)
        return limit is not None and count > limit

    # --- rate limiting ---------------------------------------------------------------------

    def throttle(self, account_id: str, now: float) -> int | None:
        """None when the request may pass, else the Retry-After (whole seconds) to send.

        A request before the end of the last Retry-After is refused again and counted as a
        violation; otherwise a token bucket of `rate_limit` per second and `burst` decides.
        """
        with self._lock:
            config = self._config
            state = self._accounts[account_id]
            if now < state.blocked_until:
                state.violations += 1
                return max(1, math.ceil(state.blocked_until - now))
            if config.rate_limit <= 0:
                return None
            bucket = state.bucket or _Bucket(tokens=float(config.burst), updated=now)
            bucket.tokens = min(float(config.burst),
                                bucket.tokens + (now - bucket.updated) * config.rate_limit)
            bucket.updated = now
            state.bucket = bucket
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            retry_after = max(1, math.ceil((1.0 - bucket.tokens) / config.rate_limit))
            state.blocked_until = now + retry_after
            return retry_after

    def hold_back(self, account_id: str, now: float, seconds: int) -> None:
        """Remember a Retry-After sent for another reason (an injected 429)."""
        with self._lock:
            state = self._accounts[account_id]
            state.blocked_until = max(state.blocked_until, now + seconds)

    # --- faults ----------------------------------------------------------------------------

    def choose_fault(self, account_id: str) -> str | None:
        """The fault for this request of the account, if any: a function of the seed, the
        account and how many of its requests came before, so a run can be replayed."""
        with self._lock:
            config = self._config
            state = self._accounts[account_id]
            state.sequence += 1
            key = ("fault", config.seed, account_id, state.sequence)
            fault = None
            if state.sequence <= len(config.fault_script):
                fault = config.fault_script[state.sequence - 1]
            elif unit(*key, "throttle") < config.throttle_rate:
                fault = "throttle"
            elif unit(*key, "transient") < config.fault_rate:
                fault = TRANSIENT_FAULTS[int(unit(*key, "kind") * len(TRANSIENT_FAULTS))]
            elif unit(*key, "error") < config.error_rate:
                fault = "error"
            elif unit(*key, "malformed") < config.malformed_rate:
                fault = "malformed"
            elif unit(*key, "truncated") < config.truncate_rate:
                fault = "truncated"
            elif unit(*key, "drift") < config.drift_rate:
                fault = "drift"
            if fault is not None:
                self._faults[fault] += 1
            return fault

    def fault_variant(self, account_id: str, choices: int) -> int:
        """A reproducible pick among `choices` for the current request's fault."""
        with self._lock:
            sequence = self._accounts[account_id].sequence
            return int(unit("variant", self._config.seed, account_id, sequence) * choices)

    # --- the request log -------------------------------------------------------------------

    def begin(self, account_id: str | None, operation: str | None, now: float) -> RequestRecord:
        record = RequestRecord(account_id, operation, now)
        with self._lock:
            self._records.append(record)
        return record

    def finish(self, record: RequestRecord, status: int, now: float,
               fault: str | None = None, **facts: Any) -> None:
        """Complete the record; `facts` fill its optional fields (listing_id, retry_after...)."""
        unknown = sorted(set(facts) - set(_OPTIONAL_FACTS))
        if unknown:
            raise TypeError(f"a request record has no field(s) {unknown}")
        with self._lock:
            record.status, record.finished, record.fault = status, now, fault
            for name, value in facts.items():
                setattr(record, name, value)

    def requests(self, account_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._records
                    if account_id is None or r.account_id == account_id]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            accounts: dict[str, dict[str, Any]] = {}
            for record in self._records:
                name = record.account_id or ANONYMOUS
                entry = accounts.setdefault(name, {
                    "requests": 0, "by_operation": Counter(), "by_status": Counter(),
                    "first_request": record.started, "last_request": record.started,
                })
                entry["requests"] += 1
                entry["by_operation"][record.operation or "unknown"] += 1
                entry["by_status"][str(record.status)] += 1
                entry["last_request"] = max(entry["last_request"], record.started)
            for name, entry in accounts.items():
                state = self._accounts.get(name)
                entry["by_operation"] = dict(entry["by_operation"])
                entry["by_status"] = dict(entry["by_status"])
                entry["authenticated_requests"] = state.authenticated if state else 0
                entry["retry_after_violations"] = state.violations if state else 0
                entry["expired"] = name != ANONYMOUS and self._is_expired(name)
            return {
                "total_requests": len(self._records),
                "by_operation": dict(Counter(r.operation or "unknown" for r in self._records)),
                "by_status": dict(Counter(str(r.status) for r in self._records)),
                "faults": dict(self._faults),
                "retry_after_violations": sum(s.violations for s in self._accounts.values()),
                "accounts": accounts,
            }


def _expire_limit(config: SimulatorConfig, account_id: str) -> int | None:
    """After how many authenticated requests the account's session expires, if ever."""
    return config.expire_after_for.get(account_id, config.expire_after)
