"""The `fresh` checks: every active account's figures were fetched recently."""

import dagster as dg

from airbnb_sync.defs.resources import SyncClock, WarehouseResource
from airbnb_sync.warehouse.freshness import MAX_AGE, stale_accounts


def build_freshness_check(asset_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_name, name="fresh",
        description=f"Every active account has figures fetched within the last "
                    f"{MAX_AGE.total_seconds() / 3600:.0f} hours.",
    )
    def fresh(warehouse: WarehouseResource, clock: SyncClock) -> dg.AssetCheckResult:
        stale = stale_accounts(warehouse.engine(), asset_name, clock.now())
        return dg.AssetCheckResult(
            passed=not stale, metadata={"stale_accounts": dg.MetadataValue.json(stale)},
        )

    return fresh
