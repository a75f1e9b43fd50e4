"""The one Definitions object: assets, checks, schedules, sensors, resources and executor.

Settings are loaded once per process, here. The assets are module-level definitions that read
resources: `run_settings` (dry run, retries, pacing: fields that default from these settings
and that the launchpad changes for one run, over the rest of them) and, for the report, the
deployment's `settings` as a plain resource. Only the partition grid is applied here at load
time (`with_grid`). The schedule and sensors still take the settings when they are built
(docs/ARCHITECTURE.md says why).
"""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

from airbnb_sync.core.logs import configure_logging
from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.defs.assets import IO_MANAGER_KEY, SYNC_ASSETS, SYNCED_ASSETS, with_grid
from airbnb_sync.defs.checks import build_freshness_check
from airbnb_sync.defs.io_manager import WarehouseIOManager
from airbnb_sync.defs.partitions import sync_partitions
from airbnb_sync.defs.report import build_report_automation_sensor, insights_report
from airbnb_sync.defs.resources import (
    AirbnbResource,
    LiveAirbnb,
    RunSettings,
    SyncClock,
    WarehouseResource,
    deployment_settings,
)
from airbnb_sync.defs.schedules import build_daily_schedule
from airbnb_sync.defs.sensors import (
    build_accounts_sensor,
    build_behind_schedule_alerts,
    build_failure_alerts,
    build_session_expiry_alerts,
)
from airbnb_sync.defs.session_restore import build_session_restored_sensor
from airbnb_sync.warehouse.installation import with_installation_first_week

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
    warehouse = WarehouseResource(
        database_url=_secret("AIRBNB_SYNC_DATABASE_URL", settings.database_url))
    # One object under its own key and inside the IO manager: Dagster configures it once per
    # run, so a launchpad override reaches the assets and the writes alike.
    deployment = deployment_settings(settings)
    run_settings = RunSettings.at_launch(deployment, settings)
    return dg.Definitions(
        assets=[*with_grid(SYNC_ASSETS, sync_partitions(settings, today)), insights_report],
        asset_checks=[build_freshness_check(name) for name in SYNCED_ASSETS],
        schedules=[build_daily_schedule(settings)],
        sensors=[build_accounts_sensor(settings), build_failure_alerts(settings),
                 build_report_automation_sensor(), build_session_expiry_alerts(settings),
                 build_behind_schedule_alerts(settings),
                 build_session_restored_sensor(settings)],
        resources={
            "settings": deployment,
            "run_settings": run_settings,
            "warehouse": warehouse,
            IO_MANAGER_KEY: WarehouseIOManager(warehouse=warehouse, run_settings=run_settings),
            "airbnb": airbnb or live_airbnb(settings),
            "clock": SyncClock(),
        },
        executor=sync_executor,
    )


_settings = with_installation_first_week(load_settings())
configure_logging(_settings)
defs = build_definitions(_settings)
