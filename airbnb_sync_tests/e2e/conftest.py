"""Fixtures of the end-to-end tests: the simulator on a free loopback port, and an
environment (warehouse, key, accounts) pointing the pipeline at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from pipeline_helpers import API_KEY, HOSTS, add_account
from webhook_receiver import WebhookReceiver

from airbnb_sync.simulator import Simulator, SimulatorConfig


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(api_key=API_KEY)) as sim:
        yield sim


@pytest.fixture
def pipeline_env(database_url: str, dagster_home, simulator: Simulator,
                 monkeypatch: pytest.MonkeyPatch,
                 tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    """Settings for a sync of HOSTS into `database_url` from the simulator, accounts added."""
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("AIRBNB_BASE_URL", simulator.url)
    monkeypatch.setenv("AIRBNB_API_KEY", API_KEY)
    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "0")
    cookies = tmp_path_factory.mktemp("cookies")  # away from the files scanned for secrets
    for account_id in HOSTS:
        add_account(cookies, account_id)
    return simulator


@pytest.fixture
def receiver(pipeline_env: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        WebhookReceiver]:
    """A webhook receiver the pipeline's alerts go to."""
    with WebhookReceiver() as hook:
        monkeypatch.setenv("AIRBNB_SYNC_ALERT_WEBHOOK", hook.url)
        yield hook
