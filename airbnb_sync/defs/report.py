"""The `insights_report` asset: Dagster glue over `airbnb_sync.report`.

Unpartitioned: the report is one folder (an index across accounts and a page per account),
and each build reads the newest figures of every account, so one materialization stands for
the whole portfolio. Declarative automation refreshes it after syncs: when any partition of
the three synced assets was updated since the last build and none is in progress.

A sync run over partitions that happens to include it (Dagster's implicit asset job holds
every asset) leaves it to that automation rather than build the portfolio once per account
and range: the step then materializes nothing. matplotlib is imported only to build.
"""

from collections.abc import Iterator

import dagster as dg

from airbnb_sync.core.files import private_dir, tighten
from airbnb_sync.core.settings import Settings
from airbnb_sync.defs.assets import SYNCED_ASSETS
from airbnb_sync.defs.partitions import RANGE_START_TAG
from airbnb_sync.defs.resources import SyncClock, WarehouseResource

INSIGHTS_REPORT = "insights_report"
REPORT_SENSOR = "insights_report_automation"

PARTITION_TAGS = (RANGE_START_TAG, "dagster/partition")

# Dagster's `eager()` waits until no dependency partition is missing; with week x account
# partitions some always are (weeks nobody asked for), so that part is left out.
REFRESH_AFTER_SYNCS = dg.AutomationCondition.eager().without(
    ~dg.AutomationCondition.any_deps_missing())


def build_report_automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluates the report's automation condition. Dagster's own default sensor would start
    stopped; this one runs from the start, so a fresh deployment refreshes the report."""
    return dg.AutomationConditionSensorDefinition(
        REPORT_SENSOR, target=dg.AssetSelection.assets(INSIGHTS_REPORT),
        default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60,
        description="Requests insights_report after syncs (see its automation condition).")


@dg.asset(name=INSIGHTS_REPORT, deps=list(SYNCED_ASSETS), group_name="airbnb_insights",
          output_required=False,
          kinds={"python", "html"}, automation_condition=REFRESH_AFTER_SYNCS,
          description=(
              "Offline HTML pages under AIRBNB_SYNC_REPORTS_DIR: one per account (daily page "
              "views and conversion against similar listings, the weekly funnel, demand "
              "pickup) and index.html across accounts (gap to similar listings, the week's "
              "movers, coverage and sessions)."))
def insights_report(context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings],
                    warehouse: WarehouseResource,
                    clock: SyncClock) -> Iterator[dg.MaterializeResult]:
    if any(tag in context.run.tags for tag in PARTITION_TAGS):
        context.log.info("a sync run over partitions: the report is refreshed by "
                         "automation once the syncs are done")
        return
    from airbnb_sync.report.build import build_report
    from airbnb_sync.report.data import data_days, default_range

    engine = warehouse.engine()
    now = clock.now()
    span = default_range(now.date(), *data_days(engine), settings.horizon_days)
    folder = private_dir(settings.reports_dir, "the reports folder")
    tighten(folder)  # made by an older version, or with another umask: the owner's only
    result = build_report(engine, folder, span, built_at=now)
    if (skipped := result.skipped_message()) is not None:
        context.log.warning(skipped)
    context.log.info(f"wrote the insights report to {result.index} "
                     f"({len(result.pages)} account pages, {result.size_bytes} bytes)")
    yield dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(result.index)),
        "summary": dg.MetadataValue.md(result.summary),
        "accounts": len(result.accounts),
        "listings": sum(summary.listings for summary in result.accounts),
        "size_bytes": result.size_bytes,
        "build_seconds": round(result.seconds, 2),
        "stay_dates": f"{span.start} to {span.end}",
        "accounts_left_out": len(result.skipped),
    })
