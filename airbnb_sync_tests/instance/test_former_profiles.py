"""A DAGSTER_HOME that the former local storage wrote keeps its history: under the local
profile (Dagster's own SQLite storage) and under its old dagster.yaml, whose storage name
(`airbnb_sync.defs.dagster_storage.LocalDagsterStorage`) now stands for Dagster's class.

`fixtures/dagster_home_former_local_storage.tar.gz` was written by that storage (a batching
subclass of Dagster's SQLite storage, removed after commit c6aeb9f; Dagster 1.13.27, event
batching on) with its profile: accounts 41234567 and 58765432 as dynamic partitions, and one
run per account that materialized a toy `listings` asset over three weeks (`account|week`
keys), so 6 materializations.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
from pathlib import Path

import dagster as dg
import pytest
import yaml

from airbnb_sync.cli.demo import LOCAL_PROFILE
from airbnb_sync.instance.legacy_storage import REPLACEMENT

ARCHIVE = Path(__file__).resolve().parents[1] / "fixtures" / \
    "dagster_home_former_local_storage.tar.gz"
ACCOUNTS = ["41234567", "58765432"]
WEEKS = ["2026-11-15", "2026-11-22", "2026-11-29"]
WRITTEN = {f"{account}|{week}" for account in ACCOUNTS for week in WEEKS}

PARTITIONS = dg.MultiPartitionsDefinition({
    "account": dg.DynamicPartitionsDefinition(name="accounts"),
    "week": dg.StaticPartitionsDefinition(WEEKS)})


@dg.asset(partitions_def=PARTITIONS)
def listings() -> None:
    """The toy asset the archive's runs materialized."""


@pytest.fixture
def former_home(dagster_home: Path) -> Path:
    """The archive unpacked into the test's DAGSTER_HOME, its own dagster.yaml included."""
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(dagster_home, filter="data")
    return dagster_home


def databases(home: Path) -> set[str]:
    """Dagster's SQLite files under the home, relative to it."""
    return {path.relative_to(home).as_posix() for path in home.rglob("*.db")}


def assert_history(instance: dg.DagsterInstance) -> None:
    """Everything the archive holds reads back: runs, partitions, the index and each run's log."""
    runs = instance.get_runs()
    assert len(runs) == 2 and {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert instance.get_dynamic_partitions("accounts") == ACCOUNTS
    assert instance.get_materialized_partitions(dg.AssetKey("listings")) == WRITTEN
    indexed = instance.fetch_materializations(dg.AssetKey("listings"), limit=100).records
    logged = [record for run in runs for record in instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records]
    assert sorted((r.run_id, r.partition_key) for r in indexed) == \
        sorted((r.run_id, r.partition_key) for r in logged)
    assert len(logged) == len(WRITTEN)


def test_the_local_profile_reads_and_extends_a_home_the_former_storage_wrote(
        former_home: Path) -> None:
    before = databases(former_home)
    assert {"history/runs.db", "history/runs/index.db", "schedules/schedules.db"} <= before
    shutil.copy(LOCAL_PROFILE, former_home / "dagster.yaml")

    with dg.DagsterInstance.get() as instance:
        assert_history(instance)
        instance.add_dynamic_partitions("accounts", ["70000001"])
        result = dg.materialize([listings], instance=instance,
                                partition_key="70000001|2026-11-29")
        assert result.success
        assert "70000001|2026-11-29" in instance.get_materialized_partitions(
            dg.AssetKey("listings"))

    # The same files, plus the new run's own log: nothing beside them.
    assert databases(former_home) == before | {f"history/runs/{result.run_id}.db"}


def test_a_profile_naming_the_former_storage_loads_dagster_own_with_a_warning(
        former_home: Path) -> None:
    assert "airbnb_sync.defs.dagster_storage" in (former_home / "dagster.yaml").read_text()
    sys.modules.pop("airbnb_sync.defs.dagster_storage", None)  # it warns once per process

    with pytest.warns(FutureWarning, match=r"replace the `storage:` block"), \
            dg.DagsterInstance.get() as instance:
        assert type(instance.get_ref().storage_data.rehydrate()).__name__ == \
            "DagsterSqliteStorage"
        assert_history(instance)


def test_the_warning_names_the_local_profile_storage_block() -> None:
    assert yaml.safe_load(REPLACEMENT)["storage"] == \
        yaml.safe_load(LOCAL_PROFILE.read_text())["storage"]


def test_a_profile_naming_the_launcher_at_its_former_path_still_loads_it(
        dagster_home: Path) -> None:
    profile = LOCAL_PROFILE.read_text().replace("module: airbnb_sync.instance.launcher",
                                                "module: airbnb_sync.defs.launcher")
    assert "airbnb_sync.defs.launcher" in profile
    (dagster_home / "dagster.yaml").write_text(profile)
    with dg.DagsterInstance.get() as instance:
        launcher = instance.run_launcher
    from airbnb_sync.instance.launcher import LocalRunLauncher

    assert isinstance(launcher, LocalRunLauncher)
    assert launcher.supports_check_run_worker_health
