"""The installation's persisted first week of the partition grid, read at load time.

Migration 0003 writes it once, when the warehouse is created (`accounts add`, `db upgrade`,
`demo`, or the first run). The entry points (the code location and the CLI) read it here, so
the partitions never move; an explicit AIRBNB_SYNC_FIRST_WEEK wins.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from airbnb_sync.core.settings import Settings
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.tables import installation

logger = logging.getLogger(__name__)


def stored_first_week(database_url: str) -> date | None:
    """The persisted first week, or None when there is no warehouse (or no row) yet.

    Reading never creates a warehouse: a missing SQLite file is simply None."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").expanduser().exists():
        return None
    engine = create_warehouse_engine(database_url)
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(installation.name,
                                                schema=_schema(connection)):
            return None
        return connection.execute(sa.select(installation.c.first_week)
                                  .where(installation.c.id == 1)).scalar_one_or_none()


def _schema(connection: sa.Connection) -> str | None:
    options = connection.get_execution_options().get("schema_translate_map") or {}
    return options.get(None)


def with_installation_first_week(settings: Settings) -> Settings:
    """The settings with the grid's persisted first week, unless AIRBNB_SYNC_FIRST_WEEK is set.

    When the warehouse cannot be read (a database still starting), the earlier default is
    kept: it is on or before any persisted week, so no partition of the grid goes missing."""
    if settings.first_week_explicit:
        return settings
    try:
        stored = stored_first_week(settings.database_url)
    except sa.exc.SQLAlchemyError as exc:
        logger.warning("could not read the installation's first week from the warehouse (%s); "
                       "the partition grid starts at %s for now", type(exc).__name__,
                       settings.first_week)
        return settings
    return settings if stored is None else dataclasses.replace(settings, first_week=stored)
