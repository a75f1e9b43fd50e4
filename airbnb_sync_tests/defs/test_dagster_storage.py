"""The local profile's Dagster storage (defs/dagster_storage.py) keeps the same history as
Dagster's own SQLite storage, in far fewer transactions.

Both run the same partition-range runs on real Dagster instances under DAGSTER_HOME, one on
the repository's dagster.yaml storage and one on Dagster's default, and what Dagster and its
UI read back (materialized partitions, partition status, planned events, last runs, checks,
each run's event sequence) must be equal.
"""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_homes import write_profile

from airbnb_sync.cli.demo import LOCAL_PROFILE
from airbnb_sync.defs.dagster_storage import BatchingSqliteEventLogStorage

pytestmark = pytest.mark.slow

WEEKS = dg.StaticPartitionsDefinition([f"w{index:02}" for index in range(30)])
ASSETS = (dg.AssetKey("counted"), dg.AssetKey("doubled"))
CHECK = dg.AssetCheckKey(dg.AssetKey("counted"), "counted_all")


@dg.asset(partitions_def=WEEKS, backfill_policy=dg.BackfillPolicy.single_run(),
          check_specs=[dg.AssetCheckSpec("counted_all", asset="counted")])
def counted(context: dg.AssetExecutionContext) -> Iterator[Any]:
    yield dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})
    yield dg.AssetCheckResult(check_name="counted_all", passed=True)


@dg.asset(partitions_def=WEEKS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[counted])
def doubled(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"partitions": 2 * len(context.partition_keys)})


def instance_in(home: Path, storage: str) -> dg.DagsterInstance:
    """An instance in `home` (DAGSTER_HOME) with the local profile's storage ("local") or
    Dagster's default ("dagster")."""
    home.mkdir(exist_ok=True)
    write_profile(home, storage)
    return dg.DagsterInstance.from_config(str(home))


def run_range(instance: dg.DagsterInstance, first: str, last: str) -> str:
    result = dg.materialize([counted, doubled], instance=instance, tags={
        "dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})
    assert result.success
    return result.run_id


def history(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, Any]:
    """What Dagster reads back about the assets, the check and the runs."""
    found: dict[str, Any] = {}
    for key in ASSETS:
        name = key.to_user_string()
        planned = instance.event_log_storage.get_event_records(
            dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
                                  asset_key=key), ascending=True)
        latest = instance.get_latest_materialization_event(key)
        [record] = instance.get_asset_records([key])
        entry = record.asset_entry
        statuses = instance.get_status_by_partition(key, WEEKS.get_partition_keys(), WEEKS)
        found[name] = {
            "materialized": sorted(instance.get_materialized_partitions(key)),
            "status": {partition: str(status) for partition, status in (statuses or {}).items()},
            "planned": Counter((run_ids.index(r.run_id), r.partition_key) for r in planned),
            "latest": (run_ids.index(latest.run_id), latest.dagster_event.partition)
            if latest and latest.dagster_event else None,
            "last_run": run_ids.index(entry.last_run_id) if entry.last_run_id else None,
            "last_record": entry.last_materialization_record.event_log_entry.dagster_event
            .partition if entry.last_materialization_record else None,
        }
    checks = instance.event_log_storage.get_asset_check_execution_history(CHECK, limit=10)
    found["checks"] = [(run_ids.index(check.run_id), str(check.status)) for check in checks]
    found["runs"] = [[(entry.dagster_event_type or "log") for entry in instance.all_logs(run_id)
                      if entry.dagster_event_type != dg.DagsterEventType.STEP_WORKER_STARTED]
                     for run_id in run_ids]
    return found


@pytest.fixture
def commits_per_database() -> Iterator[Counter[str]]:
    """Transactions that wrote, by database file name, while the test runs."""
    counts: Counter[str] = Counter()
    writing: set[int] = set()

    def note_write(connection: sa.Connection, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writing.add(id(connection))

    def count(connection: sa.Connection) -> None:
        if id(connection) in writing:
            writing.discard(id(connection))
            counts[Path(connection.engine.url.database or "").name] += 1

    sa.event.listen(sa.Engine, "before_cursor_execute", note_write)
    sa.event.listen(sa.Engine, "commit", count)
    yield counts
    sa.event.remove(sa.Engine, "commit", count)
    sa.event.remove(sa.Engine, "before_cursor_execute", note_write)


def sync_history(home: Path, profile: str, monkeypatch: pytest.MonkeyPatch,
                 commits: Counter[str]) -> tuple[dict[str, Any], int]:
    """Two runs (every week, then weeks 10-19 again): their history, and the commits to
    Dagster's index database."""
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # Unset, and restored after the test (the local storage sets it for its process).
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "")
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE")
    commits.clear()
    with instance_in(home, profile) as instance:
        runs = [run_range(instance, "w00", "w29"), run_range(instance, "w10", "w19")]
        index_commits = commits["index.db"]
        return history(instance, runs), index_commits


def test_the_local_storage_keeps_dagsters_history_in_fewer_transactions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        commits_per_database: Counter[str]) -> None:
    ours, our_commits = sync_history(tmp_path / "local", "local", monkeypatch,
                                     commits_per_database)
    dagsters, dagster_commits = sync_history(tmp_path / "default", "dagster", monkeypatch,
                                             commits_per_database)
    assert ours == dagsters
    assert ours["counted"]["materialized"] == WEEKS.get_partition_keys()
    assert ours["doubled"]["planned"][(1, "w15")] == 1
    # 80 materializations and 80 planned events, each mirrored in the index: Dagster commits
    # each one; the local storage one transaction per batch.
    assert dagster_commits >= 160
    assert our_commits * 8 < dagster_commits


def test_the_local_storage_reads_and_extends_a_history_dagster_wrote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with instance_in(home, "dagster") as instance:
        first = run_range(instance, "w00", "w04")
    with instance_in(home, "local") as instance:
        assert isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)
        second = run_range(instance, "w05", "w09")
        assert sorted(instance.get_materialized_partitions(ASSETS[0])) == [
            f"w{index:02}" for index in range(10)]
        assert {record.dagster_run.run_id for record in instance.get_run_records()} == {
            first, second}


def test_the_repository_profile_names_the_local_storage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text(LOCAL_PROFILE.read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)
        assert Path(instance.event_log_storage._base_dir) == tmp_path / "history" / "runs"
