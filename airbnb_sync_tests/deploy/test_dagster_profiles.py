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
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
from dagster._core.workspace.load import location_origins_from_yaml_paths
from database_servers import fresh_server_database
from deploy_helpers import (
    PRODUCTION_PROFILE,
    PRODUCTION_WORKSPACE,
    REPO,
    VENV_BIN,
    clean_environment,
)

LOCAL_PROFILE = REPO / "dagster.yaml"
LOCAL_WORKSPACE = REPO / "workspace.yaml"


def validated(profile: Path, home: Path, text: str | None = None) -> dict[str, Any]:
    """The profile as Dagster reads it from DAGSTER_HOME: schema-checked, defaults filled."""
    (home / "dagster.yaml").write_text(profile.read_text() if text is None else text)
    config, _ = dagster_instance_config(str(home))
    return dict(config)


def test_local_profile_is_sqlite_with_a_run_queue_and_no_telemetry(tmp_path: Path):
    config = validated(LOCAL_PROFILE, tmp_path)
    assert "storage" not in config  # Dagster's default: SQLite under DAGSTER_HOME
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
