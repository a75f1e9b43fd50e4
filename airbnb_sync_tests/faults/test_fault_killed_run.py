"""`dagster asset materialize` is killed with SIGKILL in the middle of its writes, then the
same range is re-run: the warehouse ends up exactly as an undisturbed run leaves it (0 rows
lost, 0 duplicated, 0 changed), on PostgreSQL and TimescaleDB.

The kill lands at a known point without touching the code under test: the test holds SHARE
locks on the two metric tables, so the run's writes to them (a COPY into the table, or an
INSERT ... ON CONFLICT from a staged copy) queue behind them, which pg_stat_activity shows.
The run's whole process group is then killed, as by an OOM or a node loss.

The default (in-process) executor, the only one of the definitions, runs the steps one after
the other: `listings` is committed (and recorded materialized), the first metric step has
fetched everything and its IO manager's upsert of the first account is queued (its
transaction open, the only open transaction of the run), and the other metric step has not
started: Airbnb has not been asked for its data. Observed with Dagster 1.13:
conversion_metrics goes first, its COPY for account 41234567 waits, and no
ListOfMetricsQuery has been sent. Both tables are locked, so the test does not depend on the
order in which the executor picks the metric steps; it checks the shape that order gives.

A second test kills the run right after a batch of materializations reached the run's own
event log (the `listings` step's, one per partition): Dagster's index (what the UI's partition
status and the asset catalog read) must agree with the run's log. Dagster writes an event to
the run's log and then to the index, each committed on its own, so the one event being
written at the kill may be missing from the index; a whole batch never is. (The project's
former local storage wrote a batch to the run's log in one transaction and to the index in
another: killed between them, the index lacked the whole batch.)
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance
from fault_helpers import (
    ASSETS,
    Reference,
    Work,
    compare,
    failure_text,
    materialize_command,
    materialized,
    partially_materialized,
    run_work,
    snapshot,
)
from pipeline_helpers import HOSTS
from sqlalchemy.pool import NullPool

from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator
from airbnb_sync.warehouse.tables import PG_SCHEMA

pytestmark = [pytest.mark.faults, pytest.mark.postgres,
              pytest.mark.parametrize("database_url", ["postgres", "timescaledb"],
                                      indirect=True)]

BLOCKED = ("conversion_metrics", "visibility_metrics")
# The request each metric table is fetched with: tells whether its step has started.
OPERATION = {"conversion_metrics": Operation.CHART.value,
             "visibility_metrics": Operation.LIST_OF_METRICS.value}
# Metric upserts queued when the run is killed: the steps run one after the other.
QUEUED = 1
WAIT_SECONDS = 120
APPLICATION_NAME = "airbnb-sync-killed-run"


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def run_sessions(engine: sa.Engine) -> dict[int, tuple[str, str]]:
    """pid -> (state, current query) of the killed run's sessions (named by PGAPPNAME)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT pid, coalesce(state, ''), coalesce(query, '') FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :name"),
            {"name": APPLICATION_NAME})
        return {pid: (state, query) for pid, state, query in rows.all()}


def open_transactions(engine: sa.Engine) -> list[str]:
    """The current query of every session of the run that is inside a transaction."""
    with engine.connect() as connection:
        return list(connection.execute(sa.text(
            "SELECT coalesce(query, '') FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :name "
            "AND xact_start IS NOT NULL"), {"name": APPLICATION_NAME}).scalars())


def upsert_of(query: str) -> str | None:
    """The metric table a run's query writes to (COPY or INSERT), if any."""
    for name in BLOCKED:
        if re.match(rf'(COPY|INSERT INTO) "{PG_SCHEMA}"."{name}"', query):
            return name
    return None


def waiting_upserts(engine: sa.Engine) -> list[str]:
    """The tables whose upsert is queued behind a lock right now (one entry per session)."""
    with engine.connect() as connection:
        queries = connection.execute(sa.text(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = :name AND wait_event_type = 'Lock'"),
            {"name": APPLICATION_NAME}).scalars().all()
    return sorted(name for name in map(upsert_of, queries) if name is not None)


@contextmanager
def tables_locked(url: str) -> Iterator[None]:
    """SHARE locks: reads go on, writes to the tables wait until the block ends."""
    blocker = sa.create_engine(url, poolclass=NullPool)
    with blocker.connect() as connection:
        names = ", ".join(f"{PG_SCHEMA}.{name}" for name in BLOCKED)
        connection.execute(sa.text(f"LOCK TABLE {names} IN SHARE MODE"))
        try:
            yield
        finally:
            connection.rollback()


def wait_for(condition: Callable[[], bool], what: str, run: subprocess.Popen,
             log: Path, every: float = 0.1) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if run.poll() is not None:
            pytest.fail(f"the run ended (exit {run.returncode}) before {what}:\n"
                        f"{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {WAIT_SECONDS} s:\n{log.read_text()[-4000:]}")
        time.sleep(every)


def test_a_run_killed_mid_write_and_rerun_stores_exactly_the_reference(
        pipeline_env: Simulator, today: date, reference: Callable[[Work], Reference],
        database_url: str, tmp_path: Path) -> None:
    work = Work.weeks_up_to(HOSTS, today, 2)
    expected = reference(work)
    watcher = engine_for(database_url)
    log = tmp_path / "killed_run.log"
    queued = QUEUED

    with tables_locked(database_url), log.open("w") as output:
        # libpq names every session of the run, so that the test can tell them apart.
        env = {**os.environ, "PGAPPNAME": APPLICATION_NAME}
        run = subprocess.Popen(materialize_command(work), env=env,
                               stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: len(waiting_upserts(watcher)) >= queued,
                     f"{queued} metric upsert(s) waiting", run, log)
            # Still the same state: nothing else can move while the writes wait.
            waiting, in_transaction = waiting_upserts(watcher), open_transactions(watcher)
            requested = pipeline_env.stats()["by_operation"]
            mid_write = snapshot()
            os.killpg(run.pid, signal.SIGKILL)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=30)
    # The killed run's sessions end once their (uncommitted) transactions are rolled back.
    deadline = time.monotonic() + 60
    while run_sessions(watcher) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run_sessions(watcher) == {}
    assert run.returncode == -signal.SIGKILL

    # At the kill: the queued upserts were the run's only open transactions, one account's
    # each (the IO manager writes an account per transaction; the first one waits).
    assert len(waiting) == queued and len(set(waiting)) == queued, waiting
    assert sorted(filter(None, map(upsert_of, in_transaction))) == waiting, in_transaction
    assert len(in_transaction) == queued, in_transaction
    # A metric step not writing has not started: Airbnb was not asked for its table.
    assert {name for name in BLOCKED if requested.get(OPERATION[name])} == set(waiting), \
        requested
    # Killed in the middle: listings committed, the metrics not at all.
    before = compare(expected.snapshot, mid_write)
    assert before.nothing_changed_or_duplicated and set(before.lost) == set(BLOCKED), before
    after = compare(expected.snapshot, snapshot())
    assert after.nothing_changed_or_duplicated and after.lost == before.lost, str(after)
    assert all(sum(rows.values()) == 0 for name, rows in snapshot().items() if name in BLOCKED)
    # Dagster recorded listings (its step had ended), and no metric partition.
    assert materialized() == {"listings": work.partition_keys,
                              **{name: set() for name in BLOCKED}}
    assert partially_materialized(expected.snapshot) == {asset: [] for asset in ASSETS}

    rerun = run_work(work)

    assert rerun.success, failure_text(rerun)
    comparison = compare(expected.snapshot, snapshot())
    assert comparison.identical, str(comparison)
    assert materialized() == {asset: work.partition_keys for asset in ASSETS}


# --- killed right after a batch of materializations ----------------------------------------

BATCH_WEEKS = 8  # 2 hosts x 8 weeks: the listings step records 16 materializations at once


def run_log_database(home: Path, run: subprocess.Popen, log: Path) -> Path:
    """The SQLite file of the run's own event log (DAGSTER_HOME/history/runs/RUN_ID.db)."""
    found: list[Path] = []

    def created() -> bool:
        with DagsterInstance.get() as instance:
            runs = instance.get_runs(limit=1)
        found[:] = [home / "history" / "runs" / f"{r.run_id}.db" for r in runs]
        return bool(found) and found[0].exists()

    wait_for(created, "run log", run, log)
    return found[0]


def logged_materializations(database: Path, asset: str) -> int:
    """Materializations of `asset` in the run's own log, read as the run commits them."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.05) as connection:
            (count,), = connection.execute(
                "SELECT count(*) FROM event_logs WHERE dagster_event_type = ? "
                "AND asset_key = ?", (DagsterEventType.ASSET_MATERIALIZATION.value,
                                      AssetKey(asset).to_string())).fetchall()
    except sqlite3.OperationalError:  # locked by a write in progress, or no table yet
        return 0
    return int(count)


def materializations_by_run(instance: DagsterInstance, run_id: str,
                            asset: str) -> tuple[list[str], list[str]]:
    """(partitions in the run's own log, partitions in the index) of the run's
    materializations of `asset`, each sorted."""
    in_log = [record.partition_key or "" for record in instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=10_000).records
        if record.asset_key == AssetKey(asset)]
    in_index = [record.partition_key or "" for record in instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset)), limit=10_000).records
        if record.run_id == run_id]
    return sorted(in_log), sorted(in_index)


def test_a_run_killed_right_after_a_batch_of_materializations_leaves_the_index_agreeing(
        pipeline_env: Simulator, today: date, reference: Callable[[Work], Reference],
        database_url: str, tmp_path: Path) -> None:
    work = Work.weeks_up_to(HOSTS, today, BATCH_WEEKS)
    expected = reference(work)
    batch = len(work.partition_keys)
    home = load_settings().dagster_home
    log = tmp_path / "killed_run.log"

    with log.open("w") as output:
        run = subprocess.Popen(materialize_command(work), stdout=output,
                               stderr=subprocess.STDOUT, start_new_session=True)
        try:
            database = run_log_database(home, run, log)
            # Killed as soon as the run's own log holds the whole batch.
            wait_for(lambda: logged_materializations(database, "listings") >= batch,
                     f"{batch} listings materializations in the run's log", run, log,
                     every=0.001)
            os.killpg(run.pid, signal.SIGKILL)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=30)
    assert run.returncode == -signal.SIGKILL

    with DagsterInstance.get() as instance:
        (killed,) = instance.get_runs(limit=1)
        in_log, in_index = materializations_by_run(instance, killed.run_id, "listings")
    assert len(in_log) == batch and set(in_log) == work.partition_keys, in_log
    # The index holds what the run's log holds, but for at most the one event in flight.
    assert set(in_index) <= set(in_log), in_index
    assert len(in_log) - len(in_index) <= 1, \
        f"{len(in_log)} materializations in the run's log, {len(in_index)} in the index"

    rerun = run_work(work)

    assert rerun.success, failure_text(rerun)
    assert compare(expected.snapshot, snapshot()).identical
    with DagsterInstance.get() as instance:
        for asset in ASSETS:
            in_log, in_index = materializations_by_run(instance, rerun.run_id, asset)
            assert in_log == in_index == sorted(work.partition_keys), asset
    assert materialized() == {asset: work.partition_keys for asset in ASSETS}
