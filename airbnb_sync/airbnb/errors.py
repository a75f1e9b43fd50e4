"""Typed errors for everything that can go wrong when talking to Airbnb.

Each message says what happened and what a host or operator can do about it. None of them
ever carries a cookie or an API key: they are built from account ids, operations and paths.
"""

from __future__ import annotations


class AirbnbError(Exception):
    """Base class; `retryable` says whether a new attempt can help (sync/report.py reads it)."""

    retryable = False


class AuthExpired(AirbnbError):
    """Airbnb answered `authentication_required`: the host's session cookie is no longer valid."""

    def __init__(self, account_id: str, detail: str = "") -> None:
        self.account_id = account_id
        suffix = f" ({detail})" if detail else ""
        super().__init__(
            f"Airbnb session of account {account_id} has expired or was rejected{suffix}. "
            "Log in to airbnb.com as this host, copy the Cookie header of a request to "
            "/api/v3/, and refresh it with: "
            f"airbnb-sync accounts update {account_id} --cookie-file -"
        )


class QueryHashRejected(AirbnbError):
    """Airbnb no longer knows the persisted-query hash (PERSISTED_QUERY_NOT_FOUND)."""

    def __init__(self, operation: str, variable: str) -> None:
        self.operation = operation
        super().__init__(
            f"Airbnb rejected the persisted-query hash of {operation} (PERSISTED_QUERY_NOT_FOUND): "
            f"Airbnb has rotated it. Find the new hash in the browser's network tab "
            f"(/api/v3/{operation}/<hash>) and set {variable}."
        )


class RateLimited(AirbnbError):
    """Airbnb kept answering 429 until the retry budget was spent."""

    retryable = True

    def __init__(self, account_id: str, operation: str, waited_seconds: float) -> None:
        self.account_id = account_id
        super().__init__(
            f"Airbnb kept rate-limiting account {account_id} on {operation} after "
            f"{waited_seconds:.0f} s of waiting; the retry budget is exhausted. Try again later, "
            "or raise AIRBNB_SYNC_MIN_REQUEST_INTERVAL to send fewer requests."
        )


class SchemaDrift(AirbnbError):
    """A response does not have the shape this version of airbnb-sync understands."""

    def __init__(self, operation: str, path: str, reason: str) -> None:
        self.operation = operation
        self.path = path
        super().__init__(
            f"{operation} response changed shape at {path}: {reason}. Nothing from it was "
            "stored; airbnb-sync needs an update for Airbnb's new format."
        )


class AirbnbUnavailable(AirbnbError):
    """Airbnb could not be reached or kept failing (5xx, timeouts, broken bodies)."""

    retryable = True

    def __init__(self, operation: str, reason: str) -> None:
        self.operation = operation
        super().__init__(f"Airbnb is unavailable for {operation}: {reason}. Try again later.")


class WeekOutOfRange(ValueError):
    """A requested week lies outside what Airbnb serves; refused before any request."""

    retryable = False


class ApiKeyRejected(AirbnbError):
    """Airbnb refused the web client's API key: a configuration problem, not a host's."""

    def __init__(self, operation: str, status: int) -> None:
        self.operation = operation
        self.status = status
        super().__init__(
            f"Airbnb refused the API key on {operation} (HTTP {status}). Set AIRBNB_API_KEY to "
            "the key of Airbnb's web client: the X-Airbnb-API-Key header of a request to "
            "/api/v3/ in the browser's network tab."
        )
