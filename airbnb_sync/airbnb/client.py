"""The HTTP client of Airbnb's host-insights API: one session per account.

It sends the three persisted operations with the headers Airbnb's web client sends, paces
the account's requests, retries what a retry can fix (429 after `Retry-After`, 5xx, timeouts,
dropped connections) with urllib3's `Retry`, and turns every other answer into a typed error.
It returns raw JSON: making sense of it is parse.py's job.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from airbnb_sync.airbnb.cookies import SessionCookies, cookie_header, session_cookies_for
from airbnb_sync.airbnb.domains import is_airbnb_host
from airbnb_sync.airbnb.errors import (
    AirbnbError,
    AirbnbUnavailable,
    ApiKeyRejected,
    AuthExpired,
    QueryHashRejected,
    RateLimited,
)
from airbnb_sync.airbnb.keepalive import AuthCookiePolicy, SessionChanges
from airbnb_sync.airbnb.operations import (
    DEFAULT_HASHES,
    Operation,
    chart_body,
    list_of_metrics_body,
    listings_section_body,
    query_body,
    request_path,
)
from airbnb_sync.airbnb.pacing import Pacer
from airbnb_sync.airbnb.stats import RequestStats
from airbnb_sync.core.redact import redact, register_secret
from airbnb_sync.core.settings import HASH_VARIABLES, Settings, SettingsError

logger = logging.getLogger(__name__)

# Sent by Airbnb's web client with every /api/v3/ request (README of the observed API).
FIXED_HEADERS: dict[str, str] = {
    "Accept": "*/*",
    "Accept-Language": "en-US,en;q=0.9",
    "Accept-Encoding": "gzip, deflate",
    "Content-Type": "application/json",
    "X-Airbnb-GraphQL-Platform": "web",
    "X-Airbnb-GraphQL-Platform-Client": "minimalist-niobe",
    "X-Airbnb-Supports-Airlock-V2": "true",
    "X-CSRF-Token": "",
    "X-CSRF-Without-Token": "1",
    "X-Niobe-Short-Circuited": "true",
}
REQUEST_ID_ALPHABET = string.ascii_lowercase + string.digits
REQUEST_ID_LENGTH = 30
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# urllib3 retries only what it can see: statuses and transport errors. A body that is broken
# at the application level (malformed or truncated JSON, a 200 without `data`) arrives with a
# good status, so it gets its own small, bounded retry here: such answers come from a flaky
# edge or a deploy in progress and usually pass on the next attempt, and two more attempts,
# paused by backoff.factor * n and paced like any request, cannot amount to abuse.
BROKEN_BODY_RETRIES = 2

_API_KEY_WORDS = ("api key", "api_key", "apikey", "invalid_key")


@dataclass(frozen=True)
class HostSession:
    """A host's browser session: who it is and what the web client sends on their behalf."""

    account_id: str
    cookies: Mapping[str, str] = field(repr=False, hash=False)
    x_client_version: str
    user_agent: str
    # The X-Airbnb-API-Key captured with the account's paste; AIRBNB_API_KEY wins when set.
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Only the authentication cookies are ever sent, and they must never reach a log.
        kept = SessionCookies(self.cookies)
        object.__setattr__(self, "cookies", kept)
        for value in kept.values():
            register_secret(value)
        register_secret(kept.header())
        register_secret(self.api_key)

    @classmethod
    def from_cookie_text(cls, account_id: str, text: str, x_client_version: str,
                         user_agent: str) -> HostSession:
        """Parse a Cookie header or JSON export; it must belong to `account_id`."""
        return cls(account_id, session_cookies_for(account_id, text), x_client_version,
                   user_agent)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff of retries after 5xx, timeouts and connection errors (seconds)."""

    factor: float = 2.0
    jitter: float = 1.0
    maximum: float = 120.0


def is_real_airbnb(base_url: str) -> bool:
    return is_airbnb_host(urlparse(base_url).hostname or "")


def new_request_id() -> str:
    """A random id in the browser's format. One random number written in base 36 gives the
    same uniform ids as choosing each character, for one call to the OS's random source
    instead of thirty (two ids go with every request)."""
    number = secrets.randbelow(len(REQUEST_ID_ALPHABET) ** REQUEST_ID_LENGTH)
    characters = []
    for _ in range(REQUEST_ID_LENGTH):
        number, digit = divmod(number, len(REQUEST_ID_ALPHABET))
        characters.append(REQUEST_ID_ALPHABET[digit])
    return "".join(characters)


class AirbnbRetry(Retry):
    """urllib3's Retry, made to wait through the account's pacer, within a total budget.

    Every wait (Retry-After, capped by `retry_after_max`, or the exponential backoff) goes
    through the pacer, so it is shared with other processes and counted in the statistics.
    When the next wait would exceed `budget_seconds` in total, retrying stops and the last
    answer (a 429 or 5xx) is handed back. urllib3 derives one Retry from the previous one at
    each attempt; `waited` is carried along.
    """

    # A 413 with Retry-After is a request problem that waiting cannot fix.
    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})

    def __init__(self, *, account_id: str = "", pacer: Pacer | None = None,
                 stats: RequestStats | None = None, budget_seconds: float = math.inf,
                 waited: float = 0.0, planned_wait: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.account_id = account_id
        self.pacer = pacer if pacer is not None else Pacer(0.0)
        self.stats = stats if stats is not None else self.pacer.stats
        self.budget_seconds = budget_seconds
        self.waited = waited
        self.planned_wait = planned_wait

    def new(self, **kw: Any) -> Self:
        kw.setdefault("account_id", self.account_id)
        kw.setdefault("pacer", self.pacer)
        kw.setdefault("stats", self.stats)
        kw.setdefault("budget_seconds", self.budget_seconds)
        kw.setdefault("waited", self.waited)
        kw.setdefault("planned_wait", 0.0)
        return super().new(**kw)

    def increment(self, method: str | None = None, url: str | None = None,
                  response: Any = None, error: Exception | None = None,
                  _pool: Any = None, _stacktrace: TracebackType | None = None) -> Self:
        retry_after = None
        if response is not None:
            if response.status == 429:
                self.stats.count_rate_limited()
            retry_after = self._retry_after(response)
            if retry_after:
                # Recorded even if this process gives up: other processes must hold back too.
                self.pacer.hold_back(self.account_id, retry_after)
        new_retry = super().increment(method, url, response, error, _pool, _stacktrace)
        wait = retry_after if retry_after is not None else new_retry.get_backoff_time()
        if self.waited + wait > self.budget_seconds:
            logger.warning(
                "account %s: giving up retrying %s, waiting %.1f s more would exceed the retry "
                "budget of %.0f s (AIRBNB_SYNC_RETRY_BUDGET)", self.account_id, _path(url), wait,
                self.budget_seconds)
            reason = error or ResponseError("retry budget exhausted")
            raise MaxRetryError(_pool, url or "", reason) from reason
        new_retry.planned_wait = wait
        self.stats.count_retry()
        cause = f"HTTP {response.status}" if response is not None else type(error).__name__
        logger.info("account %s: %s answered %s, retrying in %.1f s (attempt %d)",
                    self.account_id, _path(url), cause, wait, len(new_retry.history) + 1)
        return new_retry

    def sleep(self, response: Any = None) -> None:
        self.pacer.hold_back(self.account_id, self.planned_wait)
        self.waited += self.pacer.wait_turn(self.account_id)

    def _retry_after(self, response: Any) -> float | None:
        if not self.respect_retry_after_header:
            return None
        try:
            return self.get_retry_after(response)
        except InvalidHeader:
            return None


class _BrokenBody(Exception):
    """An answer with a good status whose body cannot be used; worth one more attempt."""


class AirbnbClient:
    """Talks to Airbnb for one account; use as a context manager or call close().

    After an authentication error the client refuses every further call without sending
    it: retrying an expired session does not help and looks like abuse.
    """

    def __init__(self, session: HostSession, settings: Settings, *, pacer: Pacer | None = None,
                 stats: RequestStats | None = None, backoff: Backoff | None = None) -> None:
        self.api_key = settings.airbnb_api_key or session.api_key
        if self.api_key is None and is_real_airbnb(settings.airbnb_base_url):
            raise SettingsError(
                f"AIRBNB_API_KEY is not set, no key was captured with account "
                f"{session.account_id}, and AIRBNB_BASE_URL is {settings.airbnb_base_url}: "
                "Airbnb answers nothing without it. Register the account from a paste "
                "(`accounts update ID --from-curl -`), or set AIRBNB_API_KEY to the "
                "X-Airbnb-API-Key header of a request to /api/v3/ in the browser's network tab."
            )
        register_secret(self.api_key)
        self.account_id = session.account_id
        self.settings = settings
        if stats is None:
            stats = pacer.stats if pacer is not None else RequestStats()
        self.stats = stats
        self.pacer = pacer if pacer is not None else Pacer(settings.min_request_interval,
                                                           stats=stats)
        self._backoff = backoff or Backoff()
        self._cookies = dict(session.cookies)
        self.session_changes = SessionChanges(session.account_id,
                                              started_with=dict(session.cookies))
        self._http = self._http_session(session, self._backoff)
        self._auth_failed = False

    def __repr__(self) -> str:
        return (f"AirbnbClient(account_id={self.account_id!r}, "
                f"base_url={self.settings.airbnb_base_url!r})")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def auth_failed(self) -> bool:
        """Airbnb refused the session in this client's life: its cookies must not be kept."""
        return self._auth_failed

    def changed_session(self) -> SessionChanges | None:
        """The cookies Airbnb rotated (and expiries it told), None when nothing may be kept:
        nothing changed, or the session ended refused."""
        if self._auth_failed or not self.session_changes:
            return None
        return self.session_changes

    def listings_section(self) -> dict[str, Any]:
        operation = Operation.LISTINGS_SECTION
        return self._call(operation, listings_section_body(self._hash(operation)))

    def chart(self, listing_id: str, metric: str, relative_start: int,
              relative_end: int) -> dict[str, Any]:
        operation = Operation.CHART
        return self._call(operation, chart_body(self._hash(operation), listing_id, metric,
                                                relative_start, relative_end))

    def list_of_metrics(self, listing_id: str, metric: str, relative_start: int,
                        relative_end: int) -> dict[str, Any]:
        operation = Operation.LIST_OF_METRICS
        return self._call(operation, list_of_metrics_body(self._hash(operation), listing_id,
                                                          metric, relative_start, relative_end))

    def query(self, operation: Operation | str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Any persisted operation with these arguments (a dataset's own operation; its body
        is built like the three above, with the same headers, pacing, retries and errors)."""
        operation = Operation(operation)
        return self._call(operation, query_body(operation, self._hash(operation), arguments))

    def _hash(self, operation: Operation) -> str:
        return self.settings.query_hashes.get(operation, DEFAULT_HASHES[operation])

    def _http_session(self, session: HostSession, backoff: Backoff) -> requests.Session:
        http = requests.Session()
        http.headers.clear()
        http.headers.update(FIXED_HEADERS)
        http.headers.update({
            "User-Agent": session.user_agent,
            "X-Client-Version": session.x_client_version,
            "Cookie": cookie_header(session.cookies),
        })
        if self.api_key is not None:
            http.headers["X-Airbnb-API-Key"] = self.api_key
        if self.settings.session_keepalive:
            # Rotated authentication cookies replace theirs in the Cookie header above.
            host = urlparse(self.settings.airbnb_base_url).hostname or ""
            http.cookies.set_policy(AuthCookiePolicy(host))
        else:
            # Keep-alive off: the stored session is the whole truth, Set-Cookie is ignored.
            http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        retry = AirbnbRetry(
            total=self.settings.max_retries, allowed_methods=frozenset({"POST"}),
            status_forcelist=RETRY_STATUSES, backoff_factor=backoff.factor,
            backoff_jitter=backoff.jitter, backoff_max=backoff.maximum,
            retry_after_max=self.settings.max_retry_after, raise_on_status=False,
            raise_on_redirect=False, account_id=self.account_id, pacer=self.pacer,
            stats=self.stats, budget_seconds=self.settings.retry_budget_seconds,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=1)
        self._settle_environment(http)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        return http

    def _settle_environment(self, http: requests.Session) -> None:
        """Take the proxy and CA bundle settings of the environment (HTTPS_PROXY, NO_PROXY,
        REQUESTS_CA_BUNDLE...) once, the way requests itself resolves them: every request
        goes to the same host, and requests would otherwise read the whole environment and
        ~/.netrc again for each one (netrc credentials have no business going to Airbnb)."""
        found = http.merge_environment_settings(self.settings.airbnb_base_url, {}, None, None,
                                                None)
        http.trust_env = False
        http.proxies.update(found["proxies"])
        http.verify = found["verify"]

    def _call(self, operation: Operation, body: dict[str, Any]) -> dict[str, Any]:
        if self._auth_failed:
            raise AuthExpired(self.account_id, "already refused in this run; nothing was sent")
        self.stats.count_request(operation.value)
        url = self.settings.airbnb_base_url + request_path(operation, self._hash(operation))
        problem = ""
        for attempt in range(1 + BROKEN_BODY_RETRIES):
            if attempt:
                self.stats.count_retry()
                pause = self._backoff.factor * attempt
                logger.warning("account %s: %s gave a broken answer (%s), attempt %d in %.1f s",
                               self.account_id, operation.value, problem, attempt + 1, pause)
                self.pacer.hold_back(self.account_id, pause)
            try:
                response = self._post(operation, url, body)
                self._keep_rotated_cookies()
                return self._answer(operation, response)
            except _BrokenBody as exc:
                problem = str(exc)
        raise AirbnbUnavailable(
            operation.value, f"{problem} ({1 + BROKEN_BODY_RETRIES} attempts)")

    def _keep_rotated_cookies(self) -> None:
        """Send from now on what Airbnb set, like a browser; the jar is emptied each time."""
        jar = self._http.cookies
        changed = self.session_changes.absorb(self._cookies, list(jar))
        jar.clear()
        if changed:
            for name in changed:
                register_secret(self._cookies[name])
            header = cookie_header(self._cookies)
            register_secret(header)
            self._http.headers["Cookie"] = header
            logger.info("account %s: Airbnb rotated %s; the new value is sent from now on",
                        self.account_id, ", ".join(sorted(changed)))

    def _post(self, operation: Operation, url: str, body: dict[str, Any]) -> requests.Response:
        self.pacer.wait_turn(self.account_id)
        ids = {"X-Airbnb-Client-Trace-Id": new_request_id(),
               "X-Client-Request-Id": new_request_id()}
        try:
            return self._http.post(url, json=body, headers=ids, allow_redirects=False,
                                   timeout=self.settings.request_timeout)
        except (requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as exc:
            raise _BrokenBody(f"the body broke off ({type(exc).__name__})") from None
        except requests.exceptions.RequestException as exc:
            # from None: requests' exception holds the prepared request, headers included.
            raise AirbnbUnavailable(
                operation.value, f"{type(exc).__name__} after retries: {redact(str(exc))}"
            ) from None

    def _answer(self, operation: Operation, response: requests.Response) -> dict[str, Any]:
        content = response.content
        self.stats.add_bytes(len(content))
        status = response.status_code
        logger.debug("account %s: %s -> HTTP %d, %d bytes", self.account_id, operation.value,
                     status, len(content))
        payload = _json_object(content)
        errors = _graphql_errors(payload)
        auth_required = any(_error_type(e) == "authentication_required" for e in errors)
        if status in (401, 403) and not auth_required and _mentions_api_key(content):
            raise ApiKeyRejected(operation.value, status)
        if status == 401 or auth_required:
            self._auth_failed = True
            self.stats.count_auth_error()
            raise AuthExpired(self.account_id, f"{operation.value} answered HTTP {status}")
        if any(_is_persisted_query_not_found(e) for e in errors):
            raise QueryHashRejected(operation.value, HASH_VARIABLES[operation])
        retries = getattr(response.raw, "retries", None)
        if status == 429:
            raise RateLimited(self.account_id, operation.value, getattr(retries, "waited", 0.0))
        if status >= 500:
            attempts = len(getattr(retries, "history", ())) + 1
            raise AirbnbUnavailable(operation.value, f"HTTP {status} after {attempts} attempts")
        if not 200 <= status < 300:
            raise AirbnbError(
                f"Airbnb refused {operation.value} for account {self.account_id} with HTTP "
                f"{status}{_first_message(errors)}; retrying will not help."
            )
        if payload is None:
            raise _BrokenBody(f"HTTP {status} with a body that is not a JSON object")
        if payload.get("data") is None:
            raise _BrokenBody(f"HTTP {status} without data{_first_message(errors)}")
        return payload


def _path(url: str | None) -> str:
    return urlparse(url or "").path or "the request"


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _graphql_errors(payload: dict[str, Any] | None) -> list[dict[str, Any]]:
    errors = (payload or {}).get("errors")
    if not isinstance(errors, list):
        return []
    return [error for error in errors if isinstance(error, dict)]


def _extensions(error: dict[str, Any]) -> dict[str, Any]:
    extensions = error.get("extensions")
    return extensions if isinstance(extensions, dict) else {}


def _error_type(error: dict[str, Any]) -> str | None:
    value = _extensions(error).get("errorType")
    return value if isinstance(value, str) else None


def _is_persisted_query_not_found(error: dict[str, Any]) -> bool:
    extensions = _extensions(error)
    markers = (error.get("message"), extensions.get("code"), extensions.get("errorType"),
               extensions.get("errorClass"))
    return any(isinstance(m, str) and m.replace("_", "").upper() == "PERSISTEDQUERYNOTFOUND"
               for m in markers)


def _mentions_api_key(content: bytes) -> bool:
    text = content[:2000].decode("utf-8", "replace").lower()
    return any(word in text for word in _API_KEY_WORDS)


def _first_message(errors: list[dict[str, Any]]) -> str:
    for error in errors:
        message = error.get("message")
        if isinstance(message, str) and message:
            return f" ({redact(message[:200])})"
    return ""
