"""The local profile's run launcher: Dagster's default one, plus a health check of the run's
process, so that run monitoring marks a killed run failed instead of leaving it STARTED.

Dagster's `DefaultRunLauncher` cannot say whether a run's worker lives, so its runs are
never checked; a run whose process was killed (`kill -9`, the OOM killer, a closed laptop
lid during `make ui`) stays STARTED forever, and so do its account's run slot and its
partitions' "in progress". Every run records the pid of its process in an engine event
("Started process for run", "Executing steps in process", "parent process"), whether the
daemon, the UI or `dagster asset materialize` started it. This launcher reads that pid and
looks at the process: gone, a zombie, or a newer process that reuses the pid all mean the
worker died. It is for one machine, as the local profile is (runs and daemon on one host).
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRun, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

# A process started this long after the run began cannot be the run's own (a reused pid).
START_SLACK_SECONDS = 5.0


class LocalRunLauncher(DefaultRunLauncher):
    """`DefaultRunLauncher` whose runs run monitoring can check (see the module docstring)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        pid = run_process_id(self._instance, run.run_id)
        if pid is None:  # not recorded yet: the worker is still starting
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no pid recorded yet")
        record = self._instance.get_run_record_by_id(run.run_id)
        started = record.start_time if record is not None else None
        if process_alive(pid, started):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"process {pid} is alive")
        return CheckRunHealthResult(WorkerStatus.FAILED,
                                    f"the run's process {pid} is gone (killed?)")


def run_process_id(instance: DagsterInstance, run_id: str) -> int | None:
    """The pid of the run's own process: the first engine event that names one."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT,
                                           limit=50).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.engine_event_data if event is not None else None
        pid = data.metadata.get("pid") if data is not None else None
        if pid is not None:
            return int(pid.value)
    return None


def process_alive(pid: int, not_after: float | None) -> bool:
    """Whether `pid` runs, is no zombie, and started before `not_after` (epoch seconds)."""
    stat = Path(f"/proc/{pid}/stat")
    if not Path("/proc/self/stat").exists():  # not Linux: existence is all we can tell
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    if fields[0] in ("Z", "X"):  # dead, not reaped yet
        return False
    if not_after is None:
        return True
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK") <= not_after + \
        START_SLACK_SECONDS


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0
