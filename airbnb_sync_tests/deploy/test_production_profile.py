"""The production profile without Docker: the processes docker-compose.yml runs, as plain
processes on this machine, with Dagster's storage on PostgreSQL.

A user-code gRPC server, dagster-webserver and dagster-daemon share deploy/dagster/
production.yaml and deploy/dagster/workspace.yaml, exactly as the containers do. An account is
registered with the CLI, a range backfill is launched through the webserver's GraphQL API with
the request the UI sends from the asset graph, the daemon turns it into runs and the code server
runs them against the simulator; the warehouse must then hold what the simulator serves.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet
from database_servers import fresh_server_database
from deploy_helpers import (
    PRODUCTION_PROFILE,
    PRODUCTION_WORKSPACE,
    VENV_BIN,
    Background,
    background,
    clean_environment,
    describe,
    free_port,
    http_ok,
    wait_until,
)

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.defs.partitions import partition_key
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.simulator.data import daily_point, listings_for
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.tables import METRIC_TABLES

ACCOUNT = "58765432"  # the simulator gives this host 4 listings
API_KEY = "sim-api-key"
CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"
ASSETS = ("listings", "conversion_metrics", "visibility_metrics")
WEEKS = 2
STARTUP_SECONDS = 180
BACKFILL_SECONDS = 300
TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(900)]

LOCATIONS_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
        }
      }
    }
  }
}
"""

# The mutation the UI sends (LAUNCH_PARTITION_BACKFILL_MUTATION of dagster-webserver's app).
LAUNCH_BACKFILL = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PartitionKeysNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message stack }
  }
}
"""

BACKFILL_QUERY = """
query Backfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      status
      numPartitions
      error { message }
      runs(limit: 50) { runId status tags { key value } }
    }
    ... on PythonError { message }
  }
}
"""

UNFINISHED_RUNS_QUERY = """
query {
  runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED, CANCELING]}) {
    ... on Runs { results { runId status } }
  }
}
"""


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(f"{url}/graphql", json={"query": query, "variables": variables or {}},
                             timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def psycopg2_free(url: str) -> str:
    """Dagster's storage takes a plain postgresql:// URL (it picks its own driver)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """(Dagster's storage, the warehouse): two brand-new databases on the PostgreSQL server."""
    with fresh_server_database("postgres") as dagster_storage, \
            fresh_server_database("postgres") as warehouse:
        yield dagster_storage, warehouse


def location_loaded(url: str) -> bool | None:
    try:
        data = graphql(url, LOCATIONS_QUERY)
    except (requests.RequestException, AssertionError):
        return None
    entries = data["workspaceOrError"].get("locationEntries") or []
    for entry in entries:
        status = entry["locationOrLoadError"] or {}
        if status.get("__typename") == "PythonError":
            pytest.fail(f"code location {entry['name']} failed to load: {status['message']}")
        if entry["loadStatus"] == "LOADED" and status.get("__typename") == "RepositoryLocation":
            return True
    return None


def grpc_healthy(port: int, env: Mapping[str, str]) -> bool | None:
    """What the image's HEALTHCHECK runs: `dagster api grpc-health-check`."""
    check = subprocess.run([str(VENV_BIN / "dagster"), "api", "grpc-health-check", "-p", str(port)],
                           env=dict(env), capture_output=True, timeout=60)
    return True if check.returncode == 0 else None


def backfill_finished(url: str, backfill_id: str) -> dict[str, Any] | None:
    backfill = graphql(url, BACKFILL_QUERY, {"backfillId": backfill_id})[
        "partitionBackfillOrError"]
    assert backfill["__typename"] == "PartitionBackfill", backfill
    runs = backfill["runs"]
    if backfill["status"] == "REQUESTED" or not runs:
        return None
    if any(run["status"] not in TERMINAL_RUN_STATUSES for run in runs):
        return None
    return backfill


def no_unfinished_runs(url: str) -> bool | None:
    return None if graphql(url, UNFINISHED_RUNS_QUERY)["runsOrError"]["results"] else True


def test_range_backfill_from_the_ui_runs_on_the_production_profile(databases, tmp_path: Path):
    dagster_storage, warehouse = databases
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PRODUCTION_PROFILE, home / "dagster.yaml")
    code_port, web_port = free_port(), free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    last = week_start_of(datetime.now(UTC).date()) - timedelta(weeks=1)
    weeks = [last - timedelta(weeks=n) for n in reversed(range(WEEKS))]

    with Simulator(SimulatorConfig(api_key=API_KEY)) as simulator:
        env = clean_environment(
            DAGSTER_HOME=str(home),
            DAGSTER_PG_URL=psycopg2_free(dagster_storage),
            DAGSTER_CODE_SERVER_HOST="127.0.0.1",
            DAGSTER_CODE_SERVER_PORT=str(code_port),
            AIRBNB_SYNC_DATABASE_URL=warehouse,
            AIRBNB_SYNC_SECRET_KEY=Fernet.generate_key().decode(),
            AIRBNB_BASE_URL=simulator.url,
            AIRBNB_API_KEY=API_KEY,
            AIRBNB_SYNC_MIN_REQUEST_INTERVAL="0",
            # The accounts sensor's first sync of the new account stays small.
            AIRBNB_SYNC_FIRST_SYNC_WEEKS="0",
            AIRBNB_SYNC_LOOKAHEAD_WEEKS="1",
        )
        cookie = tmp_path / "cookie.txt"
        cookie.write_text(make_cookie(ACCOUNT))
        added = subprocess.run(
            [str(VENV_BIN / "airbnb-sync"), "accounts", "add", "--account-id", ACCOUNT,
             "--cookie-file", str(cookie), "--x-client-version", CLIENT_VERSION,
             "--user-agent", USER_AGENT, "--label", "production profile"],
            env=env, capture_output=True, text=True, timeout=120)
        cookie.unlink()
        assert added.returncode == 0, added.stderr

        logs = tmp_path / "logs"
        logs.mkdir()
        workspace = str(PRODUCTION_WORKSPACE)
        with ExitStack() as stack:
            # The order of docker-compose.yml's depends_on: the code server is healthy first.
            code = stack.enter_context(background(
                "user-code", [str(VENV_BIN / "dagster"), "code-server", "start", "-h",
                              "127.0.0.1", "-p", str(code_port), "-m", "airbnb_sync.definitions"],
                env, logs))
            wait_until(lambda: grpc_healthy(code_port, env), "the code server", STARTUP_SECONDS,
                       [code])
            web = stack.enter_context(background(
                "webserver", [str(VENV_BIN / "dagster-webserver"), "-h", "127.0.0.1",
                              "-p", str(web_port), "-w", workspace], env, logs))
            daemon = stack.enter_context(background(
                "daemon", [str(VENV_BIN / "dagster-daemon"), "run", "-w", workspace], env, logs))
            processes: list[Background] = [code, web, daemon]
            wait_until(lambda: http_ok(f"{web_url}/server_info"), "the webserver",
                       STARTUP_SECONDS, processes)
            wait_until(lambda: location_loaded(web_url), "the code location",
                       STARTUP_SECONDS, processes)

            started = time.monotonic()
            launched = graphql(web_url, LAUNCH_BACKFILL, {"backfillParams": {
                "tags": [{"key": "dagster/from_ui", "value": "true"}],
                "assetSelection": [{"path": [asset]} for asset in ASSETS],
                "partitionNames": [partition_key(ACCOUNT, week) for week in weeks],
                "fromFailure": False,
            }})["launchPartitionBackfill"]
            assert launched["__typename"] == "LaunchBackfillSuccess", launched
            backfill = wait_until(lambda: backfill_finished(web_url, launched["backfillId"]),
                                  "the backfill's runs", BACKFILL_SECONDS, processes, interval=2)
            elapsed = time.monotonic() - started
            # Let the accounts sensor's first sync (if it ran) finish before stopping.
            wait_until(lambda: no_unfinished_runs(web_url), "every run to finish",
                       BACKFILL_SECONDS, processes, interval=2)

            runs = backfill["runs"]
            assert [run["status"] for run in runs] == ["SUCCESS"], describe(processes)
            # One run for the account's whole range (README: How it works), not one per week.
            tags = {tag["key"]: tag["value"] for tag in runs[0]["tags"]}
            assert tags["dagster/asset_partition_range_start"] == partition_key(ACCOUNT, weeks[0])
            assert tags["dagster/asset_partition_range_end"] == partition_key(ACCOUNT, weeks[-1])
            assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, backfill
            print(f"backfill of {WEEKS} weeks x {len(listings_for(ACCOUNT))} listings: "
                  f"{elapsed:.1f} s from launch to success")

    assert_warehouse_holds(warehouse, weeks)


def assert_warehouse_holds(warehouse: str, weeks: list[date]) -> None:
    """The account's rows for the backfilled weeks are exactly what the simulator serves."""
    served = {listing.id for listing in listings_for(ACCOUNT)}
    engine = create_warehouse_engine(warehouse)
    rows: dict[str, list[Any]] = {}
    with engine.connect() as connection:
        for name in ASSETS:
            table = METRIC_TABLES[name]
            rows[name] = connection.execute(
                sa.select(table).where(table.c.account_id == ACCOUNT,
                                       table.c.week_start.in_(weeks))).all()
    engine.dispose()
    assert {row.listing_id for row in rows["listings"]} == served
    assert len(rows["listings"]) == len(served) * len(weeks)
    assert len(rows["visibility_metrics"]) == len(served) * len(weeks)
    assert len(rows["conversion_metrics"]) == len(served) * len(weeks) * 7
    for row in rows["conversion_metrics"]:
        your, similar = daily_point(ACCOUNT, row.listing_id, row.metric_date, "p3_impressions")
        assert (row.p3_impressions_your, row.p3_impressions_similar) == (your, similar)
