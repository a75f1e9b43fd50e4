"""The one Definitions object: assets, checks, schedules, sensors, resources and executor.

Settings are loaded once per process, here, and passed down; the resources are chosen here
per deployment (see `resources.py`).
"""

from __future__ import annotations

import os
import warnings
from datetime import date

import dagster as dg

from airbnb_sync.core.logs import configure_logging
from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.defs.assets import IO_MANAGER_KEY, SYNCED_ASSETS, build_sync_assets
from airbnb_sync.defs.checks import build_freshness_check
from airbnb_sync.defs.io_manager import WarehouseIOManager
from airbnb_sync.defs.partitions import sync_partitions
from airbnb_sync.defs.report import build_insights_report, build_report_automation_sensor
from airbnb_sync.defs.resources import AirbnbResource, LiveAirbnb, SyncClock, WarehouseResource
from airbnb_sync.defs.schedules import build_daily_schedule
from airbnb_sync.defs.sensors import (
    build_accounts_sensor,
    build_behind_schedule_alerts,
    build_failure_alerts,
    build_session_expiry_alerts,
)
from airbnb_sync.defs.session_restore import build_session_restored_sensor
from airbnb_sync.warehouse.installation import with_installation_first_week

# Single-run backfills are what README: How it works builds on; Dagster still labels them beta.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

# One process per run: the lease serializes an account's requests anyway, so a process per
# step bought no parallelism and cost memory (README: Performance), and a killed run leaves
# no step behind.
sync_executor = dg.in_process_executor


def _secret(variable: str, value: str | None) -> str | dg.EnvVar | None:
    """An EnvVar when the value came from the environment, so the UI shows its name only."""
    return dg.EnvVar(variable) if os.environ.get(variable) else value


def live_airbnb(settings: Settings) -> LiveAirbnb:
    return LiveAirbnb(base_url=settings.airbnb_base_url,
                      api_key=_secret("AIRBNB_API_KEY", settings.airbnb_api_key))


def build_definitions(settings: Settings, airbnb: AirbnbResource | None = None,
                      today: date | None = None) -> dg.Definitions:
    """Everything Dagster; `airbnb` picks where answers come from (default: Airbnb over HTTP
    at AIRBNB_BASE_URL); `today` is the day the week grid is built for (default: the UTC day
    they load; runs pinned to another day by the clock resource need that day's grid)."""
    partitions_def = sync_partitions(settings, today)
    warehouse = WarehouseResource(
        database_url=_secret("AIRBNB_SYNC_DATABASE_URL", settings.database_url))
    return dg.Definitions(
        assets=[*build_sync_assets(settings, partitions_def), build_insights_report(settings)],
        asset_checks=[build_freshness_check(name) for name in SYNCED_ASSETS],
        schedules=[build_daily_schedule(settings)],
        sensors=[build_accounts_sensor(settings), build_failure_alerts(settings),
                 build_report_automation_sensor(), build_session_expiry_alerts(settings),
                 build_behind_schedule_alerts(settings),
                 build_session_restored_sensor(settings)],
        resources={
            "warehouse": warehouse,
            IO_MANAGER_KEY: WarehouseIOManager(
                warehouse=warehouse, dry_run=settings.dry_run, retries=settings.run_retries,
                retry_delay=settings.run_retry_delay),
            "airbnb": airbnb or live_airbnb(settings),
            "clock": SyncClock(),
        },
        executor=sync_executor,
    )


_settings = with_installation_first_week(load_settings())
configure_logging(_settings)
defs = build_definitions(_settings)
