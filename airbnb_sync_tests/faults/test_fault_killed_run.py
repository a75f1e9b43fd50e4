"""`dagster asset materialize` is killed with SIGKILL in the middle of its writes, then the
same range is re-run: the warehouse ends up exactly as an undisturbed run leaves it (0 rows
lost, 0 duplicated, 0 changed), on PostgreSQL and TimescaleDB.

The kill lands at a known point without touching the code under test: the test holds SHARE
locks on the two metric tables, so the run's writes to them (a COPY into the table, or an
INSERT ... ON CONFLICT from a staged copy) queue behind them, which pg_stat_activity shows.
At that moment `listings` is committed and both metric transactions are open (the steps run
in parallel processes); the run's whole process group is killed, as by an OOM or a node loss.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
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

from airbnb_sync.simulator import Simulator
from airbnb_sync.warehouse.tables import PG_SCHEMA

pytestmark = [pytest.mark.faults, pytest.mark.postgres,
              pytest.mark.parametrize("database_url", ["postgres", "timescaledb"],
                                      indirect=True)]

BLOCKED = ("conversion_metrics", "visibility_metrics")
WAIT_SECONDS = 120
APPLICATION_NAME = "airbnb-sync-killed-run"


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def run_sessions(engine: sa.Engine) -> dict[int, str]:
    """pid -> current query of the killed run's sessions (named by PGAPPNAME)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT pid, coalesce(query, '') FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :name"),
            {"name": APPLICATION_NAME})
        return dict(rows.all())


def waiting_upserts(engine: sa.Engine) -> set[str]:
    """The tables whose upsert is queued behind a lock right now."""
    with engine.connect() as connection:
        queries = connection.execute(sa.text(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = :name AND wait_event_type = 'Lock'"),
            {"name": APPLICATION_NAME}).scalars().all()
    return {name for name in BLOCKED for query in queries
            if re.match(rf'(COPY|INSERT INTO) "{PG_SCHEMA}"."{name}"', query)}


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
             log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if run.poll() is not None:
            pytest.fail(f"the run ended (exit {run.returncode}) before {what}:\n"
                        f"{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {WAIT_SECONDS} s:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


def test_a_run_killed_mid_write_and_rerun_stores_exactly_the_reference(
        pipeline_env: Simulator, today: date, reference: Callable[[Work], Reference],
        database_url: str, tmp_path: Path) -> None:
    work = Work.weeks_up_to(HOSTS, today, 2)
    expected = reference(work)
    watcher = engine_for(database_url)
    log = tmp_path / "killed_run.log"

    with tables_locked(database_url), log.open("w") as output:
        # libpq names every session of the run, so that the test can tell them apart.
        env = {**os.environ, "PGAPPNAME": APPLICATION_NAME}
        # Both metric steps at once, whatever the machine's core count.
        parallel = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}
        run = subprocess.Popen(materialize_command(work, **parallel), env=env,
                               stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: waiting_upserts(watcher) == set(BLOCKED),
                     "upserts of both metric tables waiting", run, log)
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
    before = compare(expected.snapshot, mid_write)
    # Killed in the middle: listings committed, metrics staged but not committed.
    assert before.nothing_changed_or_duplicated and set(before.lost) == set(BLOCKED), before
    after = compare(expected.snapshot, snapshot())
    assert after.nothing_changed_or_duplicated and after.lost == before.lost, str(after)
    assert all(sum(rows.values()) == 0 for name, rows in snapshot().items() if name in BLOCKED)
    assert partially_materialized(expected.snapshot) == {asset: [] for asset in ASSETS}

    rerun = run_work(work)

    assert rerun.success, failure_text(rerun)
    comparison = compare(expected.snapshot, snapshot())
    assert comparison.identical, str(comparison)
    assert materialized() == {asset: work.partition_keys for asset in ASSETS}
