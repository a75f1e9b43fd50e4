"""The one Definitions object: assets, checks, schedules, sensors and resources."""

from __future__ import annotations

import warnings

import dagster as dg

from airbnb_sync.core.logs import configure_logging
from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.defs.assets.common import sync_retry_policy
from airbnb_sync.defs.assets.conversion import build_conversion_asset
from airbnb_sync.defs.assets.listings import build_listings_asset
from airbnb_sync.defs.assets.visibility import build_visibility_asset
from airbnb_sync.defs.automation import build_automation
from airbnb_sync.defs.checks import build_freshness_check
from airbnb_sync.defs.partitions import sync_partitions
from airbnb_sync.defs.resources import AirbnbSyncResource
from airbnb_sync.warehouse.io_manager import WarehouseIOManager

# Single-run backfills are what DESIGN.md §2 builds on; Dagster still labels them beta.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions_def = sync_partitions(settings)
    schedules, sensors = build_automation(settings)
    retry_policy = sync_retry_policy(settings)
    return dg.Definitions(
        assets=[
            build_listings_asset(partitions_def, retry_policy),
            build_conversion_asset(partitions_def, retry_policy),
            build_visibility_asset(partitions_def, retry_policy),
        ],
        asset_checks=[build_freshness_check(name)
                      for name in ("listings", "conversion_metrics", "visibility_metrics")],
        schedules=schedules,
        sensors=sensors,
        resources={
            # Neither resource takes the database URL as config: it may hold a password, and
            # resource config is shown in the UI. Both read it from the environment instead.
            "warehouse": WarehouseIOManager(),
            "airbnb_sync": AirbnbSyncResource(),
        },
    )


configure_logging(load_settings())
defs = build_definitions(load_settings())
