"""Every setting of airbnb-sync, read from the environment in one place.

Settings are parsed and validated once, at load time, so a typo in a variable fails
at start-up with a message naming the variable instead of deep inside a run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")

DEFAULT_BASE_URL = "https://www.airbnb.com"


class SettingsError(ValueError):
    """A setting has a value that airbnb-sync cannot use."""

    retryable = False  # a configuration problem fails the same way until a person fixes it


@dataclass(frozen=True)
class Settings:
    """Typed, validated settings. Secrets are kept out of the repr."""

    dagster_home: Path
    database_url: str = field(repr=False)
    secret_keys: tuple[str, ...] = field(repr=False)
    airbnb_base_url: str
    airbnb_api_key: str | None = field(repr=False)
    min_request_interval: float
    first_week: date
    lookahead_weeks: int
    first_sync_weeks: int
    daily_lookback_weeks: int
    dry_run: bool
    alert_webhook: str | None = field(repr=False)
    log_format: Literal["text", "json"]
    # Persisted-query hashes set in the environment, by operation name (`ChartQuery`, ...);
    # the airbnb package falls back to the last ones seen for the others.
    query_hashes: Mapping[str, str]
    anchor_lag_days: int
    request_timeout: float
    max_retry_after: float
    retry_budget_seconds: float
    max_retries: int
    daily_cron: str
    daily_ahead_weeks: int
    far_refresh_days: int
    run_retries: int
    run_retry_delay: float
    dagster_url: str
    reports_dir: Path
    horizon_days: int = 180  # days Airbnb serves before and after today (AIRBNB_SYNC_HORIZON_DAYS)
    # AIRBNB_SYNC_FIRST_WEEK was set: it wins over the installation's persisted first week.
    first_week_explicit: bool = False
    # Keep-alive: accept the authentication cookies Airbnb rotates, and store them.
    session_keepalive: bool = True
    # A `session_expiring` alert goes out this many hours before a known session expiry.
    session_alert_hours: float = 24.0
    # Requests an account may send per day (None: derived from the pacing, sync/budget.py).
    daily_request_budget: int | None = None
    # The share of the day's budget kept back for retries and first syncs of new listings.
    budget_reserve: float = 0.15
    # A run holds at most about this many minutes of requests (sync/planner.py splits).
    max_run_minutes: int = 60
    # Keep every week since first_week in the partition grid, instead of dropping the weeks
    # Airbnb no longer serves (AIRBNB_SYNC_KEEP_WEEK_HISTORY; README: Beyond one machine).
    keep_week_history: bool = False
    # Where owners reach the REST API (AIRBNB_SYNC_API_URL): the base of invite links.
    api_url: str = "http://127.0.0.1:8080"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


# Variables whose values are secret: an error names them but never repeats their value.
SECRET_VARIABLES = frozenset({"AIRBNB_SYNC_SECRET_KEY", "AIRBNB_SYNC_DATABASE_URL",
                              "AIRBNB_SYNC_ALERT_WEBHOOK"})


def _parse(env: Mapping[str, str], name: str, default: T, convert: Callable[[str], T],
           allowed: str) -> T:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        return convert(raw)
    except (ValueError, TypeError) as exc:
        shown = "(value hidden)" if name in SECRET_VARIABLES else repr(raw)
        raise SettingsError(f"{name}={shown} is invalid: expected {allowed} ({exc})") from None


def _finite_float(raw: str) -> float:
    """float() also accepts inf, nan and overflowing numbers such as 1e400 (inf): none of them
    is a usable number of seconds, and inf would make a wait last forever."""
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _non_negative_float(raw: str) -> float:
    value = _finite_float(raw)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive_float(raw: str) -> float:
    value = _finite_float(raw)
    if not value > 0:
        raise ValueError("must be greater than 0")
    return value


def _fraction_below(high: float) -> Callable[[str], float]:
    def convert(raw: str) -> float:
        value = _finite_float(raw)
        if not 0 <= value <= high:
            raise ValueError(f"must be between 0 and {high:g}")
        return value

    return convert


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def convert(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return convert


def _sunday(raw: str) -> date:
    day = date.fromisoformat(raw)
    if day.isoweekday() != 7:
        raise ValueError(f"{day} is a {day:%A}, weeks start on Sunday")
    return day


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("not a boolean")


def _http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return raw.rstrip("/")


def _database_url(raw: str) -> str:
    """Parse the URL the way the engine will, so that a URL SQLAlchemy cannot use fails here in
    one line. The messages never repeat the URL: it may carry a password."""
    if not raw.startswith(("sqlite:", "postgresql")):
        raise ValueError("must be a sqlite:/// or postgresql+psycopg2:// SQLAlchemy URL")
    # Imported here so that settings stay importable without SQLAlchemy's import cost.
    import sqlalchemy as sa

    try:
        url = sa.make_url(raw)
    except sa.exc.ArgumentError:
        raise ValueError("not a URL SQLAlchemy can parse; write sqlite:////ABSOLUTE/PATH.db, "
                         "sqlite:///RELATIVE/PATH.db or "
                         "postgresql+psycopg2://USER:PASSWORD@HOST:PORT/DB") from None
    except ValueError:
        raise ValueError("its port is not a number") from None
    _check_database_url(url)
    return raw


def _check_database_url(url: Any) -> None:
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if (backend, driver) not in {("sqlite", "pysqlite"), ("postgresql", "psycopg2")}:
        raise ValueError(f"driver {backend}+{driver} is not supported; use sqlite:/// or "
                         "postgresql+psycopg2://")
    if url.port is not None and not 1 <= url.port <= 65535:
        raise ValueError(f"port {url.port} is out of range (1..65535)")
    if backend == "sqlite" and (not url.database or url.database == ":memory:"
                                or url.database.startswith("file:")):
        raise ValueError("a SQLite warehouse needs a file path, as in sqlite:////srv/warehouse.db")


def _cron(raw: str) -> str:
    """Accept exactly what Dagster's schedules accept (it runs a vendored croniter), so a
    schedule that loads here also loads in the daemon: croniter's syntax, five fields (no
    seconds, no year), no day-of-month `W` (Dagster's croniter lacks it; croniter 7 silently
    drops it), and not February 30 or 31 alone (it would never fire)."""
    # Imported here so that settings stay importable without croniter's import cost.
    from croniter import croniter

    fields = raw.split()
    valid = croniter.is_valid(raw) and not (len(fields) == 5 and "w" in fields[2].lower())
    expanded = croniter.expand(raw)[0] if valid else []
    if len(expanded) != 5 or _february_30_or_31(expanded[2], expanded[3]):
        raise ValueError("not a 5-field cron expression such as '0 5 * * *'")
    return raw


def _february_30_or_31(days: list[int | str], months: list[int | str]) -> bool:
    return months == [2] and len(days) == 1 and days[0] in (30, 31)


def _folder(raw: str) -> Path:
    return Path(raw).expanduser().absolute()


def _hash(raw: str) -> str:
    if len(raw) != 64 or any(c not in "0123456789abcdef" for c in raw):
        raise ValueError("must be 64 lowercase hex digits (a sha256)")
    return raw


def _secret_keys(raw: str) -> tuple[str, ...]:
    # Imported here so that settings stay importable without cryptography's import cost.
    from cryptography.fernet import Fernet

    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ValueError(
                f"key #{position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                "create one with `airbnb-sync accounts generate-key`)"
            ) from None
    return keys


# The variable that overrides each operation's hash (airbnb.operations.Operation's values).
HASH_VARIABLES: dict[str, str] = {
    "ListingsSectionQuery": "AIRBNB_SYNC_HASH_LISTINGS_SECTION",
    "ChartQuery": "AIRBNB_SYNC_HASH_CHART",
    "ListOfMetricsQuery": "AIRBNB_SYNC_HASH_LIST_OF_METRICS",
}


def read_log_format(env: Mapping[str, str]) -> Literal["text", "json"]:
    """AIRBNB_SYNC_LOG_FORMAT alone, for the commands that must log whatever the other
    settings say (see core/logs.py); load_settings reads it the same way."""
    log_format = _parse(env, "AIRBNB_SYNC_LOG_FORMAT", "text", str.lower, "text or json")
    if log_format == "text" or log_format == "json":
        return log_format
    raise SettingsError(f"AIRBNB_SYNC_LOG_FORMAT={log_format!r} is invalid: expected text or json")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise SettingsError naming the first bad variable."""
    env = os.environ if env is None else env
    dagster_home = Path(_get(env, "DAGSTER_HOME") or "./.dagster_home").expanduser().absolute()
    database_url = _parse(
        env, "AIRBNB_SYNC_DATABASE_URL", f"sqlite:///{dagster_home / 'warehouse.db'}",
        _database_url, "a sqlite:/// or postgresql+psycopg2:// URL",
    )
    log_format = read_log_format(env)
    return Settings(
        dagster_home=dagster_home,
        database_url=database_url,
        secret_keys=_parse(env, "AIRBNB_SYNC_SECRET_KEY", (), _secret_keys,
                           "comma-separated Fernet keys"),
        airbnb_base_url=_parse(env, "AIRBNB_BASE_URL", DEFAULT_BASE_URL, _http_url,
                               "an http(s) URL"),
        airbnb_api_key=_get(env, "AIRBNB_API_KEY"),
        min_request_interval=_parse(env, "AIRBNB_SYNC_MIN_REQUEST_INTERVAL", 6.0,
                                    _non_negative_float, "seconds >= 0"),
        first_week=_parse(env, "AIRBNB_SYNC_FIRST_WEEK", date(2025, 1, 5), _sunday,
                          "a Sunday as YYYY-MM-DD"),
        lookahead_weeks=_parse(env, "AIRBNB_SYNC_LOOKAHEAD_WEEKS", 25, _int_between(0, 26),
                               "an integer 0..26 (Airbnb serves about 180 days ahead)"),
        first_sync_weeks=_parse(env, "AIRBNB_SYNC_FIRST_SYNC_WEEKS", 25, _int_between(0, 26),
                                "an integer 0..26 (Airbnb serves about 180 days back)"),
        daily_lookback_weeks=_parse(env, "AIRBNB_SYNC_DAILY_LOOKBACK_WEEKS", 1,
                                    _int_between(0, 26), "an integer 0..26"),
        dry_run=_parse(env, "AIRBNB_SYNC_DRY_RUN", False, _bool, "true/false, 1/0, yes/no"),
        alert_webhook=_parse(env, "AIRBNB_SYNC_ALERT_WEBHOOK", None, _http_url, "an http(s) URL"),
        log_format=log_format,
        query_hashes={
            operation: _parse(env, variable, "", _hash, "a 64-hex sha256")
            for operation, variable in HASH_VARIABLES.items() if _get(env, variable)
        },
        anchor_lag_days=_parse(env, "AIRBNB_SYNC_ANCHOR_LAG_DAYS", 3, _int_between(-7, 14),
                               "an integer -7..14 (days between today and Airbnb's offset 0)"),
        request_timeout=_parse(env, "AIRBNB_SYNC_REQUEST_TIMEOUT", 30.0, _positive_float,
                               "seconds > 0"),
        max_retry_after=_parse(env, "AIRBNB_SYNC_MAX_RETRY_AFTER", 300.0, _non_negative_float,
                               "seconds >= 0"),
        retry_budget_seconds=_parse(env, "AIRBNB_SYNC_RETRY_BUDGET", 900.0, _non_negative_float,
                                    "seconds >= 0"),
        max_retries=_parse(env, "AIRBNB_SYNC_MAX_RETRIES", 5, _int_between(0, 20),
                           "an integer 0..20"),
        daily_cron=_parse(env, "AIRBNB_SYNC_DAILY_CRON", "0 5 * * *", _cron,
                          "a cron expression, evaluated in UTC"),
        daily_ahead_weeks=_parse(env, "AIRBNB_SYNC_DAILY_AHEAD_WEEKS", 4, _int_between(0, 26),
                                 "an integer 0..26 (weeks after the current one refreshed daily)"),
        far_refresh_days=_parse(env, "AIRBNB_SYNC_FAR_REFRESH_DAYS", 7, _int_between(1, 7),
                                "an integer 1..7 (1 refreshes every week of the horizon daily)"),
        run_retries=_parse(env, "AIRBNB_SYNC_RUN_RETRIES", 3, _int_between(0, 10),
                           "an integer 0..10"),
        run_retry_delay=_parse(env, "AIRBNB_SYNC_RUN_RETRY_DELAY", 60.0, _non_negative_float,
                               "seconds >= 0"),
        dagster_url=_parse(env, "AIRBNB_SYNC_DAGSTER_URL", "http://127.0.0.1:3000", _http_url,
                           "the http(s) address of the Dagster UI, for links in alerts"),
        reports_dir=_parse(env, "AIRBNB_SYNC_REPORTS_DIR", dagster_home / "reports",
                           _folder, "a folder path"),
        horizon_days=_parse(env, "AIRBNB_SYNC_HORIZON_DAYS", 180, _int_between(7, 366),
                            "an integer 7..366 (days Airbnb serves before and after today)"),
        first_week_explicit=bool(_get(env, "AIRBNB_SYNC_FIRST_WEEK")),
        session_keepalive=_parse(env, "AIRBNB_SYNC_SESSION_KEEPALIVE", True, _bool,
                                 "true/false, 1/0, yes/no"),
        session_alert_hours=_parse(env, "AIRBNB_SYNC_SESSION_ALERT_HOURS", 24.0,
                                   _non_negative_float, "hours >= 0"),
        daily_request_budget=_parse(env, "AIRBNB_SYNC_DAILY_REQUEST_BUDGET", None,
                                    _int_between(1, 10_000_000),
                                    "an integer 1..10000000 (requests per account and day)"),
        budget_reserve=_parse(env, "AIRBNB_SYNC_BUDGET_RESERVE", 0.15, _fraction_below(0.9),
                              "a fraction 0..0.9 of the daily budget (0.15 = 15 %)"),
        max_run_minutes=_parse(env, "AIRBNB_SYNC_MAX_RUN_MINUTES", 60, _int_between(1, 1440),
                               "an integer 1..1440 (minutes of requests one run may hold)"),
        keep_week_history=_parse(env, "AIRBNB_SYNC_KEEP_WEEK_HISTORY", False, _bool,
                                 "true/false, 1/0, yes/no"),
        api_url=_parse(env, "AIRBNB_SYNC_API_URL", "http://127.0.0.1:8080", _http_url,
                       "the http(s) address owners reach the API at (before /api/v1), for "
                       "invite links"),
    )
