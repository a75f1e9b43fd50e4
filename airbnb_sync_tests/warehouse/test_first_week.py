"""The partition grid's first week: the first week Airbnb served when the installation was
created, persisted in the warehouse. The grid never starts before it; with
AIRBNB_SYNC_KEEP_WEEK_HISTORY it starts there for ever, otherwise the weeks Airbnb no longer
serves leave the grid (defs/test_partitions.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from warehouse_rows import ACCOUNT, add_accounts

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import WEEK
from airbnb_sync.warehouse.installation import stored_first_week, with_installation_first_week
from airbnb_sync.warehouse.migrate import alembic_config, forget_upgrades, upgrade_to_head
from airbnb_sync.warehouse.tables import installation

EARLIER_DEFAULT = date(2025, 1, 5)


def first_served_week(today: date) -> date:
    """The first Sunday no more than 180 days back: its whole week is still served."""
    return next(day for day in (today - timedelta(days=180 - i) for i in range(7))
                if day.isoweekday() == 7)


KEEP_HISTORY = {"AIRBNB_SYNC_KEEP_WEEK_HISTORY": "true"}


def grid_keys(first_week_env: str | None, database_url: str, when: datetime,
              extra: dict[str, str] | None = None) -> list[str]:
    """The week keys of the definitions loaded now, as Dagster lists them at `when`."""
    env = {"AIRBNB_SYNC_DATABASE_URL": database_url, **(extra or {})}
    if first_week_env is not None:
        env["AIRBNB_SYNC_FIRST_WEEK"] = first_week_env
    settings = with_installation_first_week(load_settings(env))
    partitions = build_definitions(settings).get_assets_def("listings").partitions_def
    week = partitions.get_partitions_def_for_dimension(WEEK)  # type: ignore[union-attr]
    return week.get_partition_keys(current_time=when)


def test_a_new_installation_starts_its_grid_at_the_first_week_airbnb_served(
        engine: sa.Engine, database_url: str) -> None:
    before = datetime.now(UTC).date()
    upgrade_to_head(engine)
    stored = stored_first_week(database_url)
    assert stored in {first_served_week(before), first_served_week(datetime.now(UTC).date())}
    assert grid_keys(None, database_url, datetime.now(UTC))[0] == stored.isoformat()


def test_days_later_the_grid_has_not_moved(engine: sa.Engine, database_url: str) -> None:
    upgrade_to_head(engine)
    stored = stored_first_week(database_url)
    forget_upgrades()
    upgrade_to_head(engine)  # a later `db upgrade` or run writes nothing new
    later = datetime.now(UTC) + timedelta(days=40)
    assert first_served_week(later.date()) > stored  # a fresh computation would have moved
    assert stored_first_week(database_url) == stored
    assert grid_keys(None, database_url, later, KEEP_HISTORY)[0] == stored.isoformat()
    with engine.connect() as connection:
        rows = connection.execute(sa.select(sa.func.count()).select_from(installation)).scalar()
    assert rows == 1


def test_an_explicit_first_week_wins(engine: sa.Engine, database_url: str) -> None:
    upgrade_to_head(engine)
    now = datetime.now(UTC)
    assert grid_keys("2025-05-04", database_url, now, KEEP_HISTORY)[0] == "2025-05-04"
    # Without the history, the grid still never starts before it.
    current = week_start_of(now.date()).isoformat()
    assert grid_keys(current, database_url, now)[0] == current


def test_an_old_installation_keeps_its_first_week_and_drops_the_weeks_no_longer_served(
        engine: sa.Engine, database_url: str) -> None:
    with engine.connect() as connection, connection.begin():
        command.upgrade(alembic_config(connection), "0002")  # before the first week was kept
    add_accounts(engine, [ACCOUNT])
    upgrade_to_head(engine)
    assert stored_first_week(database_url) == EARLIER_DEFAULT
    now = datetime.now(UTC)
    kept = grid_keys(None, database_url, now, KEEP_HISTORY)
    assert kept[0] == EARLIER_DEFAULT.isoformat()
    trimmed = grid_keys(None, database_url, now)
    # The week of the oldest day Airbnb serves (180 days back), and one week of slack.
    oldest_served = week_start_of(now.date() - timedelta(days=180))
    assert trimmed[0] == (oldest_served - timedelta(weeks=1)).isoformat()
    assert len(trimmed) in {52, 53}
    assert trimmed == kept[-len(trimmed):]


def test_reading_creates_no_warehouse(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "warehouse.db"
    assert stored_first_week(f"sqlite:///{missing}") is None
    assert not missing.parent.exists()
    settings = with_installation_first_week(load_settings(
        {"AIRBNB_SYNC_DATABASE_URL": f"sqlite:///{missing}"}))
    assert settings.first_week == EARLIER_DEFAULT


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_code_location_reads_the_persisted_week(engine: sa.Engine, database_url: str,
                                                   tmp_path: Path) -> None:
    """What `dagster` loads (airbnb_sync.definitions) in a process of its own."""
    upgrade_to_head(engine)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRBNB_SYNC_")}
    env.update(AIRBNB_SYNC_DATABASE_URL=database_url, DAGSTER_HOME=str(tmp_path))
    shown = subprocess.run(
        [sys.executable, "-c", "from airbnb_sync.definitions import defs; "
         "p = defs.get_assets_def('listings').partitions_def; "
         "print(p.get_partitions_def_for_dimension('week').get_first_partition_key())"],
        env=env, capture_output=True, text=True, timeout=120, check=True).stdout.split()[-1]
    assert shown == stored_first_week(database_url).isoformat()  # type: ignore[union-attr]
