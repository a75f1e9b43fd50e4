"""Root fixtures: a brand-new database per test on every backend, and a clean Dagster home.

Server URLs come from AIRBNB_SYNC_TEST_POSTGRES_URL and AIRBNB_SYNC_TEST_TIMESCALEDB_URL
(`scripts/postgres.sh url`, `scripts/timescaledb.sh url`). Without them those tests skip
locally and fail under CI=true (see database_servers.py). The Timescale-License edition's
AIRBNB_SYNC_TEST_TIMESCALEDB_TSL_URL is used only by the tests that override `database_url`
with it (warehouse/test_timescale_tsl.py, e2e/test_pipeline_tsl.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster_homes import write_profile
from database_servers import DATABASES, SERVER_DATABASES, fresh_server_database

# The datasets register their tables with the warehouse when imported (as every entry point
# does through the sync core, the store or the definitions): tests that read a table by its
# name from `warehouse.tables` get it without importing the registry themselves.
import airbnb_sync.datasets  # noqa: F401


def _params(databases: tuple[str, ...]) -> list:
    return [
        pytest.param(name, id=name, marks=() if name == "sqlite" else pytest.mark.postgres)
        for name in databases
    ]


@pytest.fixture(params=_params(DATABASES))
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLAlchemy URL of an empty database of its own, on SQLite, PostgreSQL and TimescaleDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
        return
    with fresh_server_database(request.param) as url:
        yield url


@pytest.fixture(params=_params(SERVER_DATABASES))
def server_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Like `database_url`, for tests that need a server (advisory locks, concurrency)."""
    with fresh_server_database(request.param) as url:
        yield url


# The test-server URLs are the suite's own settings, not the application's: they stay.
_KEPT_PREFIX = "AIRBNB_SYNC_TEST_"


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DAGSTER_HOME with the local profile's storage and no telemetry, and no
    AIRBNB_* settings from the developer's environment."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    write_profile(home)  # the storage users' instances have
    for name in list(os.environ):
        if name.startswith("AIRBNB_") and not name.startswith(_KEPT_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # A failing test run fails at once; the retry tests choose their own retries.
    monkeypatch.setenv("AIRBNB_SYNC_RUN_RETRIES", "0")
    return home
