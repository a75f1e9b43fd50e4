"""Launching a sync run through Dagster's GraphQL API, for the REST API: the run the daily
schedule would request for a range of one account's weeks (the synced assets of the code
location's asset job, the range tags and the account tag), submitted with `dagster-graphql`'s
public client to the webserver at AIRBNB_SYNC_DAGSTER_URL and queued there; nothing here
writes to Dagster's storage. The account's partition is added the same way first (GraphQL's
`addDynamicPartition`, idempotent), so a sync of an account registered a moment ago does not
wait for the accounts sensor.

Dagster is imported when a run is launched, not when the API starts: importing it takes
seconds that a request for an account list should not wait for.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlparse

import requests

# The job that holds every asset of a code location (what the UI launches a materialization
# of selected assets with), in the repository Dagster makes of a `Definitions`.
ASSET_JOB = "__ASSET_JOB"
REPOSITORY = "__repository__"
CODE_LOCATION = "airbnb_sync"
ACCOUNTS_PARTITIONS = "accounts"  # defs/partitions.ACCOUNTS, without importing Dagster
TRIGGER = "api"
TIMEOUT_SECONDS = 30

_ADD_PARTITION = """
mutation AddAccount($repository: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $repository, partitionsDefName: $name,
                      partitionKey: $key) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""


class LaunchFailed(Exception):
    """Dagster did not accept the run; the message says where and why (no secrets)."""


def _graphql_url(dagster_url: str) -> str:
    return f"{dagster_url.rstrip('/')}/graphql"


def _unreachable(dagster_url: str, what: str) -> LaunchFailed:
    return LaunchFailed(f"Dagster at {dagster_url} did not {what} (it cannot be reached): "
                        "check that dagster-webserver runs there (AIRBNB_SYNC_DAGSTER_URL)")


def add_account_partition(dagster_url: str, account_id: str,
                          timeout: float = TIMEOUT_SECONDS) -> None:
    """Add the account's partition through GraphQL; an existing one is left as it is."""
    variables = {"repository": {"repositoryLocationName": CODE_LOCATION,
                                "repositoryName": REPOSITORY},
                 "name": ACCOUNTS_PARTITIONS, "key": account_id}
    try:
        response = requests.post(_graphql_url(dagster_url), timeout=timeout,
                                 json={"query": _ADD_PARTITION, "variables": variables})
        response.raise_for_status()
        answer = response.json()["data"]["addDynamicPartition"]
    except requests.ConnectionError:
        raise _unreachable(dagster_url, "add the account's partition") from None
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise LaunchFailed(f"Dagster at {dagster_url} did not add the account's partition "
                           f"({type(exc).__name__})") from None
    kind = answer.get("__typename")
    if kind not in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"):
        reason = str(answer.get("message") or kind).strip().splitlines()[0][:300]
        raise LaunchFailed(f"Dagster at {dagster_url} did not add the account's partition "
                           f"({reason})")


def sync_run_tags(account_id: str, first_week: date, last_week: date) -> dict[str, str]:
    from airbnb_sync.defs.partitions import range_tags
    from airbnb_sync.defs.schedules import ACCOUNT_TAG, TRIGGER_TAG

    return {**range_tags(account_id, first_week, last_week), ACCOUNT_TAG: account_id,
            TRIGGER_TAG: TRIGGER}


def launch_sync_run(dagster_url: str, account_id: str, first_week: date,
                    last_week: date) -> str:
    """Add the account's partition, submit the run, and return its id."""
    add_account_partition(dagster_url, account_id)
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    from airbnb_sync.defs.assets import SYNCED_ASSETS

    url = urlparse(dagster_url)
    client = DagsterGraphQLClient(url.hostname or "127.0.0.1", port_number=url.port,
                                  use_https=url.scheme == "https", timeout=TIMEOUT_SECONDS,
                                  path_prefix=url.path.rstrip("/"))
    try:
        return client.submit_job_execution(
            ASSET_JOB, repository_location_name=CODE_LOCATION, repository_name=REPOSITORY,
            asset_selection=list(SYNCED_ASSETS),
            tags=sync_run_tags(account_id, first_week, last_week))
    except DagsterGraphQLClientError as exc:
        reason = ": ".join(str(arg).strip().splitlines()[0][:300] for arg in exc.args if arg)
        if "connecting to url" in reason.lower():
            raise _unreachable(dagster_url, "launch the run") from None
        raise LaunchFailed(f"Dagster at {dagster_url} did not launch the run ({reason})") \
            from None
