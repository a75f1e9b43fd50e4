"""What the launchpad sets under `resources: run_settings: config:` changes that one run, for
the assets and for the IO manager alike, over the deployment's AIRBNB_SYNC_* values: a dry run
of a deployment that writes, step retries, and the pacing of requests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pipeline_helpers import HOSTS, table, weeks_ending_now

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import partition_key, range_tags
from airbnb_sync.simulator import Simulator

pytestmark = pytest.mark.slow
ACCOUNT = HOSTS[0]  # one listing: a handful of requests


def run_with(**run_settings: Any) -> dg.ExecuteInProcessResult:
    """One run of the account's current week, as the launchpad would launch it."""
    job = build_definitions(load_settings()).resolve_implicit_global_asset_job_def()
    run_config = {"resources": {"run_settings": {"config": run_settings}}} if run_settings else {}
    return job.execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False,
                                  tags=range_tags(ACCOUNT, *weeks_ending_now(1)),
                                  run_config=run_config)


def handled_outputs(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The IO manager's `dry_run` metadata of each asset the run handed it."""
    return {event.asset_key.path[-1]: event.materialization.metadata["dry_run"].value
            for event in result.get_asset_materialization_events()}


def step_retries(result: dg.ExecuteInProcessResult) -> int:
    return sum(1 for event in result.all_events
               if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dry_run_from_the_launchpad_writes_nothing_and_the_next_run_writes(
        pipeline_env: Simulator) -> None:
    dry = run_with(dry_run=True)

    assert dry.success
    assert pipeline_env.stats()["accounts"][ACCOUNT]["requests"] > 0  # it asked Airbnb
    assert handled_outputs(dry) == dict.fromkeys(
        ("listings", "conversion_metrics", "visibility_metrics"), True)
    assert all(table(name).empty for name in ("listings", "conversion_metrics",
                                              "visibility_metrics"))

    real = run_with()  # the deployment's own setting: write

    assert real.success
    assert set(handled_outputs(real).values()) == {False}
    assert set(table("listings")["account_id"]) == {ACCOUNT}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_step_retries_from_the_launchpad_win_over_the_environment(
        pipeline_env: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_RUN_RETRIES", "0")
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RETRIES", "0")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AIRBNB_BASE_URL", f"http://127.0.0.1:{port}")  # Airbnb unavailable

    assert step_retries(run_with()) == 0
    retried = run_with(run_retries=2, run_retry_delay=0)

    assert not retried.success
    assert step_retries(retried) == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pacing_from_the_launchpad_spaces_the_runs_requests(pipeline_env: Simulator) -> None:
    def gaps_since(start: float) -> list[float]:
        starts = [request["started"] for request in pipeline_env.requests(ACCOUNT)
                  if request["started"] >= start]
        return [later - earlier for earlier, later in pairwise(starts)]

    unpaced_from = datetime.now(UTC).timestamp()
    assert run_with().success  # AIRBNB_SYNC_MIN_REQUEST_INTERVAL=0 (pipeline_env)
    unpaced = gaps_since(unpaced_from)
    paced_from = datetime.now(UTC).timestamp()
    assert run_with(min_request_interval=0.4).success
    paced = gaps_since(paced_from)

    assert len(unpaced) >= 2 and min(unpaced) < 0.4
    assert len(paced) >= 2 and min(paced) >= 0.4 - 0.01


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dry_run_from_the_command_line_config_writes_nothing(pipeline_env: Simulator) -> None:
    """The code location loaded in a process of its own, as the daemon's runs load it, with
    the run's config as an operator passes it to `dagster asset materialize`."""
    first, last = weeks_ending_now(1)
    config = {"resources": {"run_settings": {"config": {"dry_run": True}}}}
    run = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize",
         "-m", "airbnb_sync.definitions",
         "--select", "listings,conversion_metrics,visibility_metrics",
         "--partition-range",
         f"{partition_key(ACCOUNT, first)}...{partition_key(ACCOUNT, last)}",
         "--config-json", json.dumps(config)],
        env=os.environ.copy(), capture_output=True, text=True, timeout=300)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "dry run: would write" in run.stdout + run.stderr
    assert pipeline_env.stats()["accounts"][ACCOUNT]["requests"] > 0
    assert all(table(name).empty for name in ("listings", "conversion_metrics",
                                              "visibility_metrics"))
