"""The JSON shapes of the API (request bodies refuse unknown fields), and how an account
record becomes an item: ids, state and times only, never a cookie, key or token."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from airbnb_sync.accounts.session_times import session_details
from airbnb_sync.accounts.store import AccountRecord

AuthStatus = Literal["ok", "expired", "unknown"]


class Account(BaseModel):
    account_id: str = Field(description="the host's Airbnb user id")
    label: str | None
    customer_id: str | None
    auth_status: AuthStatus = Field(description="of the stored session, as last checked")
    auth_checked_at: datetime | None
    active: bool = Field(description="synced by the schedule")
    deleted: bool = Field(description="soft-deleted: not synced, data kept")
    last_sync_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    session_stored_at: datetime | None = Field(description="when the session was stored")
    session_age: str = Field(description="since the session was stored, e.g. '3d 4h'")
    session_age_seconds: int | None
    session_rotated_at: datetime | None = Field(description="when Airbnb last rotated it")
    session_expires_at: datetime | None = Field(description="its known expiry, if any")
    session_expires_in: str = Field(description="until the known expiry, '-' when unknown")


class AccountPage(BaseModel):
    items: list[Account]
    next: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paste: str = Field(description="the browser's 'Copy as cURL (bash)' of a request to "
                                   "/api/v3/, or a HAR export of the Insights page")
    label: str | None = None
    customer_id: str | None = None


class AccountChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str | None = Field(default=None, description="null or '' clears it")
    customer_id: str | None = Field(default=None, description="a UUID; null or '' clears it")
    active: bool | None = Field(default=None,
                                description="true also restores a soft-deleted account")


class CompanionCookie(BaseModel):
    name: str = Field(max_length=256)
    value: str = Field(max_length=8192)
    domain: str = Field(max_length=256)
    expires: float | str | None = Field(
        default=None, description="seconds since the epoch (chrome.cookies' expirationDate) "
                                  "or an ISO 8601 time; null for a session cookie")


class SessionPost(BaseModel):
    """Exactly one of `paste` or `cookies` (+ `user_agent`)."""

    model_config = ConfigDict(extra="forbid")
    paste: str | None = None
    cookies: list[CompanionCookie] | None = Field(default=None, max_length=500)
    user_agent: str | None = None


class SessionState(BaseModel):
    account_id: str
    auth_status: AuthStatus
    session_stored_at: datetime | None
    session_age: str
    session_expires_at: datetime | None
    session_expires_in: str
    cookies_kept: list[str] = Field(description="names of the authentication cookies stored")
    cookies_ignored: int = Field(description="cookies not stored: other domains, or not "
                                             "needed to authenticate")


class CheckResult(BaseModel):
    account_id: str
    auth_status: AuthStatus
    auth_checked_at: datetime | None
    ok: bool
    detail: str


class SyncPost(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: date = Field(alias="from", description="first day (its week is synced)")
    to: date = Field(description="last day (its week is synced)")


class SyncLaunched(BaseModel):
    run_id: str
    account_id: str
    first_week: date
    last_week: date
    partition_range: str


class Health(BaseModel):
    status: Literal["ok"]
    version: str


def account_item(record: AccountRecord, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    times = session_details(record, now)
    age = (None if record.session_stored_at is None
           else int((now - record.session_stored_at).total_seconds()))
    return {
        "account_id": record.account_id, "label": record.label,
        "customer_id": record.customer_id, "auth_status": record.auth_status,
        "auth_checked_at": record.auth_checked_at, "active": record.is_active,
        "deleted": record.is_deleted, "last_sync_at": record.last_sync_at,
        "created_at": record.created_at, "updated_at": record.updated_at,
        "deleted_at": record.deleted_at, "session_stored_at": record.session_stored_at,
        "session_age": times["session_age"], "session_age_seconds": age,
        "session_rotated_at": record.session_rotated_at,
        "session_expires_at": record.session_expires_at,
        "session_expires_in": times["session_expires_in"],
    }


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error is answered (application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = Field(description="one sentence: what was wrong and what to do")
    request_id: str | None = Field(description="also in the API's log lines")


def _problem(description: str) -> dict[str, Any]:
    return {"model": ProblemDetails, "description": description,
            "content": {"application/problem+json": {}}}


# The errors every account route may answer, for the OpenAPI document.
ACCOUNT_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem("the body is not valid JSON"),
    401: _problem("no token, or an unknown or revoked one"),
    403: _problem("a read-only token on a write, or a scoped token registering an account"),
    404: _problem("no such account, or one the token may not see"),
    409: _problem("the account's state does not allow it (exists, deleted, expired, busy)"),
    413: _problem("the body is larger than 16 MiB"),
    422: _problem("a field or a paste that cannot be used"),
    429: _problem("too many session or sync posts by this token (see Retry-After)"),
}
