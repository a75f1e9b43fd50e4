"""`airbnb-sync sync`, the real console script over a real Dagster instance and the simulator:
a host syncs weeks without typing a partition key.

In this process when no daemon serves the installation; through the run queue (the daemon
launches it) when `dagster dev` runs on the same DAGSTER_HOME. Bad requests are one line and
exit 2, never Dagster's DagsterInvalidSubsetError; a failed run exits 1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from pipeline_helpers import HOSTS, dump, weeks_ending_now

from airbnb_sync.cli.demo import LOCAL_PROFILE
from airbnb_sync.defs.partitions import range_tags
from airbnb_sync.defs.schedules import ACCOUNT_TAG, TRIGGER_TAG
from airbnb_sync.instance.launch import daemon_serves
from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"],
                                                        indirect=True)]

BIN = Path(sys.executable).parent
ACCOUNT = HOSTS[0]


def sync(*args: str, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "airbnb-sync"), "sync", *args], capture_output=True,
                          text=True, env=env or dict(os.environ), timeout=timeout, check=False)


def runs() -> list:
    with DagsterInstance.get() as instance:
        return list(instance.get_runs(RunsFilter()))


def synced_weeks() -> set:
    return {row[2] for row in dump()["visibility_metrics"] if row[0] == ACCOUNT}


def test_sync_runs_the_schedules_run_here_and_prints_one_result_line(
        pipeline_env: Simulator) -> None:
    first, last = weeks_ending_now(2)
    result = sync(ACCOUNT, "--weeks", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"syncing account {ACCOUNT}, weeks {first}..{last} (2 weeks)"
    assert "  listings: done" in lines and "  visibility_metrics: done" in lines
    assert lines[-1].startswith(f"synced account {ACCOUNT}, weeks {first}..{last} (2 weeks) in ")
    assert lines[-1].endswith("succeeded")
    assert len(synced_weeks()) == 2
    [run] = runs()
    assert run.status == DagsterRunStatus.SUCCESS
    assert run.job_name == "__ASSET_JOB"  # the schedule's job, tags and assets
    assert {key.to_user_string() for key in run.asset_selection} == {
        "listings", "conversion_metrics", "visibility_metrics"}
    assert {**range_tags(ACCOUNT, first, last), ACCOUNT_TAG: ACCOUNT,
            TRIGGER_TAG: "cli"}.items() <= run.tags.items()


def test_dates_pick_their_weeks_and_a_dry_run_changes_nothing(pipeline_env: Simulator) -> None:
    first, last = weeks_ending_now(3)
    before = dump()
    result = sync(ACCOUNT, "--from", str(first + timedelta(days=3)), "--to", str(last),
                  "--dry-run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"weeks {first}..{last} (3 weeks) (dry run)" in result.stdout.splitlines()[-1]
    assert dump() == before
    assert pipeline_env.stats()["total_requests"] > 0  # it did fetch


def test_a_failed_run_exits_1_with_its_cause_in_one_line(pipeline_env: Simulator) -> None:
    # A port bound but never listened on refuses every connection: Airbnb is unreachable. It
    # stays bound during the sync, so no other process of the suite can take it meanwhile.
    with socket.socket() as unreachable:
        unreachable.bind(("127.0.0.1", 0))
        port = unreachable.getsockname()[1]
        env = {**os.environ, "AIRBNB_BASE_URL": f"http://127.0.0.1:{port}",
               "AIRBNB_SYNC_MAX_RETRIES": "0"}
        result = sync(ACCOUNT, "--weeks", "1", env=env)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"the sync of account {ACCOUNT}" in error and "failed" in error
    assert "AirbnbUnavailable" in error
    assert runs()[0].status == DagsterRunStatus.FAILURE


@pytest.mark.parametrize("args", [
    ("99999999", "--weeks", "1"),                        # not registered
    ("41234567\n\x1b[2J", "--weeks", "1"),               # not an id, with terminal escapes
    (ACCOUNT, "--weeks", "0"),
    (ACCOUNT, "--weeks", "60"),                          # beyond what Airbnb serves
    (ACCOUNT, "--from", "2020-01-05", "--to", "2020-02-02"),  # a week Airbnb no longer serves
    (ACCOUNT, "--from", "2026-12-01", "--to", "2026-11-01"),  # reversed
    (ACCOUNT, "--from", "1/12/2026", "--to", "2026-12-31"),   # not YYYY-MM-DD
    (ACCOUNT, "--from", "2026-12-01"),                   # no end
    (ACCOUNT, "--weeks", "2", "--from", "2026-12-01", "--to", "2026-12-31"),
    (ACCOUNT, "--weeks", "two"),
])
def test_bad_requests_are_one_line_and_exit_2(pipeline_env: Simulator,
                                              args: tuple[str, ...]) -> None:
    before = dump()
    result = sync(*args, timeout=120)
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-3000:]
    assert "\x1b" not in result.stderr
    assert "DagsterInvalidSubsetError" not in result.stderr
    assert dump() == before and runs() == []
    assert pipeline_env.stats()["total_requests"] == 0


@pytest.fixture
def served_by_daemon(pipeline_env: Simulator, dagster_home: Path,
                     tmp_path: Path) -> Iterator[str]:
    """`dagster dev` (webserver, daemon, code server) on this DAGSTER_HOME with the local
    profile (its run queue), as `make ui` runs it; yields the webserver's URL once the
    run queue daemon's heartbeat says it serves the installation."""
    (dagster_home / "dagster.yaml").write_text(LOCAL_PROFILE.read_text())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "dagster-dev.log"
    # The accounts' first syncs would be runs of their own: only the test's run is wanted.
    subprocess.run([str(BIN / "dagster"), "sensor", "stop", "accounts_sensor", "-m",
                    "airbnb_sync.definitions"], check=True, capture_output=True, timeout=180)
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BIN / "dg"), "dev", "-m", "airbnb_sync.definitions", "-h", "127.0.0.1",
             "-p", str(port)], cwd=dagster_home, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        with DagsterInstance.get() as instance:
            while True:
                if daemon_serves(instance) and answers(f"http://127.0.0.1:{port}/server_info"):
                    break
                assert process.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.timeout(1200)  # `dg dev` takes minutes to serve on a loaded 2-core machine
def test_with_a_daemon_serving_the_run_goes_through_the_run_queue(
        served_by_daemon: str) -> None:
    env = {**os.environ, "AIRBNB_SYNC_DAGSTER_URL": served_by_daemon}
    result = sync(ACCOUNT, "--weeks", "2", env=env, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "queued run " in result.stdout and "in this process" not in output
    assert "run started" in result.stdout
    assert result.stdout.strip().splitlines()[-1].endswith("succeeded")
    assert len(synced_weeks()) == 2
    sync_runs = [run for run in runs() if run.tags.get(TRIGGER_TAG) == "cli"]
    [run] = sync_runs
    assert run.status == DagsterRunStatus.SUCCESS and run.tags[ACCOUNT_TAG] == ACCOUNT
    assert run.job_name == "__ASSET_JOB"
    assert run.remote_job_origin is not None  # launched by the daemon from the code location
