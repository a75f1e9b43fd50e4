"""The SQLite lease and migration file locks: a lock file that cannot be created fails at once
with the path and the reason; only a lock genuinely held by another process is waited on."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from airbnb_sync.core.files import UnusablePath
from airbnb_sync.sync.lease import LeaseTimeout, account_lease
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import forget_upgrades, upgrade_to_head

ACCOUNT = "41234567"
UNCREATABLE = Path("/sys/airbnb-sync-test-lock")  # even root cannot create a file in sysfs


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = create_warehouse_engine(url)
    yield engine
    dispose_warehouse_engine(url)
    forget_upgrades()


def _lock_of(engine: sa.Engine, suffix: str) -> Path:
    return Path(f"{engine.url.database}.{suffix}.lock")


@pytest.mark.parametrize("obstacle", ["symlink to a place nobody can write", "folder"])
def test_a_lease_lock_file_that_cannot_be_created_fails_at_once(engine: sa.Engine,
                                                               obstacle: str) -> None:
    lock = _lock_of(engine, f"account-{ACCOUNT}")
    if obstacle == "folder":
        lock.mkdir()
    else:
        lock.symlink_to(UNCREATABLE)
    started = time.monotonic()
    with pytest.raises(UnusablePath) as raised, account_lease(engine, ACCOUNT, timeout=3600):
        pytest.fail("the lease was handed out")
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert str(lock) in message and "\n" not in message
    assert raised.value.retryable is False  # Dagster must not retry what a person must fix


def test_a_migration_lock_file_that_cannot_be_created_fails_at_once(engine: sa.Engine) -> None:
    _lock_of(engine, "migrate").symlink_to(UNCREATABLE)
    started = time.monotonic()
    with pytest.raises(UnusablePath, match="schema migration"):
        upgrade_to_head(engine)
    assert time.monotonic() - started < 5


def _hold(database: str, held: multiprocessing.synchronize.Event,
          release: multiprocessing.synchronize.Event) -> None:
    engine = create_warehouse_engine(f"sqlite:///{database}")
    with account_lease(engine, ACCOUNT, timeout=10):
        held.set()
        release.wait(30)


def test_a_lease_held_by_another_process_is_still_waited_for(engine: sa.Engine) -> None:
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(engine.url.database, held, release))
    holder.start()
    try:
        assert held.wait(60)
        started = time.monotonic()
        with pytest.raises(LeaseTimeout), account_lease(engine, ACCOUNT, timeout=1.5):
            pytest.fail("the lease was handed out while held")
        assert time.monotonic() - started >= 1.5  # waited for the holder, did not fail early
    finally:
        release.set()
        holder.join(30)
    with account_lease(engine, ACCOUNT, timeout=10):
        pass
    lock = _lock_of(engine, f"account-{ACCOUNT}")
    assert stat.S_IMODE(lock.stat().st_mode) & 0o077 == 0
    assert os.path.exists(lock)
