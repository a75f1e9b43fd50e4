"""The resources of a deployment: one warehouse, one source of Airbnb answers, one clock, and
the knobs of a run (`RunSettings`: dry run, step retries, pacing).

Chosen per deployment in `definitions.py`, the way Dagster's `project_fully_featured` swaps
its Hacker News clients: `LiveAirbnb` talks HTTP to Airbnb (or to the simulator, which speaks
the same HTTP), `RecordedAirbnb` answers from a recording without any network. Secrets (the
database URL, the API key) come in through `dg.EnvVar`, so the UI never shows them.
`RunSettings` is the one place a run's dry run, retries and pacing come from: its defaults are
the deployment's AIRBNB_SYNC_* variables, and the launchpad changes them for one run.
"""


from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from airbnb_sync.accounts.secrets import cipher_for
from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.factory import ClientFactory, HttpClientFactory
from airbnb_sync.airbnb.recordings import RecordedClientFactory, RecordingClientFactory
from airbnb_sync.core.settings import DEFAULT_BASE_URL, Settings
from airbnb_sync.defs.retries import StepRetries
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


class RunSettings(dg.ConfigurableResource):
    """What one run may change: dry run, step retries and pacing, on top of the deployment's
    `Settings` (the rest: keys, horizon, budgets). The fields are the `Settings` fields of the
    same names. `at_launch` makes the deployment's values (its AIRBNB_SYNC_* variables) the
    defaults of each field, so the launchpad shows them and a run changes only what it names
    (`resources: run_settings: config: {dry_run: true}`)."""

    deployment: dg.ResourceDependency[Settings]
    dry_run: bool = Field(description="AIRBNB_SYNC_DRY_RUN: fetch and validate, write no "
                                      "table (the frames stay in the run's folder).")
    run_retries: int = Field(ge=0, le=10, description=(
        "AIRBNB_SYNC_RUN_RETRIES: retries of a step whose failure may pass (a dropped "
        "connection, an account that failed), the IO manager's writes and reads included."))
    run_retry_delay: float = Field(ge=0, allow_inf_nan=False, description=(
        "AIRBNB_SYNC_RUN_RETRY_DELAY: seconds before the first step retry (doubling, "
        "with jitter)."))
    min_request_interval: float = Field(ge=0, allow_inf_nan=False, description=(
        "AIRBNB_SYNC_MIN_REQUEST_INTERVAL: the pacing, seconds at least between two "
        "requests of one account (shared with every other run of that account)."))
    request_timeout: float = Field(gt=0, allow_inf_nan=False,
                                   description="AIRBNB_SYNC_REQUEST_TIMEOUT: seconds.")
    max_retries: int = Field(ge=0, le=20, description=(
        "AIRBNB_SYNC_MAX_RETRIES: retries of one request (429, 5xx, timeouts)."))
    max_retry_after: float = Field(ge=0, allow_inf_nan=False, description=(
        "AIRBNB_SYNC_MAX_RETRY_AFTER: the longest Retry-After honoured, seconds."))
    retry_budget_seconds: float = Field(ge=0, allow_inf_nan=False, description=(
        "AIRBNB_SYNC_RETRY_BUDGET: seconds of waiting for retries one account may spend "
        "in a run."))

    @classmethod
    def at_launch(cls, deployment: dg.ResourceDefinition, settings: Settings) -> Any:
        """The resource of a deployment, configured when each run launches: its fields default
        to the deployment's values. Dagster configures it once per run and hands that one
        object to the assets and to the IO manager that nests it."""
        return cls.configure_at_launch(deployment=deployment, **run_fields(settings))

    def settings(self) -> Settings:
        """The deployment's settings with this run's knobs: what the sync core reads."""
        return replace(self.deployment, **{name: getattr(self, name) for name in RUN_FIELDS})

    def step_retries(self) -> StepRetries:
        """The retries of the assets' steps and of the IO manager's writes: one policy."""
        return StepRetries(max_retries=self.run_retries, delay=self.run_retry_delay)


RUN_FIELDS = tuple(name for name in RunSettings.model_fields if name != "deployment")


def run_fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in RUN_FIELDS}


def deployment_settings(settings: Settings) -> dg.ResourceDefinition:
    """The deployment's `Settings` as a resource of its own (`settings`), which `RunSettings`
    and the report read; the UI names it and shows no value (secrets stay out)."""
    return dg.ResourceDefinition.hardcoded_resource(settings, description=(
        "The deployment's settings, read from AIRBNB_SYNC_* when the code location loaded."))
