"""The invite page (`airbnb-sync api invite`): an owner opens a one-time link, reads how to
copy a request from their browser, pastes it, sees what is kept and what is not, and submits.

Public routes (the link is the credential, not a bearer token), under /api/v1/invite:
- GET  ``           the page; GET `invite.js`, `invite.css`, `favicon.svg` its files:
                    the Content-Security-Policy allows nothing inline and nothing from outside
- POST `status`     {token}: whom the link is for and until when (404 unknown, 410 used/expired)
- POST `preview`    {token, paste}: what the paste gives (names only), nothing stored
- POST `accept`     {token, paste}: store it, once

The paste goes through `accounts.register`, the code `accounts add/update --from-curl` and
`POST /api/v1/accounts` run: the same checks, refusals and storage.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from airbnb_sync.accounts.paste import PastedSession
from airbnb_sync.accounts.paste_summary import summarize
from airbnb_sync.accounts.register import (
    Overrides,
    SessionInput,
    read_paste,
    register,
    replace_session,
    session_input,
)
from airbnb_sync.accounts.store import AccountExists, AccountRecord, validate_account_input
from airbnb_sync.api.context import ApiContext, api_context
from airbnb_sync.api.errors import store_errors
from airbnb_sync.api.invites import Invite, InviteStore, InviteUnusable, invite_hash
from airbnb_sync.api.partitions import register_partition
from airbnb_sync.api.problems import Problem

router = APIRouter(prefix="/invite", tags=["invites"])
logger = logging.getLogger(__name__)
Context = Annotated[ApiContext, Depends(api_context)]
STATIC = Path(__file__).resolve().parent.parent / "static" / "invite"
# Nothing inline, nothing from elsewhere: the page's own script, style and requests only.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                           "form-action 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


class InviteToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=100, description="the part of the link after '#'")


class InvitePaste(InviteToken):
    paste: str = Field(description="the browser's Copy as cURL (bash) of a request to "
                                   "/api/v3/, or a HAR export")


class InviteStatus(BaseModel):
    account_id: str | None = Field(description="the account it refreshes; null: a new one")
    label: str | None
    expires_at: str


def _file(name: str, media_type: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type=media_type, headers=PAGE_HEADERS)


@router.get("", include_in_schema=False)
def page() -> FileResponse:
    return _file("index.html", "text/html; charset=utf-8")


@router.get("/invite.js", include_in_schema=False)
def script() -> FileResponse:
    return _file("invite.js", "text/javascript; charset=utf-8")


@router.get("/invite.css", include_in_schema=False)
def style() -> FileResponse:
    return _file("invite.css", "text/css; charset=utf-8")


@router.get("/favicon.svg", include_in_schema=False)
def icon() -> FileResponse:
    return _file("favicon.svg", "image/svg+xml")


def _invites(context: ApiContext) -> InviteStore:
    return InviteStore(context.store.engine)


def _open(context: ApiContext, token: str, response: Response) -> Invite:
    response.headers["Cache-Control"] = "no-store"
    retry = context.rate_limiter.acquire(f"invite:{invite_hash(token)}")
    if retry is not None:
        raise Problem(429, f"too many tries with this link: wait {retry} seconds",
                      headers={"Retry-After": str(retry)})
    try:
        return _invites(context).open(token)
    except InviteUnusable as exc:
        raise Problem(exc.status, str(exc)) from None


def _session(invite: Invite, pasted: PastedSession) -> SessionInput:
    """The paste checked as the CLI does; with an account, it must be its user's."""
    if invite.account_id is None:
        return session_input(pasted)
    return session_input(pasted, Overrides(account_id=invite.account_id),
                         require_headers=False)


@router.post("/status", response_model=InviteStatus,
             summary="Whom an invite link is for, and until when")
def status(body: InviteToken, context: Context, response: Response) -> dict[str, object]:
    invite = _open(context, body.token, response)
    return {"account_id": invite.account_id, "label": invite.label,
            "expires_at": invite.expires_at.isoformat()}


@router.post("/preview", summary="What a paste gives: what is kept, what is not (names only)")
def preview(body: InvitePaste, context: Context, response: Response) -> dict[str, object]:
    invite = _open(context, body.token, response)
    with store_errors(invite.account_id):
        pasted = read_paste(body.paste, context.settings)
        session = _session(invite, pasted)
        validate_account_input(session.account_id, cookies=session.cookies,
                               x_client_version=session.x_client_version or None,
                               user_agent=session.user_agent or None)
    return summarize(pasted).as_dict()


@router.post("/accept", summary="Store the paste's session, once")
def accept(body: InvitePaste, context: Context, response: Response) -> dict[str, object]:
    invite = _open(context, body.token, response)
    invites = _invites(context)
    with store_errors(invite.account_id):
        session = _session(invite, read_paste(body.paste, context.settings))
        validate_account_input(session.account_id, cookies=session.cookies,
                               x_client_version=session.x_client_version or None,
                               user_agent=session.user_agent or None)
        try:
            invites.claim(body.token)
        except InviteUnusable as exc:
            raise Problem(exc.status, str(exc)) from None
        try:
            record = _store(invite, session, context)
        except BaseException:
            invites.release(body.token)  # nothing was stored: the link still works
            raise
    invites.used_for(body.token, record.account_id)
    registered = invite.account_id is None
    if registered:
        register_partition(context.settings, record.account_id)
    logger.info("invite link used: %s account %s", "registered" if registered else "refreshed",
                record.account_id)
    return {"account_id": record.account_id, "label": record.label,
            "registered": registered, "auth_status": record.auth_status,
            "session_stored_at": record.session_stored_at.isoformat()
            if record.session_stored_at else None}


def _store(invite: Invite, session: SessionInput, context: ApiContext) -> AccountRecord:
    if invite.account_id is not None:
        return replace_session(context.store, session)
    try:
        return register(context.store, session, label=invite.label)
    except AccountExists:
        raise Problem(409, f"Airbnb user {session.account_id} is registered here already: ask "
                           "whoever sent this link for a link that refreshes that account"
                      ) from None
