"""The account store's refusals as problems: the status a client can act upon, and one
sentence in the API's terms (the store's own messages name CLI commands)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airbnb_sync.accounts.store import (
    AccountExists,
    AccountNotFound,
    AccountUnavailable,
    CredentialsUnreadable,
    InvalidAccountInput,
)
from airbnb_sync.api.auth import not_found
from airbnb_sync.api.problems import Problem


@contextmanager
def store_errors(account_id: str | None = None) -> Iterator[None]:
    try:
        yield
    except AccountNotFound:
        raise not_found(account_id or "") from None
    except AccountExists as exc:
        raise Problem(409, _exists(str(exc), account_id)) from None
    except InvalidAccountInput as exc:
        raise Problem(422, str(exc)) from None
    except AccountUnavailable as exc:
        raise Problem(409, str(exc).replace(
            f"`airbnb-sync accounts activate {account_id}`",
            f'PATCH /api/v1/accounts/{account_id} with {{"active": true}}')) from None
    except CredentialsUnreadable:
        raise Problem(409, f"the stored session of account {account_id} cannot be decrypted "
                           "with the configured keys: send a fresh one to POST "
                           f"/api/v1/accounts/{account_id}/session") from None


def _exists(message: str, account_id: str | None) -> str:
    account = message.split()[1] if account_id is None else account_id
    if "soft-deleted" in message:
        return (f"account {account} already exists (soft-deleted): restore it with PATCH "
                f'/api/v1/accounts/{account} and {{"active": true}}, then send its session to '
                f"POST /api/v1/accounts/{account}/session")
    return (f"account {account} already exists: send a fresh session to POST "
            f"/api/v1/accounts/{account}/session instead")
