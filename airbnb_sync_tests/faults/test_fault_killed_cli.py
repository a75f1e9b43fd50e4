"""Killing `dagster asset materialize` mid-sync leaves no worker talking to Airbnb.

An operator who stops the documented command (README: Syncing) with `kill` (SIGTERM) or
`kill -9` (SIGKILL) of its pid expects the sync to stop: nothing left running that still
sends requests on the account's session, holds its lease, or writes to the warehouse. The
test starts the command against the simulator, with latency on every answer so that the run
is still fetching metrics when it is killed, signals the CLI's pid only (not its process
group: `kill <pid>` does not reach the children), then checks that, within a few seconds,

(a) the command has exited, and no process it started (its descendants, found in /proc, and
    anything else left in the session it was started in) is alive, and
(b) the simulator's request count stops growing: unchanged over QUIET_SECONDS.

It runs with the deployment's retry settings (AIRBNB_SYNC_RUN_RETRIES and its delay at their
defaults, not the suite's 0), since they decide what Dagster does with an interrupted step.
/proc rather than psutil, which is not a dependency: the pids are recorded with their start
times while the command runs, as a child reparented to init keeps its session id, and a pid
reused by an unrelated process must not count.

Runs use the in-process executor (the only one of the definitions): every step runs in the
CLI's process; its only children are Dagster's compute-log `tail` processes and their
watchdogs (`watch_orphans.py`), which end when it dies. SIGKILL and SIGTERM both stop it.
(SIGTERM used to become a retry of the interrupted step, the run going on with the other
steps, while the assets carried a RetryPolicy: Dagster turns interrupts of such steps into
retries; see defs/retries.py. With Dagster's multiprocess executor, which the definitions
offered before, a step process outlived a SIGKILL of the CLI unless it asked the kernel to
die with its parent.)

SQLite is enough: what is checked is processes and requests, not the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fault_helpers import Work, materialize_command
from pipeline_helpers import HOSTS

from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.faults,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

SIGNALS = [pytest.param(signal.SIGTERM, id="sigterm"),
           pytest.param(signal.SIGKILL, id="sigkill")]
METRIC_OPERATIONS = (Operation.CHART.value, Operation.LIST_OF_METRICS.value)
# With latency, the metrics of 20 weeks take long: conversion_metrics alone sends 50 ChartQuery
# requests (20 s), visibility_metrics 200 ListOfMetricsQuery. The kill comes after a few, so
# a worker that survives it is still fetching when the checks run, EXIT + SETTLE + QUIET
# seconds later at most.
LATENCY_MS = 400
WEEKS = 20
REQUESTS_BEFORE_KILL = 3
WAIT_SECONDS = 120
EXIT_SECONDS = 15  # for the command to end once signalled
SETTLE_SECONDS = 5  # for its children to follow: watch_orphans.py looks once a second
QUIET_SECONDS = 3


@dataclass(frozen=True)
class Process:
    """One line of /proc: what identifies a process and tells whether it still runs."""

    pid: int
    ppid: int
    session: int
    state: str
    started: int  # clock ticks after boot: a reused pid has another
    command: str

    def __str__(self) -> str:
        return f"{self.pid} (parent {self.ppid}, state {self.state}): {self.command[:160]}"


def processes() -> dict[int, Process]:
    """Every process of the machine (the ones that vanish while being read are left out)."""
    found: dict[int, Process] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ... starttime is field 22; comm may hold spaces.
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry.name)] = Process(pid=int(entry.name), ppid=int(fields[1]),
                                         session=int(fields[3]), state=fields[0],
                                         started=int(fields[19]), command=command)
    return found


def descendants(root: int) -> dict[int, Process]:
    """The processes `root` started, and theirs, as they are now."""
    table = processes()
    found: dict[int, Process] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for process in table.values():
            if process.ppid == parent and process.pid not in found:
                found[process.pid] = process
                frontier.append(process.pid)
    return found


def survivors(known: dict[int, Process], session: int) -> dict[int, Process]:
    """The processes of `known` that still run (same pid, same start), and any process
    still in `session`; zombies are dead, only not reaped yet."""
    now = processes()
    alive = {pid: now[pid] for pid, process in known.items()
             if pid in now and now[pid].started == process.started}
    alive.update({pid: process for pid, process in now.items() if process.session == session})
    return {pid: process for pid, process in alive.items() if process.state != "Z"}


def requests(simulator: Simulator) -> int:
    return int(simulator.stats()["total_requests"])


def metric_requests(simulator: Simulator) -> int:
    by_operation = simulator.stats()["by_operation"]
    return sum(by_operation.get(name, 0) for name in METRIC_OPERATIONS)


@pytest.fixture
def cli_log(tmp_path: Path) -> Path:
    """The command's output, shown when it ends too early."""
    return tmp_path / "materialize.log"


@contextmanager
def materializing(work: Work, log: Path) -> Iterator[subprocess.Popen]:
    """The documented command, in a session of its own: the test can then find every process
    it started, even the ones reparented to init, and kill what is left when it ends."""
    with log.open("w") as output:
        run = subprocess.Popen(materialize_command(work),
                               stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield run
    finally:
        if run.poll() is None:
            run.kill()
        run.wait(timeout=30)
        for pid in survivors({}, run.pid):
            with suppress(ProcessLookupError):  # ended meanwhile
                os.kill(pid, signal.SIGKILL)


def wait_until_fetching_metrics(simulator: Simulator, run: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while metric_requests(simulator) < REQUESTS_BEFORE_KILL:
        if run.poll() is not None:
            pytest.fail(f"the run ended (exit {run.returncode}) before fetching metrics:\n"
                        f"{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no metric requests after {WAIT_SECONDS} s:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)


def progress(log: Path) -> str:
    """The run's step events from the command's output: what it did after the signal."""
    events = ("STEP_START", "STEP_UP_FOR_RETRY", "STEP_RESTARTED", "STEP_SUCCESS",
              "STEP_FAILURE", "RUN_SUCCESS", "RUN_FAILURE")
    return "\n".join(line[:200] for line in log.read_text().splitlines()
                     if any(f" - {event} - " in line for event in events))


@pytest.mark.parametrize("kill", SIGNALS)
def test_killing_the_cli_leaves_no_worker_talking_to_airbnb(
        pipeline_env: Simulator, today: date, kill: signal.Signals,
        cli_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIRBNB_SYNC_RUN_RETRIES", "AIRBNB_SYNC_RUN_RETRY_DELAY"):
        monkeypatch.delenv(name, raising=False)  # the deployment's defaults
    pipeline_env.configure(latency_ms=LATENCY_MS)
    work = Work.weeks_up_to(HOSTS, today, WEEKS)

    with materializing(work, cli_log) as run:
        wait_until_fetching_metrics(pipeline_env, run, cli_log)
        started = descendants(run.pid)
        os.kill(run.pid, kill)  # the CLI's pid only, as `kill [-9] <pid>` does
        with suppress(subprocess.TimeoutExpired):  # reported below, with what it goes on doing
            run.wait(timeout=EXIT_SECONDS)
        deadline = time.monotonic() + SETTLE_SECONDS
        while survivors(started, run.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = survivors(started, run.pid)
        still_running = run.poll() is None
        before = requests(pipeline_env)
        time.sleep(QUIET_SECONDS)
        sent = requests(pipeline_env) - before

        assert not still_running and not left and not sent, (
            f"after {kill.name} of the CLI (pid {run.pid}, "
            f"{'still running' if still_running else f'exit {run.returncode}'}), "
            f"{len(left)} of the processes it started still run, and {sent} requests reached "
            f"Airbnb {QUIET_SECONDS} s later:\n" + "\n".join(map(str, left.values()))
            + f"\nthe run's steps:\n{progress(cli_log)}")
        # Killed mid-sync: SIGKILL ends it at once; SIGTERM interrupts the run (exit 1).
        assert run.returncode == (-signal.SIGKILL if kill == signal.SIGKILL else 1), \
            cli_log.read_text()[-4000:]
