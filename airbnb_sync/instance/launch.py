"""Launching a sync of one account's weeks as the daily schedule would: `airbnb-sync sync`.

The run is the schedule's: the implicit asset job over the three synced assets, with the
range tags of `partitions.range_tags`, the account tag and a trigger tag. Where it runs:

- **Through the run queue** when a daemon serves the installation: its run queue daemon's
  heartbeat in the instance is at most DAEMON_SILENT_SECONDS old. Dagster's public way to
  put a run in an installation's queue is its GraphQL API, which the webserver serves
  (`AIRBNB_SYNC_DAGSTER_URL`; the Python API has no public way to give a run the code
  location's origin, without which the daemon could not launch it): the run then has
  the code location's origin, so the daemon can launch it, counts against the run slots and
  the per-account tag limit, and shows in the UI like a scheduled one.
- **In this process** otherwise (no daemon, or no webserver answering), with the same job,
  tags and run id handling, on the same instance; and always for a dry run, since
  `AIRBNB_SYNC_DRY_RUN` is a setting of the process that runs the steps.

Progress comes from the run's events in the instance's event log, the same in both cases.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import dagster as dg

from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.assets import SYNCED_ASSETS
from airbnb_sync.defs.partitions import range_tags
from airbnb_sync.defs.schedules import ACCOUNT_TAG, TRIGGER_TAG
from airbnb_sync.instance.access import add_account_partition
from airbnb_sync.sync.ranges import SyncRange

# Dagster's name of the daemon that launches queued runs (DagsterDaemon.daemon_type()).
RUN_QUEUE_DAEMON = "QUEUED_RUN_COORDINATOR"
DAEMON_SILENT_SECONDS = 120
CLI_TRIGGER = "cli"
POLL_SECONDS = 0.5
STEP_EVENTS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
               dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_UP_FOR_RETRY}
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}
# Dagster's own console lines would repeat every event; the progress lines say what matters.
# Its errors come with stack traces; the result line gives the root cause in one line.
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# "dagster._core.definitions.events.Failure: " before an error's own message.
DOTTED_CLASS = re.compile(r"^(?:[A-Za-z_][\w]*\.)+[A-Za-z_]\w*: ")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SyncOutcome:
    """How a launched sync ended: its run, where it ran, and the first failure if any."""

    run_id: str
    queued: bool
    status: dg.DagsterRunStatus
    failure: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == dg.DagsterRunStatus.SUCCESS


def sync_tags(sync_range: SyncRange, trigger: str = CLI_TRIGGER) -> dict[str, str]:
    """The schedule's tags for one account's range (defs/schedules.sync_request)."""
    return {**range_tags(sync_range.account_id, sync_range.first_week, sync_range.last_week),
            ACCOUNT_TAG: sync_range.account_id, TRIGGER_TAG: trigger}


def daemon_serves(instance: dg.DagsterInstance, now: float | None = None) -> bool:
    """True when the installation's run queue daemon sent a heartbeat lately.

    Dagster's own health check (`get_daemon_statuses`) tolerates 30 minutes of silence, so
    a daemon stopped 10 minutes ago would still count and the run would wait in a queue
    nobody serves; the daemon beats every 30 s, so 2 minutes of silence means it is gone."""
    if not isinstance(instance.run_coordinator, dg.QueuedRunCoordinator):
        return False
    heartbeat = instance.get_daemon_heartbeats().get(RUN_QUEUE_DAEMON)
    now = time.time() if now is None else now
    return heartbeat is not None and now - heartbeat.timestamp <= DAEMON_SILENT_SECONDS


def launch_sync(settings: Settings, sync_range: SyncRange, progress: Progress,
                dry_run: bool = False) -> SyncOutcome:
    """Run the sync of `sync_range` and wait for its end, reporting progress lines."""
    add_account_partition(settings.dagster_home, sync_range.account_id)  # as accounts add does
    tags = sync_tags(sync_range)
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        dry_run = dry_run or settings.dry_run
        if not dry_run and daemon_serves(instance):
            run_id = _submit(settings, tags, progress)
            if run_id is not None:
                progress(f"queued run {run_id}: the daemon launches it when a run slot is free "
                         f"({settings.dagster_url}/runs/{run_id})")
                return _watch(instance, run_id, progress, queued=True)
        elif dry_run:
            progress("dry run: it runs in this process (AIRBNB_SYNC_DRY_RUN applies to the "
                     "process that runs the steps)")
        return _execute_here(settings, instance, tags, dry_run, progress)


def _submit(settings: Settings, tags: dict[str, str], progress: Progress) -> str | None:
    """The run's id once it is in the queue, or None when no webserver takes it."""
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
    from requests import RequestException

    # The client takes a host (with port and path, which it puts before /graphql), not a URL.
    url = urlsplit(settings.dagster_url)
    client = DagsterGraphQLClient(url.netloc + url.path.rstrip("/"),
                                  use_https=url.scheme == "https")
    try:
        return client.submit_job_execution("__ASSET_JOB", tags=tags,
                                           asset_selection=list(SYNCED_ASSETS))
    except (DagsterGraphQLClientError, RequestException) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        progress(f"a daemon serves this installation, but the Dagster webserver at "
                 f"{settings.dagster_url} (AIRBNB_SYNC_DAGSTER_URL) did not take the run "
                 f"({first_line}): running it in this process instead")
        return None


def _execute_here(settings: Settings, instance: dg.DagsterInstance, tags: dict[str, str],
                  dry_run: bool, progress: Progress) -> SyncOutcome:
    from airbnb_sync.defs.definitions import build_definitions
    from airbnb_sync.warehouse.installation import with_installation_first_week

    run_settings = dataclasses.replace(with_installation_first_week(settings), dry_run=dry_run)
    job = build_definitions(run_settings).resolve_implicit_global_asset_job_def()
    run_id = str(uuid.uuid4())
    progress(f"running {run_id} in this process")
    stop = threading.Event()
    watcher = threading.Thread(target=_follow, args=(settings, run_id, progress, stop),
                               daemon=True)
    watcher.start()
    try:
        job.execute_in_process(
            instance=instance, run_id=run_id, tags=tags, raise_on_error=False,
            asset_selection=[dg.AssetKey(name) for name in SYNCED_ASSETS],
            run_config=QUIET_LOGGERS)
    finally:
        stop.set()
        watcher.join()
    return _outcome(instance, run_id, queued=False)


def _follow(settings: Settings, run_id: str, progress: Progress, stop: threading.Event) -> None:
    """Print the run's step events while it executes in this process (own instance: the
    executing one belongs to the main thread)."""
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        cursor: str | None = None
        while True:
            finishing = stop.wait(POLL_SECONDS)
            cursor = _report_steps(instance, run_id, cursor, progress)
            if finishing:
                return


def _watch(instance: dg.DagsterInstance, run_id: str, progress: Progress,
           queued: bool) -> SyncOutcome:
    """Follow a run this process does not execute; Ctrl-C stops following, not the run."""
    cursor: str | None = None
    shown: dg.DagsterRunStatus | None = None
    try:
        while True:
            run = instance.get_run_by_id(run_id)
            status = run.status if run else None
            cursor = _report_steps(instance, run_id, cursor, progress)
            if status in FINISHED:
                return _outcome(instance, run_id, queued)
            if status is not None and status != shown:
                shown = status
                progress(f"run {status.value.lower()}")
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        progress(f"stopped following run {run_id}; it goes on in Dagster")
        raise


def _report_steps(instance: dg.DagsterInstance, run_id: str, cursor: str | None,
                  progress: Progress) -> str | None:
    run = instance.get_run_by_id(run_id)
    if run is None or run.status == dg.DagsterRunStatus.NOT_STARTED:
        # Its events may not be stored yet: reading first would create the run's SQLite
        # event log here (and Dagster logs that through the root logger).
        return cursor
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor, of_type=STEP_EVENTS,
                                            limit=100)
        for record in page.records:
            event = record.event_log_entry.dagster_event
            if event is not None:
                progress(_describe_step(event))
        cursor = page.cursor if page.records else cursor
        if not page.has_more:
            return cursor


def _describe_step(event: dg.DagsterEvent) -> str:
    step = event.step_key or "?"
    if event.event_type == dg.DagsterEventType.STEP_START:
        return f"  {step}: started"
    if event.event_type == dg.DagsterEventType.STEP_SUCCESS:
        return f"  {step}: done"
    if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
        return f"  {step}: will be retried ({_first_line(event.message)})"
    return f"  {step}: failed ({_failure_message(event)})"


def _outcome(instance: dg.DagsterInstance, run_id: str, queued: bool) -> SyncOutcome:
    run = instance.get_run_by_id(run_id)
    status = run.status if run else dg.DagsterRunStatus.FAILURE
    failure = None
    if status != dg.DagsterRunStatus.SUCCESS:
        failures = instance.get_records_for_run(
            run_id, of_type={dg.DagsterEventType.STEP_FAILURE,
                             dg.DagsterEventType.RUN_FAILURE}).records
        events = [r.event_log_entry.dagster_event for r in failures
                  if r.event_log_entry.dagster_event is not None]
        failure = _failure_message(events[0]) if events else status.value.lower()
    return SyncOutcome(run_id, queued, status, failure)


def _failure_message(event: dg.DagsterEvent) -> str:
    """The root cause's first line: a step that gave up after retries says "Exceeded
    max_retries", its cause says what went wrong (our errors name account and fix)."""
    data = event.step_failure_data if event.is_step_failure else None
    error = data.error if data is not None else None
    if error is None:
        return _first_line(event.message)
    while error.cause is not None:
        error = error.cause
    return _first_line(DOTTED_CLASS.sub("", error.message.strip(), count=1))


def _first_line(text: str | None) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= 300 else line[:297] + "..."
