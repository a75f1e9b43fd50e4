"""Bearer-token authentication and what a token may do, as FastAPI dependencies.

- No token, an unknown or a revoked one: 401 (with `WWW-Authenticate: Bearer`).
- A token created with `--account ID` sees and changes that account only: any other account
  answers 404, exactly as an account that does not exist, and lists hold only its own.
- A read-only token: 403 on every write (POST, PATCH, DELETE).
The order is always 401, then 404, then 403, then the rate limit, then the body's checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from airbnb_sync.accounts.store import ACCOUNT_ID
from airbnb_sync.api.context import ApiContext, api_context
from airbnb_sync.api.problems import Problem

_bearer = HTTPBearer(auto_error=False, description="a token from `airbnb-sync api token create`")


@dataclass(frozen=True)
class Principal:
    """Who is asking: the token's name, its account (None: every account), read-only."""

    name: str
    account_id: str | None
    read_only: bool

    def sees(self, account_id: str) -> bool:
        return self.account_id is None or self.account_id == account_id


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="airbnb-sync"'})


async def authenticated(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        context: Annotated[ApiContext, Depends(api_context)], request: Request) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("this endpoint needs a token: send Authorization: Bearer <token>, "
                            "made with `airbnb-sync api token create`")
    record = await run_in_threadpool(context.tokens.authenticate, credentials.credentials)
    if record is None:
        raise _unauthorized("the token is unknown or revoked: ask the operator for a valid one "
                            "(`airbnb-sync api token create`)")
    principal = Principal(record.name, record.account_id, record.read_only)
    request.state.principal = principal
    return principal


def not_found(account_id: str) -> Problem:
    """The same answer for an account that does not exist and one the token may not see."""
    shown = account_id if ACCOUNT_ID.fullmatch(account_id) else "with that id"
    return Problem(404, f"there is no account {shown}: list the accounts with GET "
                        "/api/v1/accounts")


def visible_account(account_id: str, principal: Principal) -> str:
    if not ACCOUNT_ID.fullmatch(account_id) or not principal.sees(account_id):
        raise not_found(account_id)
    return account_id


def require_write(principal: Principal) -> None:
    if principal.read_only:
        raise Problem(403, f"token {principal.name} is read-only: changes need a token made "
                           "without --read-only")


Authenticated = Annotated[Principal, Depends(authenticated)]


def _seen_account(account_id: str, principal: Authenticated) -> str:
    return visible_account(account_id, principal)


def _writable_account(account_id: str, principal: Authenticated) -> str:
    visible_account(account_id, principal)
    require_write(principal)
    return account_id


def _writer(principal: Authenticated) -> Principal:
    require_write(principal)
    return principal


# Path parameter `account_id`, checked against the token.
SeenAccount = Annotated[str, Depends(_seen_account)]
WritableAccount = Annotated[str, Depends(_writable_account)]
Writer = Annotated[Principal, Depends(_writer)]


def rate_limited(principal: Authenticated,
                 context: Annotated[ApiContext, Depends(api_context)]) -> None:
    """Count a session or sync post of this token; 429 with Retry-After past the limit."""
    wait = context.rate_limiter.acquire(principal.name)
    if wait is not None:
        limiter = context.rate_limiter
        raise Problem(429, f"token {principal.name} sent more than {limiter.limit} session or "
                           f"sync posts in {limiter.window:.0f} seconds: try again in {wait} "
                           "seconds", headers={"Retry-After": str(wait)})
