"""Fixtures of the REST API tests, over real HTTP on each warehouse (SQLite, PostgreSQL,
TimescaleDB: `database_url`), driven with `requests` (helpers: api_helpers.py). Sync launches
go to a recorder here; api/test_api_dagster.py launches through a real dagster-webserver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import Api, free_port, serve_api

from airbnb_sync.accounts.secrets import generate_key
from airbnb_sync.core.settings import Settings, load_settings


@pytest.fixture
def api_settings(database_url: str, dagster_home: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "0")
    # Nothing listens there: the partition registration fails at once and is only logged.
    monkeypatch.setenv("AIRBNB_SYNC_DAGSTER_URL", f"http://127.0.0.1:{free_port()}")
    return load_settings()


@pytest.fixture
def api(api_settings: Settings, database_url: str) -> Iterator[Api]:
    yield from serve_api(api_settings, database_url)
