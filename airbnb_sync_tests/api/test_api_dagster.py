"""`POST /api/v1/accounts/{id}/sync` against a real dagster-webserver serving the repository's
workspace (a temporary DAGSTER_HOME with the local profile): 202 with the id of a run that
Dagster holds, for the synced assets, with the schedule's range tags and the account tag. A
Dagster that cannot be reached is a 502 problem."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from api_helpers import Api, assert_problem, free_port, serve_api
from paste_forms import chrome_bash

from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 300
HOST = "58765432"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _location_loaded(url: str) -> bool | None:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name " \
            "locationOrLoadError { __typename } } } } }"
    try:
        answer = requests.post(f"{url}/graphql", json={"query": query}, timeout=10).json()
    except (requests.RequestException, ValueError):
        return None
    entries = answer.get("data", {}).get("workspaceOrError", {}).get("locationEntries") or []
    loaded = [entry for entry in entries
              if (entry.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"]
    return True if loaded else None


@pytest.fixture
def dagster_api(dagster_home: Path, database_url: str, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch, api_settings: Settings) -> Iterator[Api]:
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    port = free_port()
    with Simulator(SimulatorConfig()) as simulator:
        monkeypatch.setenv("AIRBNB_BASE_URL", simulator.url)
        monkeypatch.setenv("AIRBNB_API_KEY", "sim-api-key")
        monkeypatch.setenv("AIRBNB_SYNC_DAGSTER_URL", f"http://127.0.0.1:{port}")
        settings = load_settings()
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("AIRBNB_", "DAGSTER_"))}
        env.update(DAGSTER_HOME=str(dagster_home), AIRBNB_SYNC_DATABASE_URL=database_url,
                   AIRBNB_SYNC_SECRET_KEY=settings.secret_keys[0],
                   AIRBNB_BASE_URL=simulator.url, AIRBNB_API_KEY="sim-api-key")
        log = tmp_path / "webserver.log"
        with log.open("wb") as output:
            webserver = subprocess.Popen(
                [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1",
                 "-p", str(port), "-w", str(REPO / "workspace.yaml")],
                env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _location_loaded(url):
                assert webserver.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(1)
            yield from serve_api(settings, database_url, real_launcher=True)
        finally:
            os.killpg(webserver.pid, signal.SIGTERM)  # its code server too (its group)
            try:
                webserver.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(webserver.pid, signal.SIGKILL)
                webserver.wait()


@sqlite_only
def test_a_sync_post_launches_a_run_that_dagster_holds(dagster_api: Api) -> None:
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient

    api = dagster_api
    token = api.token("launcher")
    registered = api.call("POST", "/api/v1/accounts", token,
                          json={"paste": chrome_bash(make_cookie(HOST))})
    assert registered.status_code == 201, registered.text
    today = datetime.now(UTC).date()
    response = api.call("POST", f"/api/v1/accounts/{HOST}/sync", token,
                        json={"from": str(today - timedelta(days=20)), "to": str(today)})
    assert response.status_code == 202, response.text
    body = response.json()
    first, last = body["first_week"], body["last_week"]
    assert body["partition_range"] == f"{HOST}|{first}...{HOST}|{last}"
    assert api.launched == []  # not the recorder: Dagster itself

    status = DagsterGraphQLClient("127.0.0.1", port_number=int(
        api.settings.dagster_url.rsplit(":", 1)[1])).get_run_status(body["run_id"])
    assert status in set(DagsterRunStatus)
    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(body["run_id"])
        assert run is not None
        assert run.tags["dagster/asset_partition_range_start"] == f"{HOST}|{first}"
        assert run.tags["dagster/asset_partition_range_end"] == f"{HOST}|{last}"
        assert run.tags["airbnb_sync/account"] == HOST
        assert run.tags["airbnb_sync/trigger"] == "api"
        assert {key.to_user_string() for key in run.asset_selection or ()} == {
            "listings", "conversion_metrics", "visibility_metrics"}
        assert instance.has_dynamic_partition("accounts", HOST)


@sqlite_only
def test_a_dagster_that_cannot_be_reached_is_a_502(api_settings: Settings,
                                                   database_url: str) -> None:
    for api in serve_api(api_settings, database_url, real_launcher=True):
        api.add_account(HOST)
        today = datetime.now(UTC).date()
        response = api.call("POST", f"/api/v1/accounts/{HOST}/sync", api.token("t"),
                            json={"from": str(today), "to": str(today)})
        assert_problem(response, 502, "cannot be reached", "AIRBNB_SYNC_DAGSTER_URL")
