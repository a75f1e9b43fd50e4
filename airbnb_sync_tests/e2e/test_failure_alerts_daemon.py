"""Every failed run alerts, however it was launched: here, `dagster asset materialize` runs
from the command line (README: Syncing), watched by a real `dagster-daemon` that loads the
code location from workspace.yaml, with the alerts POSTed to a real HTTP receiver.

A command-line run is stored without a code-location origin. A run failure sensor that
watches its own code location only (`monitor_all_code_locations=False`) compares that
missing origin with its own location, finds no match, and skips the run: the daemon logs
"Sensor function returned an empty result" and nobody hears of the failure.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pipeline_helpers import HOSTS
from webhook_receiver import WebhookReceiver

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.defs.partitions import partition_key
from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"],
                                                        indirect=True)]

REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAEMON_READY_SECONDS = 120
# The failure sensor is evaluated every 30 s: an alert comes within about a minute.
ALERT_SECONDS = 90
RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ASSETS = "listings,conversion_metrics,visibility_metrics"


def free_port() -> int:
    """A loopback port nothing listens on: Airbnb unreachable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def daemon(receiver: WebhookReceiver, tmp_path: Path) -> Iterator[Path]:
    """`dagster-daemon run` on the repository's workspace; yields its log once the failure
    sensor has taken its first tick (which only sets its cursor)."""
    log = tmp_path / "daemon.log"
    workspace = ["-w", str(REPOSITORY / "workspace.yaml")]
    # The accounts' first syncs would run beside the test's runs: not what is tested here.
    subprocess.run([str(BIN / "dagster"), "sensor", "stop", "accounts_sensor", *workspace],
                   cwd=REPOSITORY, check=True, capture_output=True, timeout=120)
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", *workspace],
            cwd=REPOSITORY, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + DAEMON_READY_SECONDS
        while "Sensor sync_failure_alerts skipped" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the daemon did not tick the failure sensor:\n"
                            f"{log.read_text()[-4000:]}")
            time.sleep(0.5)
        yield log
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=60)


def materialize(select: str, partition_args: list[str], env: dict[str, str]) -> str:
    """Run the documented command; it must fail. Returns its run id."""
    done = subprocess.run([str(BIN / "dagster"), "asset", "materialize", "-m",
                           "airbnb_sync.definitions", "--select", select, *partition_args],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = done.stdout + done.stderr
    marker = "RUN_FAILURE"
    assert marker in output, output[-3000:]
    line = next(line for line in output.splitlines() if marker in line)
    found = RUN_ID.search(line)
    assert found, line
    return found.group(0)


def wait_for_alerts(receiver: WebhookReceiver, wanted: set[tuple[str, str]],
                    log: Path) -> None:
    deadline = time.monotonic() + ALERT_SECONDS
    while not wanted <= {(post["event"], post.get("run_id", "")) for post in receiver.posts}:
        if time.monotonic() > deadline:
            pytest.fail(f"alerts missing after {ALERT_SECONDS} s: wanted {wanted}, got "
                        f"{[(p['event'], p.get('run_id')) for p in receiver.posts]}\n"
                        f"{log.read_text()[-3000:]}")
        time.sleep(1)


def test_failed_command_line_runs_alert_once_each(pipeline_env: Simulator,
                                                  receiver: WebhookReceiver,
                                                  daemon: Path) -> None:
    expiring = HOSTS[1]
    week = week_start_of(datetime.now(UTC).date())
    first = week - timedelta(weeks=1)

    # 1. `--select listings` alone, Airbnb unreachable.
    unreachable = {**os.environ, "AIRBNB_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    listings_run = materialize("listings", ["--partition", partition_key(HOSTS[0], week)],
                               unreachable)
    # 2. All three assets, the session expired.
    pipeline_env.expire(expiring)
    expired_run = materialize(ASSETS, ["--partition-range",
                                       f"{partition_key(expiring, first)}..."
                                       f"{partition_key(expiring, week)}"], dict(os.environ))

    wait_for_alerts(receiver, {("run_failed", listings_run), ("run_failed", expired_run),
                               ("session_expired", expired_run)}, daemon)
    # Another evaluation of the sensor posts nothing again.
    time.sleep(35)
    counts = Counter((post["event"], post.get("run_id")) for post in receiver.posts)
    assert counts == {("run_failed", listings_run): 1, ("run_failed", expired_run): 1,
                      ("session_expired", expired_run): 1}, counts
    listings_alert = next(post for post in receiver.posts if post["run_id"] == listings_run
                          and post["event"] == "run_failed")
    assert listings_alert["accounts"] == [HOSTS[0]]
