"""The Dagster resource that gives assets their settings, clock and warehouse."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import sqlalchemy as sa

from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head


class AirbnbSyncResource(dg.ConfigurableResource):
    """Runtime context of a sync. Settings come from the environment (DESIGN.md §4);
    `today` pins the calendar day for reproducible runs and tests (default: the UTC date)."""

    today: str | None = None

    def settings(self) -> Settings:
        return load_settings()

    def now(self) -> datetime:
        now = datetime.now(UTC)
        if self.today is None:
            return now
        return datetime.combine(date.fromisoformat(self.today), now.timetz())

    def engine(self) -> sa.Engine:
        """The warehouse, brought to the schema head (cached per URL and process)."""
        engine = create_warehouse_engine(self.settings().database_url)
        upgrade_to_head(engine)
        return engine
