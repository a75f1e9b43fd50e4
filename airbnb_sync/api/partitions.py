"""Dagster's side of an account: its partition, added at once through Dagster's GraphQL API
(defs/graphql_runs.py) when the API registers or reactivates it, as `accounts add` does
through the instance, so its weeks can be synced without waiting for the accounts sensor.

Best effort: the account is stored either way, and the sensor adds the partition on its next
tick, so a failure here is logged, not answered.
"""

from __future__ import annotations

import logging

from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.graphql_runs import LaunchFailed, add_account_partition

logger = logging.getLogger(__name__)
# A registration must not hang on a Dagster that is down.
PARTITION_TIMEOUT_SECONDS = 5.0


def register_partition(settings: Settings, account_id: str) -> bool:
    try:
        add_account_partition(settings.dagster_url, account_id, PARTITION_TIMEOUT_SECONDS)
    except LaunchFailed as exc:
        logger.warning("account %s is stored, but its partition was not added now (%s); the "
                       "accounts sensor adds it on its next tick", account_id, exc)
        return False
    return True
