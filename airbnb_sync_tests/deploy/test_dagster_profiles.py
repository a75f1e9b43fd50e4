"""The two instance profiles and the two workspaces, loaded by Dagster's own validation.

Local (the repository's dagster.yaml: SQLite under DAGSTER_HOME) and production
(deploy/dagster/production.yaml: PostgreSQL from DAGSTER_PG_URL, queued runs, run monitoring,
run retries). `dagster instance info` must load both, the production one against a real
PostgreSQL database.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._utils.tags import TagConcurrencyLimitsCounter
from database_servers import fresh_server_database
from deploy_helpers import (
    DEPLOY,
    PRODUCTION_PROFILE,
    PRODUCTION_WORKSPACE,
    REPO,
    VENV_BIN,
    clean_environment,
)

from airbnb_sync.defs.schedules import ACCOUNT_TAG

LOCAL_PROFILE = REPO / "dagster.yaml"
LOCAL_WORKSPACE = REPO / "workspace.yaml"
HELM_VALUES = DEPLOY / "kubernetes" / "values.yaml"

# Run slots, from bench/capacity.py (32 runs at once, 10 listings each, on a 2-core machine
# with 24,105 MiB; measured 2026-12-06, README "Beyond one machine"): a sync run's whole
# process tree peaks at 260 MiB, and 800 accounts x 10 listings need 23 slots to finish a day's
# runs within 24 h.
# The memory budget that production.yaml's comment states, in MiB:
MEASURED_RUN_MIB = 260
MACHINE_MIB = 24_105
RESERVED_MIB = {"timescaledb": 8192, "dagster_webserver": 1024, "dagster_daemon": 1024,
                "dagster_code_server": 1024, "system_and_page_cache": 2048}
DAILY_SLOTS_NEEDED = 23


def validated(profile: Path, home: Path, text: str | None = None) -> dict[str, Any]:
    """The profile as Dagster reads it from DAGSTER_HOME: schema-checked, defaults filled."""
    (home / "dagster.yaml").write_text(profile.read_text() if text is None else text)
    config, _ = dagster_instance_config(str(home))
    return dict(config)


def test_local_profile_is_sqlite_with_a_run_queue_and_no_telemetry(tmp_path: Path):
    config = validated(LOCAL_PROFILE, tmp_path)
    # Dagster's own SQLite storage under DAGSTER_HOME.
    assert config["storage"] == {"sqlite": {"base_dir": {"env": "DAGSTER_HOME"}}}
    assert config["run_launcher"] == {"module": "airbnb_sync.instance.launcher",
                                      "class": "LocalRunLauncher"}
    assert config["telemetry"] == {"enabled": False}
    assert config["concurrency"]["runs"]["max_concurrent_runs"] >= 1


def test_production_profile_is_postgres_from_the_environment(tmp_path: Path):
    config = validated(PRODUCTION_PROFILE, tmp_path)
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_PG_URL"}
    assert config["telemetry"] == {"enabled": False}
    runs = config["concurrency"]["runs"]
    backfill_limit = {limit["key"]: limit["limit"] for limit in runs["tag_concurrency_limits"]}
    # Backfills can never take every slot from the daily schedule.
    assert 0 < backfill_limit["dagster/backfill"] < runs["max_concurrent_runs"]
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["max_runtime_seconds"] >= 24 * 3600
    # Only crashed run workers are retried; failed steps are the assets' RetryPolicy's job.
    assert config["run_retries"] == {"enabled": True, "max_retries": 2,
                                     "retry_on_asset_or_op_failure": False}


def run_queue(config: dict[str, Any]) -> tuple[int, dict[str, dict[str, Any]]]:
    runs = config["concurrency"]["runs"]
    return runs["max_concurrent_runs"], {limit["key"]: limit
                                         for limit in runs["tag_concurrency_limits"]}


def test_production_slots_fit_the_measured_memory_budget(tmp_path: Path):
    slots, limits = run_queue(validated(PRODUCTION_PROFILE, tmp_path))
    used = slots * MEASURED_RUN_MIB + sum(RESERVED_MIB.values())
    assert used <= MACHINE_MIB
    # The daily sync of 800 accounts finishes within the day even while a backfill runs.
    assert slots - limits["dagster/backfill"]["limit"] >= DAILY_SLOTS_NEEDED
    # The comment states the same budget.
    comment = PRODUCTION_PROFILE.read_text()
    assert f"{slots} runs x {MEASURED_RUN_MIB} (" in comment
    assert f"{used:,} of {MACHINE_MIB:,}" in comment


@pytest.mark.parametrize("profile", [LOCAL_PROFILE, PRODUCTION_PROFILE],
                         ids=["local", "production"])
def test_the_queue_launches_one_run_per_account_at_a_time(tmp_path: Path, profile: Path):
    slots, limits = run_queue(validated(profile, tmp_path))
    assert limits[ACCOUNT_TAG] == {"key": ACCOUNT_TAG, "value": {"applyLimitPerUniqueValue": True},
                                   "limit": 1}
    # What Dagster's queue daemon asks of every queued run before it launches it.
    running = [DagsterRun(job_name="sync", tags={ACCOUNT_TAG: "111"})]
    counter = TagConcurrencyLimitsCounter(list(limits.values()), running)
    assert counter.is_blocked(DagsterRun(job_name="sync", tags={ACCOUNT_TAG: "111"}))
    assert not counter.is_blocked(DagsterRun(job_name="sync", tags={ACCOUNT_TAG: "222"}))
    assert 0 < limits["dagster/backfill"]["limit"] < slots


def test_local_profile_and_helm_values_have_the_production_run_slots(tmp_path: Path):
    production = validated(PRODUCTION_PROFILE, tmp_path)["concurrency"]
    assert validated(LOCAL_PROFILE, tmp_path)["concurrency"] == production
    queue = yaml.safe_load(HELM_VALUES.read_text())["dagsterDaemon"]["runCoordinator"][
        "config"]["queuedRunCoordinator"]
    assert queue["maxConcurrentRuns"] == production["runs"]["max_concurrent_runs"]
    assert queue["tagConcurrencyLimits"] == production["runs"]["tag_concurrency_limits"]


def test_a_misspelt_profile_is_refused(tmp_path: Path):
    broken = PRODUCTION_PROFILE.read_text().replace("run_retries:", "run_retry:")
    with pytest.raises(DagsterInvalidConfigError, match="run_retry"):
        validated(PRODUCTION_PROFILE, tmp_path, broken)


def test_workspaces_load_the_code_location(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DAGSTER_CODE_SERVER_HOST", "user-code")
    monkeypatch.setenv("DAGSTER_CODE_SERVER_PORT", "4000")
    (production,) = location_origins_from_yaml_paths([str(PRODUCTION_WORKSPACE)])
    assert isinstance(production, GrpcServerCodeLocationOrigin)
    assert (production.host, production.port, production.location_name) == (
        "user-code", 4000, "airbnb_sync")
    (local,) = location_origins_from_yaml_paths([str(LOCAL_WORKSPACE)])
    assert local.location_name == "airbnb_sync"


def instance_info(profile: Path, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(profile, home / "dagster.yaml")
    return subprocess.run([str(VENV_BIN / "dagster"), "instance", "info"],
                          env=clean_environment(DAGSTER_HOME=str(home), **env),
                          capture_output=True, text=True, timeout=120)


def test_dagster_instance_info_loads_the_local_profile(tmp_path: Path):
    info = instance_info(LOCAL_PROFILE, tmp_path)
    assert info.returncode == 0, info.stderr
    assert "run_storage: SqliteRunStorage" in info.stdout
    assert "max_concurrent_runs" in info.stdout


@pytest.mark.postgres
def test_dagster_instance_info_loads_the_production_profile(tmp_path: Path):
    with fresh_server_database("postgres") as url:
        plain = sa.make_url(url).set(drivername="postgresql")
        dagster_url = plain.render_as_string(hide_password=False)
        info = instance_info(PRODUCTION_PROFILE, tmp_path, DAGSTER_PG_URL=dagster_url)
        assert info.returncode == 0, info.stderr
        assert "run_storage: PostgresRunStorage" in info.stdout
        assert "run_retries" in info.stdout
        assert dagster_url not in info.stdout + info.stderr  # the URL holds the password
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
        engine.dispose()
        # Dagster created its storage in the database that DAGSTER_PG_URL names.
        assert {"runs", "event_logs", "jobs"} <= tables
