"""`POST /api/v1/accounts/{id}/sync`: the same run the daily schedule launches for a range of
an account's weeks (the synced assets, the range tags of defs/partitions.range_tags, the
account tag), launched through Dagster's GraphQL API (defs/graphql_runs.py), answered 202
with the run's id at once: the run is queued and runs in Dagster, not in the API.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends

from airbnb_sync.api.auth import WritableAccount, rate_limited
from airbnb_sync.api.context import ApiContext, api_context
from airbnb_sync.api.errors import store_errors
from airbnb_sync.api.models import ACCOUNT_PROBLEMS, SyncLaunched, SyncPost
from airbnb_sync.api.problems import Problem
from airbnb_sync.defs.graphql_runs import LaunchFailed
from airbnb_sync.sync.ranges import AccountNotSyncable, SyncRequestError, resolve_sync_range

router = APIRouter(prefix="/accounts", tags=["sync"], responses=ACCOUNT_PROBLEMS)
logger = logging.getLogger(__name__)
Context = Annotated[ApiContext, Depends(api_context)]
RateLimited = Annotated[None, Depends(rate_limited)]


@router.post("/{account_id}/sync", response_model=SyncLaunched, status_code=202,
             summary="Launch a sync of the weeks from `from` to `to` in Dagster")
def post_sync(account_id: WritableAccount, _limit: RateLimited, body: SyncPost,
              context: Context) -> dict[str, object]:
    with store_errors(account_id):
        record = context.store.get(account_id)
    if record.is_deleted or not record.is_active:
        state = "deleted" if record.is_deleted else "inactive"
        raise Problem(409, f"account {account_id} is {state}: activate it with PATCH "
                           f'/api/v1/accounts/{account_id} and {{"active": true}} first')
    try:  # the same rules and sentences as `airbnb-sync sync --from --to`
        weeks = resolve_sync_range(context.settings, context.store, account_id,
                                   first_day=body.from_, last_day=body.to)
    except AccountNotSyncable as exc:  # its session expired
        raise Problem(409, _api_terms(str(exc), account_id)) from None
    except SyncRequestError as exc:
        raise Problem(422, _api_terms(str(exc), account_id)) from None
    first, last = weeks.first_week, weeks.last_week
    try:
        run_id = context.launch_sync(account_id, first, last)
    except LaunchFailed as exc:
        raise Problem(502, str(exc)) from None
    logger.info("launched run %s: account %s, weeks %s to %s", run_id, account_id, first, last)
    return {"run_id": run_id, "account_id": account_id, "first_week": first, "last_week": last,
            "partition_range": f"{account_id}|{first}...{account_id}|{last}"}


def _api_terms(message: str, account_id: str) -> str:
    """The CLI's sentence with the API's names: the fields `from` and `to`, and the session
    endpoint instead of `accounts update`."""
    fresh = f"`airbnb-sync accounts update {account_id} --from-curl -`"
    return (message.replace(fresh, f"POST /api/v1/accounts/{account_id}/session")
            .replace("--from", "from").replace("--to", "to"))
