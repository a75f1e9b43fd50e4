"""`/api/v1/accounts/{id}/session` (fresh credentials: a paste, or the browser companion's
cookies) and `/api/v1/accounts/{id}/check` (one cheap request to Airbnb, as `accounts check`).

A session post answers with the session's new state (times, and the names of the cookies
kept), never a value. The credentials must be the account's own user's.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from airbnb_sync.accounts.register import (
    BrowserCookie,
    Overrides,
    read_paste,
    replace_session,
    session_from_cookies,
    session_input,
)
from airbnb_sync.accounts.session_times import session_details
from airbnb_sync.accounts.store import AccountRecord
from airbnb_sync.airbnb.errors import AuthExpired
from airbnb_sync.api.auth import WritableAccount, rate_limited
from airbnb_sync.api.context import ApiContext, api_context
from airbnb_sync.api.errors import store_errors
from airbnb_sync.api.models import (
    ACCOUNT_PROBLEMS,
    CheckResult,
    CompanionCookie,
    SessionPost,
    SessionState,
)
from airbnb_sync.api.problems import Problem
from airbnb_sync.core.settings import SettingsError
from airbnb_sync.sync.session_check import CheckFailed, check_session

router = APIRouter(prefix="/accounts", tags=["sessions"], responses=ACCOUNT_PROBLEMS)
logger = logging.getLogger(__name__)
Context = Annotated[ApiContext, Depends(api_context)]
RateLimited = Annotated[None, Depends(rate_limited)]
# A check waits this long for a running sync of the account to release its lease; a client
# should not hang for the CLI's two minutes.
CHECK_LEASE_TIMEOUT = 10.0
CHECK_BUSY_RETRY_AFTER = 60


def _expiry(cookie: CompanionCookie, index: int) -> datetime | None:
    value = cookie.expires
    if value is None:
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), UTC)
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        raise Problem(422, f"cookies.{index}.expires is not a time: give seconds since the "
                           "epoch or an ISO 8601 time, or null") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def session_state(record: AccountRecord, kept: list[str], ignored: int) -> dict[str, object]:
    times = session_details(record, datetime.now(UTC))
    return {"account_id": record.account_id, "auth_status": record.auth_status,
            "session_stored_at": record.session_stored_at, "session_age": times["session_age"],
            "session_expires_at": record.session_expires_at,
            "session_expires_in": times["session_expires_in"], "cookies_kept": kept,
            "cookies_ignored": ignored}


@router.post("/{account_id}/session", response_model=SessionState,
             summary="Store a fresh session: a paste, or the browser companion's cookies")
def post_session(account_id: WritableAccount, _limit: RateLimited, body: SessionPost,
                 context: Context) -> dict[str, object]:
    if (body.paste is None) == (body.cookies is None):
        raise Problem(422, 'give either "paste" (a Copy as cURL or a HAR) or "cookies" with '
                           '"user_agent" (the browser companion\'s form), not both')
    with store_errors(account_id):
        context.store.get(account_id)  # an unknown account is 404 before its paste is read
        if body.paste is not None:
            pasted = read_paste(body.paste, context.settings)
            session = session_input(pasted, Overrides(account_id=account_id,
                                                      user_agent=body.user_agent),
                                    require_headers=False)
            ignored = 0  # a paste's other cookies are never read as cookies of the host
        else:
            cookies = [BrowserCookie(cookie.name, cookie.value, cookie.domain,
                                     _expiry(cookie, index))
                       for index, cookie in enumerate(body.cookies or [])]
            session, ignored = session_from_cookies(account_id, cookies, body.user_agent,
                                                    context.settings)
        record = replace_session(context.store, session)
    kept = list(session.cookies)
    logger.info("stored a fresh session for account %s (%d cookies kept, %d ignored)",
                account_id, len(kept), ignored)
    return session_state(record, kept, ignored)


@router.post("/{account_id}/check", response_model=CheckResult,
             summary="Test the stored session with one cheap request to Airbnb")
def post_check(account_id: WritableAccount, context: Context) -> dict[str, object]:
    with store_errors(account_id):
        context.store.get(account_id)
        try:
            check_session(context.store, context.settings, account_id, CHECK_LEASE_TIMEOUT)
            ok, detail = True, f"account {account_id}: session ok"
        except AuthExpired as exc:
            ok, detail = False, str(exc)
        except SettingsError as exc:  # no API key to send: the account needs a paste
            raise Problem(409, str(exc)) from None
        except CheckFailed as exc:
            if exc.busy:
                raise Problem(409, f"a sync of account {account_id} is talking to Airbnb right "
                                   "now: try the check again in a minute",
                              headers={"Retry-After": str(CHECK_BUSY_RETRY_AFTER)}) from None
            raise Problem(502, str(exc)) from None
        record = context.store.get(account_id)
    logger.info("checked account %s: %s", account_id, record.auth_status)
    return {"account_id": account_id, "auth_status": record.auth_status,
            "auth_checked_at": record.auth_checked_at, "ok": ok, "detail": detail}
