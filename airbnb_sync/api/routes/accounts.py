"""`/api/v1/accounts`: list (keyset pages), show, register from a paste, change, soft-delete.

Registration is `accounts.register`, the code `airbnb-sync accounts add --from-curl/--from-har`
runs: the same checks, refusals and storage.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from airbnb_sync.accounts.register import read_paste, register, session_input
from airbnb_sync.accounts.store import ACCOUNT_ID, AccountRecord
from airbnb_sync.api.auth import Authenticated, SeenAccount, WritableAccount, Writer
from airbnb_sync.api.context import ApiContext, api_context
from airbnb_sync.api.errors import store_errors
from airbnb_sync.api.models import (
    ACCOUNT_PROBLEMS,
    Account,
    AccountChanges,
    AccountPage,
    AuthStatus,
    NewAccount,
    account_item,
)
from airbnb_sync.api.partitions import register_partition
from airbnb_sync.api.problems import Problem

router = APIRouter(prefix="/accounts", tags=["accounts"], responses=ACCOUNT_PROBLEMS)
logger = logging.getLogger(__name__)
Context = Annotated[ApiContext, Depends(api_context)]
DEFAULT_PAGE = 50
MAX_PAGE = 200
_CURSOR_PREFIX = "after:"


def encode_cursor(account_id: str) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{account_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    account_id = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not ACCOUNT_ID.fullmatch(account_id):
        raise Problem(422, "cursor is invalid: pass the `next` value of the previous page "
                           "unchanged, or leave it out for the first page")
    return account_id


@router.get("", response_model=AccountPage, summary="List accounts, a page at a time")
def list_accounts(
        principal: Authenticated, context: Context,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="accounts per page")]
        = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(description="`next` of the previous page")] = None,
        auth_status: Annotated[AuthStatus | None, Query(description="only accounts whose "
                                                        "session is in this state")] = None,
) -> dict[str, object]:
    after = None if cursor is None else decode_cursor(cursor)
    records, more = context.store.page(after=after, limit=limit, auth_status=auth_status,
                                       account_id=principal.account_id)
    return {"items": [account_item(record) for record in records],
            "next": encode_cursor(records[-1].account_id) if more and records else None}


@router.get("/{account_id}", response_model=Account, summary="Show one account")
def get_account(account_id: SeenAccount, context: Context) -> dict[str, object]:
    with store_errors(account_id):
        return account_item(context.store.get(account_id))


@router.post("", response_model=Account, status_code=201,
             summary="Register an account from one paste (Copy as cURL, or a HAR)")
def add_account(principal: Writer, body: NewAccount, context: Context,
                response: Response) -> dict[str, object]:
    if principal.account_id is not None:
        raise Problem(403, f"token {principal.name} is limited to account "
                           f"{principal.account_id} and cannot register accounts: use a token "
                           "made without --account")
    with store_errors():
        session = session_input(read_paste(body.paste, context.settings))
        record = register(context.store, session, customer_id=body.customer_id,
                          label=body.label)
    logger.info("registered account %s from a paste", record.account_id)
    register_partition(context.settings, record.account_id)
    response.headers["Location"] = f"/api/v1/accounts/{record.account_id}"
    return account_item(record)


@router.patch("/{account_id}", response_model=Account,
              summary="Change an account's label, customer id or whether it is synced")
def change_account(account_id: WritableAccount, body: AccountChanges,
                   context: Context) -> dict[str, object]:
    given = body.model_fields_set
    if not given:
        raise Problem(422, "nothing to change: give at least one of label, customer_id, active")
    with store_errors(account_id):
        record: AccountRecord = context.store.get(account_id)
        details = {name: getattr(body, name) or "" for name in ("label", "customer_id")
                   if name in given}
        if details:
            record = context.store.update(account_id, **details)
        if body.active is True:
            record = context.store.activate(account_id)
            register_partition(context.settings, account_id)
        elif body.active is False:
            record = context.store.deactivate(account_id)
    logger.info("changed account %s (%s)", account_id, ", ".join(sorted(given)))
    return account_item(record)


@router.delete("/{account_id}", response_model=Account,
               summary="Soft-delete an account: it is no longer synced, its data is kept")
def delete_account(account_id: WritableAccount, context: Context) -> dict[str, object]:
    with store_errors(account_id):
        record = context.store.soft_delete(account_id)
    logger.info("soft-deleted account %s", account_id)
    return account_item(record)
