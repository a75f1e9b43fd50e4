"""The host API's behaviour: from one request to one answer, in the order Airbnb checks.

1. the operation in the path (404), 2. the API key (401 "Invalid API key"), 3. the account's
rate limit (429 + Retry-After), 4. the body (400), 5. the persisted-query hash (200 with
PERSISTED_QUERY_NOT_FOUND), 6. the session (authentication_required), 7. injected faults
(a failing listing's 503 first), 8. the listing (403 when it is not the host's), 9. the data.
No HTTP here: server.py moves bytes, this module decides what they say.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote

from airbnb_sync.airbnb.operations import METRIC_GROUPS, Operation
from airbnb_sync.simulator import data, responses
from airbnb_sync.simulator.config import SimulatorConfig
from airbnb_sync.simulator.data import SimListing
from airbnb_sync.simulator.state import SimulatorState

API_PATH = re.compile(r"^/api/v3/(?P<operation>[A-Za-z]+)/(?P<hash>[^/]*)$")
# Longer windows than any dashboard asks for are refused rather than served slowly.
MAX_WINDOW_DAYS = 366
_DIGITS = re.compile(r"^[0-9]{1,30}$")
_5XX = (500, 502, 503)


@dataclass
class Answer:
    """What to send back. `truncate` cuts the body short and drops the connection."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # Each becomes its own Set-Cookie header line (a dict holds one per name).
    set_cookies: list[str] = field(default_factory=list)
    truncate: bool = False
    fault: str | None = None
    # For the request log: what was asked and what a fault changed.
    listing_id: str | None = None
    days: tuple[date, date] | None = None
    detail: str | None = None

    def facts(self) -> dict[str, Any]:
        """The request log's optional fields this answer fills."""
        retry_after = self.headers.get("Retry-After")
        return {
            "listing_id": self.listing_id,
            "first_day": self.days[0].isoformat() if self.days else None,
            "last_day": self.days[1].isoformat() if self.days else None,
            "retry_after": int(retry_after) if retry_after is not None else None,
            "detail": self.detail,
        }


def json_answer(status: int, payload: Any, **headers: str) -> Answer:
    return Answer(status, json.dumps(payload).encode(), dict(headers))


class BadRequest(ValueError):
    """The body is not what Airbnb's web client sends."""


def operation_of(path: str) -> tuple[Operation | None, str]:
    match = API_PATH.match(path)
    if match is None:
        return None, ""
    try:
        return Operation(match["operation"]), match["hash"]
    except ValueError:
        return None, match["hash"]


# --- cookies -------------------------------------------------------------------------------

def parse_cookie_header(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            cookies[name.strip()] = value.strip()
    return cookies


def account_of(cookies: Mapping[str, str]) -> str | None:
    """The host's user id from `_user_attributes` (URL-encoded JSON with id_str or id)."""
    raw = cookies.get("_user_attributes")
    if not raw:
        return None
    try:
        attributes = json.loads(unquote(raw.strip('"')))
    except ValueError:
        return None
    if not isinstance(attributes, dict):
        return None
    value = attributes.get("id_str", attributes.get("id"))
    return str(value) if value is not None and _DIGITS.match(str(value)) else None


# --- the body ------------------------------------------------------------------------------

@dataclass(frozen=True)
class MetricRequest:
    listing_id: str
    metric: str
    relative_start: int
    relative_end: int


def _get(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise BadRequest(f"{where}.{key} is missing")
    return mapping[key]


def _offset(arguments: dict[str, Any], key: str) -> int:
    value = _get(arguments, key, "variables.request.arguments")
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"variables.request.arguments.{key} must be an integer")
    return value


def parse_body(operation: Operation, path_hash: str, raw: bytes) -> MetricRequest | None:
    """Check the body against the path; the metric request, or None for the listings query."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if body.get("operationName") != operation.value:
        raise BadRequest(f"operationName {body.get('operationName')!r} does not match the path "
                         f"({operation.value})")
    persisted = body.get("extensions", {}).get("persistedQuery") if isinstance(
        body.get("extensions"), dict) else None
    if persisted is not None and persisted.get("sha256Hash") not in (None, path_hash):
        raise BadRequest("extensions.persistedQuery.sha256Hash does not match the path")
    request = _get(_get(body, "variables", "$"), "request", "variables")
    arguments = _get(request, "arguments", "variables.request")
    if not isinstance(arguments, dict):
        raise BadRequest("variables.request.arguments must be an object")
    if operation is Operation.LISTINGS_SECTION:
        return None
    listing_ids = _get(_get(arguments, "filters", "variables.request.arguments"), "listingIds",
                       "variables.request.arguments.filters")
    if (not isinstance(listing_ids, list) or len(listing_ids) != 1
            or not isinstance(listing_ids[0], str) or not _DIGITS.match(listing_ids[0])):
        raise BadRequest("filters.listingIds must hold exactly one listing id (a digit string)")
    metrics = _get(arguments, "groupByValues", "variables.request.arguments")
    if not isinstance(metrics, list) or len(metrics) != 1 or metrics[0] not in METRIC_GROUPS:
        raise BadRequest(f"groupByValues must be one of {list(METRIC_GROUPS)}")
    start, end = _offset(arguments, "relativeDsStart"), _offset(arguments, "relativeDsEnd")
    if end < start:
        raise BadRequest("relativeDsEnd is before relativeDsStart")
    if end - start + 1 > MAX_WINDOW_DAYS:
        raise BadRequest(f"the window is longer than {MAX_WINDOW_DAYS} days")
    return MetricRequest(listing_ids[0], metrics[0], start, end)


# --- the API -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """One request as the API sees it."""

    operation: Operation
    path_hash: str
    api_key: str | None
    cookies: Mapping[str, str]
    body: bytes
    today: date


class HostApi:
    """Answers /api/v3/ requests from the shared state."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    def listings_of(self, config: SimulatorConfig, account_id: str) -> tuple[SimListing, ...]:
        fixed = config.accounts.get(account_id)
        if fixed is not None:
            return fixed
        return data.listings_for(account_id, config.listings_for.get(account_id,
                                                                     config.listings))

    def answer(self, call: Call, account_id: str | None, now: float) -> Answer:
        config = self.state.config
        if config.api_key is not None and call.api_key != config.api_key:
            return json_answer(401, responses.error("Invalid API key", "INVALID_API_KEY"))
        if account_id is not None:
            retry_after = self.state.throttle(account_id, now)
            if retry_after is not None:
                return json_answer(429, responses.error("Too many requests", "RATE_LIMITED"),
                                   **{"Retry-After": str(retry_after)})
        try:
            request = parse_body(call.operation, call.path_hash, call.body)
        except BadRequest as exc:
            return json_answer(400, responses.error(str(exc), "BAD_REQUEST"))
        if call.path_hash != config.hashes[call.operation.value]:
            return json_answer(200, responses.persisted_query_not_found())
        if account_id is None or not call.cookies.get("_aat") or self.state.session_expired(
                account_id):
            return json_answer(config.auth_error_status, responses.authentication_required())
        if config.rotate_every is None and not self.state.accepts_aat(account_id,
                                                                      call.cookies["_aat"]):
            answer = json_answer(config.auth_error_status, responses.authentication_required())
            answer.detail = "not the _aat of the latest sign-in"
            return answer
        set_cookie = None
        if config.rotate_every is not None:
            verdict = self.state.rotation.check(
                account_id, call.cookies["_aat"], every=config.rotate_every,
                grace=config.rotate_grace, seed=config.seed, max_age=config.cookie_max_age)
            if not verdict.accepted:
                answer = json_answer(config.auth_error_status,
                                     responses.authentication_required())
                answer.detail = "rotated _aat past its grace"
                return answer
            set_cookie = verdict.set_cookie
        answer = self._answer(call, config, account_id, request, now)
        if set_cookie is not None:
            answer.set_cookies.append(set_cookie)
        answer.set_cookies.extend(config.set_cookies)
        if request is not None:
            answer.listing_id = request.listing_id
        return answer

    def _answer(self, call: Call, config: SimulatorConfig, account_id: str,
                request: MetricRequest | None, now: float) -> Answer:
        if request is not None and request.listing_id in config.failing_listings:
            answer = json_answer(503, responses.error("Service unavailable",
                                                      "SERVICE_UNAVAILABLE"))
            answer.fault = "failing_listing"
            return answer
        fault = self.state.choose_fault(account_id)
        if fault is not None and fault != "drift":
            return self._fault(fault, account_id, config, now)
        answer = self._data(call, config, account_id, request)
        if fault == "drift" and answer.status == 200:
            payload = responses.drifted(json.loads(answer.body), call.operation)
            answer = Answer(200, json.dumps(payload).encode(), fault="drift", days=answer.days,
                            detail=responses.drifted_path(call.operation))
        return answer

    def _fault(self, fault: str, account_id: str, config: SimulatorConfig, now: float) -> Answer:
        if fault == "throttle":
            seconds = config.throttle_retry_after
            self.state.hold_back(account_id, now, seconds)
            answer = json_answer(429, responses.error("Too many requests", "RATE_LIMITED"),
                                 **{"Retry-After": str(seconds)})
        elif fault == "error":
            status = _5XX[self.state.fault_variant(account_id, len(_5XX))]
            answer = json_answer(status, responses.error("Internal server error",
                                                         "INTERNAL_SERVER_ERROR"))
        elif fault == "malformed":
            answer = Answer(200, b'{"data": {"porygon": {"__typename": "porygonQuery", '
                                 b'"getPerformanceComponents": <html>upstream timeout</html>')
        else:  # truncated
            answer = json_answer(200, responses.envelope({"__typename": "porygonPlaceholder"}))
            answer.truncate = True
        answer.fault = fault
        return answer

    def _data(self, call: Call, config: SimulatorConfig, account_id: str,
              request: MetricRequest | None) -> Answer:
        listings = self.listings_of(config, account_id)
        if request is None:
            return json_answer(200, responses.listings_section(account_id, listings))
        if request.listing_id not in {listing.id for listing in listings}:
            return json_answer(403, responses.error("You do not have access to this listing.",
                                                    "FORBIDDEN"))
        anchor = call.today - timedelta(days=config.anchor_lag_days - config.anchor_shift_days)
        start = anchor + timedelta(days=request.relative_start)
        end = anchor + timedelta(days=request.relative_end)
        horizon = timedelta(days=config.horizon_days)
        first, last = call.today - horizon, call.today + horizon
        if call.operation is Operation.CHART:
            days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
            shown = [day for day in days if first <= day <= last]
            payload = responses.chart_section(account_id, request.listing_id, request.metric,
                                              shown)
        else:
            served = start <= last and end >= first
            payload = responses.list_of_metrics_section(account_id, request.listing_id,
                                                        request.metric, start, end, served)
        answer = json_answer(200, payload)
        answer.days = (start, end)
        return answer
