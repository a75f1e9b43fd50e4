"""The simulator's knobs: one immutable value, replaced whole when a knob changes at run time.

Every knob can be set when the simulator starts (SimulatorConfig, command-line flags) and
changed while it runs (`Simulator.configure(**knobs)`, POST /_sim/config), so tests can turn
faults, latency and expiry on and off without restarting it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from airbnb_sync.airbnb.operations import DEFAULT_HASHES, Operation
from airbnb_sync.simulator.data import SimListing, listings_for, thumbnail_url_for

DEFAULT_API_KEY = "sim-api-key"
# Fixed when the server starts: changing them at run time would need a new socket.
STARTUP_ONLY = frozenset({"host", "port"})
FAULT_RATES = ("fault_rate", "error_rate", "malformed_rate", "truncate_rate", "drift_rate",
               "throttle_rate")
# What a fault_script may ask for, per request ("" or None: answer normally).
SCRIPTED_FAULTS = ("throttle", "error", "malformed", "truncated", "drift")
_DIGITS = re.compile(r"^[0-9]{1,30}$")
# The largest synthetic host: well past any real property manager's account.
MAX_SYNTHETIC_LISTINGS = 100_000

Accounts = Mapping[str, tuple[SimListing, ...]]


def _default_hashes() -> dict[str, str]:
    return {operation.value: value for operation, value in DEFAULT_HASHES.items()}


@dataclass(frozen=True)
class SimulatorConfig:
    """What the simulator expects and how it misbehaves. Rates are probabilities per request.

    - api_key: the X-Airbnb-API-Key it accepts (None: no check).
    - hashes: the persisted-query hash of each operation (operation name -> sha256).
    - accounts: fixed hosts and listings (account id -> listings); other hosts get
      synthetic listings (data.listings_for).
    - listings: how many synthetic listings every other host has (None: 1 to 8, fixed by
      the account id); listings_for: the same per account (account id -> count), for
      accounts of any size (an accounts file entry may give `"listings": 200`).
    - today: the simulator's today (None: the real UTC day at each request).
      Offsets count from anchor = today - anchor_lag_days + anchor_shift_days.
    - horizon_days: days before and after today that are served; other days are omitted.
      180, the documented horizon (AIRBNB_SYNC_HORIZON_DAYS's default): the sync asks for
      whole weeks inside it only.
    - latency_ms: how long every API answer takes, counted from the request's arrival (the
      simulator's own work included, as Airbnb's answer time includes Airbnb's).
    - rate_limit, rate_burst: token bucket per account (requests per second; 0 = no limit).
    - fault_rate: transient faults (5xx, malformed JSON, truncated body) split evenly;
      error_rate, malformed_rate, truncate_rate: each of those on its own;
      drift_rate: a renamed container key; throttle_rate: 429 with Retry-After
      throttle_retry_after seconds. Decisions are reproducible from `seed`.
    - fault_script: the faults of each account's first requests, in order (one of
      SCRIPTED_FAULTS, or None/"" for a normal answer); the rates apply after it. Exact
      bursts ("error", "error") for fault tests, where a random draw would need luck.
    - expire_after: a session expires after this many authenticated requests of its account;
      expire_after_for: the same per account (account id -> count), overriding expire_after.
    - expired_accounts: sessions that are expired now.
    - auth_error_status: HTTP status of authentication_required (Airbnb sends 200 or 401).
    - failing_listings: listings whose ChartQuery and ListOfMetricsQuery requests always get
      503, so a client's retries run out: one listing down while the others are fine.
    - rotate_every: set a new `_aat` every this many authenticated requests of an account
      (None: never); rotate_grace: requests the previous `_aat` is still accepted for;
      cookie_max_age: Max-Age (and Expires) of the rotated cookie, in seconds (None: none).
      See rotation.py.
    - set_cookies: raw `Set-Cookie` header values sent with every authenticated answer,
      as they are (hostile or odd ones included): what keep-alive must withstand.
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = field(default=DEFAULT_API_KEY, repr=False)
    hashes: Mapping[str, str] = field(default_factory=_default_hashes)
    accounts: Accounts = field(default_factory=dict)
    today: date | None = None
    anchor_lag_days: int = 3
    anchor_shift_days: int = 0
    horizon_days: int = 180  # Airbnb serves about 180 days each way (README)
    latency_ms: float = 0.0
    rate_limit: float = 0.0
    rate_burst: int | None = None
    fault_rate: float = 0.0
    error_rate: float = 0.0
    malformed_rate: float = 0.0
    truncate_rate: float = 0.0
    drift_rate: float = 0.0
    throttle_rate: float = 0.0
    throttle_retry_after: int = 1
    seed: int = 0
    fault_script: tuple[str | None, ...] = ()
    expire_after: int | None = None
    expire_after_for: Mapping[str, int] = field(default_factory=dict)
    expired_accounts: frozenset[str] = frozenset()
    auth_error_status: int = 401
    failing_listings: frozenset[str] = frozenset()
    rotate_every: int | None = None
    rotate_grace: int = 0
    cookie_max_age: int | None = None
    listings: int | None = None
    listings_for: Mapping[str, int] = field(default_factory=dict)
    set_cookies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "hashes", _hashes(self.hashes))
        set_(self, "accounts", _accounts(self.accounts))
        if isinstance(self.today, str):
            set_(self, "today", date.fromisoformat(self.today))
        set_(self, "expired_accounts", frozenset(str(a) for a in self.expired_accounts))
        set_(self, "failing_listings", frozenset(str(x) for x in self.failing_listings))
        set_(self, "fault_script", _fault_script(self.fault_script))
        set_(self, "expire_after_for", _expire_after_for(self.expire_after_for))
        set_(self, "listings_for", _listing_counts(self.listings_for))
        _require(self.listings is None or 0 <= self.listings <= MAX_SYNTHETIC_LISTINGS,
                 f"listings must be 0..{MAX_SYNTHETIC_LISTINGS}, got {self.listings}")
        set_(self, "set_cookies", _set_cookies(self.set_cookies))
        for name in FAULT_RATES:
            rate = float(getattr(self, name))
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
            set_(self, name, rate)
        _require(self.latency_ms >= 0, f"latency_ms must not be negative, got {self.latency_ms}")
        _require(self.rate_limit >= 0, f"rate_limit must not be negative, got {self.rate_limit}")
        _require(self.rate_burst is None or self.rate_burst >= 1,
                 f"rate_burst must be at least 1, got {self.rate_burst}")
        _require(self.throttle_retry_after >= 0,
                 f"throttle_retry_after must not be negative, got {self.throttle_retry_after}")
        _require(self.expire_after is None or self.expire_after >= 0,
                 f"expire_after must not be negative, got {self.expire_after}")
        _require(self.horizon_days >= 0,
                 f"horizon_days must not be negative, got {self.horizon_days}")
        _require(self.auth_error_status in (200, 401),
                 f"auth_error_status must be 200 or 401, got {self.auth_error_status}")
        _require(0 <= self.port <= 65535, f"port must be 0..65535, got {self.port}")
        _require(self.rotate_every is None or self.rotate_every >= 1,
                 f"rotate_every must be at least 1, got {self.rotate_every}")
        _require(self.rotate_grace >= 0,
                 f"rotate_grace must not be negative, got {self.rotate_grace}")
        _require(self.cookie_max_age is None or self.cookie_max_age >= 0,
                 f"cookie_max_age must not be negative, got {self.cookie_max_age}")

    @property
    def burst(self) -> int:
        """Requests an account may send at once before the rate limit bites."""
        return self.rate_burst if self.rate_burst is not None else max(1, int(self.rate_limit))

    def changed(self, **knobs: Any) -> SimulatorConfig:
        """A copy with some knobs changed; `hashes` are merged into the current ones."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(knobs) - known)
        if unknown:
            raise ValueError(f"unknown simulator knob(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(known - STARTUP_ONLY))}")
        fixed = sorted(set(knobs) & STARTUP_ONLY)
        if fixed:
            raise ValueError(f"{', '.join(fixed)} can only be set when the simulator starts")
        if "hashes" in knobs:
            knobs["hashes"] = {**self.hashes, **_hashes(knobs["hashes"], complete=False)}
        return replace(self, **knobs)

    def public(self) -> dict[str, Any]:
        """The knobs as JSON-ready values, the API key masked."""
        shown: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "api_key":
                value = None if value is None else "***"
            elif f.name == "accounts":
                value = {account: [listing.id for listing in listings]
                         for account, listings in value.items()}
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, frozenset):
                value = sorted(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            shown[f.name] = value
        return shown


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _fault_script(value: Any) -> tuple[str | None, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError("fault_script must be a list of faults, e.g. [null, \"error\", "
                         "\"error\"]")
    script = tuple(item or None for item in value)
    unknown = sorted({item for item in script if item is not None} - set(SCRIPTED_FAULTS))
    if unknown:
        raise ValueError(f"fault_script has unknown fault(s) {unknown}; known: "
                         f"{', '.join(SCRIPTED_FAULTS)} (or null for a normal answer)")
    return script


def _set_cookies(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable) \
            or not all(isinstance(item, str) for item in value):
        raise ValueError("set_cookies must be a list of Set-Cookie header values")
    headers = tuple(value)
    for header in headers:
        try:
            header.encode("latin-1")  # what an HTTP header can carry
        except UnicodeEncodeError:
            raise ValueError("set_cookies: a header value must be Latin-1 text") from None
        if "\r" in header or "\n" in header:
            raise ValueError("set_cookies: a header value cannot hold a line break")
    return headers


def _expire_after_for(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValueError("expire_after_for must map account ids to request counts")
    counts = {str(account): count for account, count in value.items()}
    for account, count in counts.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"expire_after_for[{account!r}] must be a non-negative integer, "
                             f"got {count!r}")
    return counts


def _listing_counts(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValueError("listings_for must map account ids to listing counts")
    counts = {str(account): count for account, count in value.items()}
    for account, count in counts.items():
        if not isinstance(count, int) or isinstance(count, bool) \
                or not 0 <= count <= MAX_SYNTHETIC_LISTINGS:
            raise ValueError(f"listings_for[{account!r}] must be an integer 0.."
                             f"{MAX_SYNTHETIC_LISTINGS}, got {count!r}")
    return counts


def _hashes(value: Mapping[str, str], complete: bool = True) -> dict[str, str]:
    names = {operation.value for operation in Operation}
    result = {str(k): str(v) for k, v in value.items()}
    unknown = sorted(set(result) - names)
    if unknown:
        raise ValueError(f"hashes for unknown operation(s) {unknown}; expected {sorted(names)}")
    if complete and set(result) != names:
        result = {**_default_hashes(), **result}
    return result


def _accounts(value: Any) -> dict[str, tuple[SimListing, ...]]:
    """Accept {account: [SimListing | dict]} or the --accounts file's format."""
    if isinstance(value, list):
        value = {"accounts": value}
    if isinstance(value, Mapping) and isinstance(value.get("accounts"), list):
        return parse_accounts(value)
    return {str(account): tuple(_listing(item, f"accounts[{account!r}]") for item in listings)
            for account, listings in value.items()}


def _listing(item: Any, where: str) -> SimListing:
    if isinstance(item, SimListing):
        return item
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: a listing must be an object with id and listing_name")
    listing_id = str(item.get("id", ""))
    if not _DIGITS.match(listing_id):
        raise ValueError(f"{where}: listing id must be digits, got {listing_id!r}")
    name = item.get("listing_name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: listing {listing_id} needs a listing_name")
    internal = item.get("internal_name")
    return SimListing(
        id=listing_id,
        listing_name=name,
        internal_name=None if internal is None else str(internal),
        thumbnail_url=item.get("thumbnail_url") or thumbnail_url_for(listing_id),
        summary=str(item.get("summary", "")),
    )


def parse_accounts(document: Any) -> dict[str, tuple[SimListing, ...]]:
    """{"accounts": [{"account_id": "...", "listings": [{"id", "listing_name",
    "internal_name"}]}]} -> account id -> listings; `"listings": N` gives the host N
    synthetic listings."""
    if not isinstance(document, Mapping) or not isinstance(document.get("accounts"), list):
        raise ValueError('the accounts file must be a JSON object {"accounts": [...]}')
    accounts: dict[str, tuple[SimListing, ...]] = {}
    for index, entry in enumerate(document["accounts"]):
        where = f"accounts[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} must be an object with account_id and listings")
        account_id = str(entry.get("account_id", ""))
        if not _DIGITS.match(account_id):
            raise ValueError(f"{where}: account_id must be digits, got {account_id!r}")
        listings = entry.get("listings")
        if isinstance(listings, int) and not isinstance(listings, bool):
            if not 0 <= listings <= MAX_SYNTHETIC_LISTINGS:
                raise ValueError(f"{where}: a listing count must be 0..{MAX_SYNTHETIC_LISTINGS}"
                                 f", got {listings}")
            accounts[account_id] = listings_for(account_id, listings)
            continue
        if not isinstance(listings, Iterable) or isinstance(listings, str | Mapping):
            raise ValueError(f"{where}: listings must be a list, or a count of synthetic "
                             "listings")
        accounts[account_id] = tuple(_listing(item, f"{where}.listings")
                                     for item in listings)
    return accounts


def load_accounts_file(path: str | Path) -> dict[str, tuple[SimListing, ...]]:
    """Read an --accounts file; errors name the file and the offending entry."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read accounts file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"accounts file {path} is not valid JSON ({exc.msg})") from None
    try:
        return parse_accounts(document)
    except ValueError as exc:
        raise ValueError(f"accounts file {path}: {exc}") from None
