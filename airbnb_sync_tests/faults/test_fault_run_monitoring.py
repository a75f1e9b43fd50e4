"""A run whose process is killed is marked failed by run monitoring, with the repository's
local profile (dagster.yaml) in DAGSTER_HOME, as `make demo` and `make ui` install it.

A real `dagster-daemon` watches a `dagster asset materialize` run against the simulator
(with latency, so that the run is still fetching); the run's process is killed with
SIGKILL. Without a launcher that can check a run's process, Dagster never looks at such a
run and it stays STARTED forever. The test also checks that a live run is left alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus
from fault_helpers import Work, materialize_command
from pipeline_helpers import HOSTS

from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.faults,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POLL_SECONDS = 3  # the profile says 30; the test does not wait that long
FAILED_WITHIN = 60
LATENCY_MS = 400


@pytest.fixture
def local_profile(dagster_home: Path) -> Path:
    """The repository's dagster.yaml in DAGSTER_HOME, with a shorter monitoring interval."""
    profile = yaml.safe_load((REPOSITORY / "dagster.yaml").read_text())
    profile["run_monitoring"]["poll_interval_seconds"] = POLL_SECONDS
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(profile))
    return dagster_home


@pytest.fixture
def daemon(local_profile: Path, pipeline_env: Simulator, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "daemon.log"
    # The accounts' first syncs would be runs of their own: only the test's run is wanted.
    subprocess.run([str(BIN / "dagster"), "sensor", "stop", "accounts_sensor", "-w",
                    str(REPOSITORY / "workspace.yaml")],
                   cwd=REPOSITORY, check=True, capture_output=True, timeout=120)
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(REPOSITORY / "workspace.yaml")],
            cwd=REPOSITORY, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def the_run(instance: DagsterInstance) -> DagsterRun | None:
    runs = instance.get_runs()
    return runs[0] if runs else None


def test_a_killed_run_is_marked_failed(pipeline_env: Simulator, daemon: Path,
                                       tmp_path: Path) -> None:
    pipeline_env.configure(latency_ms=LATENCY_MS)
    work = Work.weeks_up_to(HOSTS, date.today(), 20)
    instance = DagsterInstance.get()
    log = tmp_path / "materialize.log"
    with log.open("w") as output:
        run = subprocess.Popen(materialize_command(work), stdout=output,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while (the_run(instance) is None
               or the_run(instance).status != DagsterRunStatus.STARTED
               or pipeline_env.stats()["total_requests"] < 3):
            assert run.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        run_id = the_run(instance).run_id
        # Monitoring looks at the live run and leaves it alone.
        deadline = time.monotonic() + FAILED_WITHIN
        while f"Checking run {run_id}" not in daemon.read_text():
            assert time.monotonic() < deadline, daemon.read_text()[-3000:]
            time.sleep(0.5)
        time.sleep(1)
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)

    deadline = time.monotonic() + FAILED_WITHIN
    while instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED:
        assert time.monotonic() < deadline, (
            f"the killed run is still STARTED after {FAILED_WITHIN} s:\n"
            f"{daemon.read_text()[-3000:]}")
        time.sleep(1)
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
