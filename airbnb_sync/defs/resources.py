"""The resources of a deployment: one warehouse, one source of Airbnb answers, one clock.

Chosen per deployment in `definitions.py`, the way Dagster's `project_fully_featured` swaps
its Hacker News clients: `LiveAirbnb` talks HTTP to Airbnb (or to the simulator, which speaks
the same HTTP), `RecordedAirbnb` answers from a recording without any network. Secrets (the
database URL, the API key) come in through `dg.EnvVar`, so the UI never shows them.
"""


from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from airbnb_sync.accounts.secrets import cipher_for
from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.factory import ClientFactory, HttpClientFactory
from airbnb_sync.airbnb.recordings import RecordedClientFactory, RecordingClientFactory
from airbnb_sync.core.settings import DEFAULT_BASE_URL, Settings
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head


class WarehouseResource(dg.ConfigurableResource):
    """The one database of a deployment: the rows, the accounts, the leases and the pacing
    state all live here, and the IO manager writes through this same resource."""

    database_url: str = Field(description="SQLAlchemy URL (from AIRBNB_SYNC_DATABASE_URL).")

    def engine(self) -> sa.Engine:
        """The warehouse, brought to the schema head (cached per URL and process)."""
        engine = create_warehouse_engine(self.database_url)
        upgrade_to_head(engine)
        return engine

    def accounts(self, settings: Settings) -> AccountStore:
        engine = self.engine()
        return AccountStore(engine, cipher_for(settings, engine))


class AirbnbResource(dg.ConfigurableResource, ABC):
    """Where the host insights come from."""

    @abstractmethod
    def client_factory(self, settings: Settings) -> ClientFactory: ...


class LiveAirbnb(AirbnbResource):
    """Airbnb's host API over HTTP. `base_url` points at the simulator in demos and tests."""

    base_url: str = Field(default=DEFAULT_BASE_URL, description="AIRBNB_BASE_URL")
    api_key: str | None = Field(default=None, description="AIRBNB_API_KEY (an EnvVar)")
    record_to: str | None = Field(
        default=None, description="A folder that keeps every answer, for RecordedAirbnb.")

    def client_factory(self, settings: Settings) -> ClientFactory:
        factory = HttpClientFactory(replace(settings, airbnb_base_url=self.base_url.rstrip("/"),
                                            airbnb_api_key=self.api_key))
        if self.record_to is None:
            return factory
        return RecordingClientFactory(factory, Path(self.record_to))


class RecordedAirbnb(AirbnbResource):
    """Answers from a recording made with `LiveAirbnb(record_to=...)`; sends nothing."""

    recording: str = Field(description="The folder a LiveAirbnb run recorded into.")

    def client_factory(self, settings: Settings) -> ClientFactory:
        return RecordedClientFactory(Path(self.recording))


class SyncClock(dg.ConfigurableResource):
    """The run's time. `today` pins the calendar day, for reproducible runs and tests."""

    today: str | None = Field(default=None, description="YYYY-MM-DD; default: the UTC date.")

    def now(self) -> datetime:
        now = datetime.now(UTC)
        if self.today is None:
            return now
        return datetime.combine(date.fromisoformat(self.today), now.timetz())
