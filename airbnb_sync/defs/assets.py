"""The synced assets, one per registered dataset: Dagster glue over `airbnb_sync.sync`.

Each asset turns its run's partitions into weeks per account, hands them to the plain sync
core with the run's resources, and reports the outcome in Dagster's terms: an output (the
IO manager upserts it), the `valid_schema` and `complete` checks, and a `Failure` whose
`allow_retries` is the error's own `retryable`.
"""


import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd

from airbnb_sync.core.settings import Settings
from airbnb_sync.datasets import DATASETS, Dataset, dataset_names
from airbnb_sync.defs.partitions import (
    decode_partition_keys,
    listings_of_tags,
    partition_key,
    run_totals_label,
)
from airbnb_sync.defs.resources import AirbnbResource, SyncClock, WarehouseResource
from airbnb_sync.defs.retries import StepRetries
from airbnb_sync.sync.accounts import SyncEnvironment
from airbnb_sync.sync.report import SyncReport
from airbnb_sync.sync.tables import (
    SyncFailed,
    TableSync,
    limit_listings,
    listing_ids_by_account,
    run_table,
    table_sync,
)
from airbnb_sync.warehouse.frames import FrameValidationError

VALID_SCHEMA = "valid_schema"
COMPLETE = "complete"
SYNCED_ASSETS = dataset_names()  # one asset per registered dataset (airbnb_sync.datasets)
IO_MANAGER_KEY = "warehouse_io_manager"
ListingIds = dict[str, list[str]]


def step_retries(settings: Settings) -> StepRetries:
    return StepRetries(max_retries=settings.run_retries, delay=settings.run_retry_delay)


def _options(name: str, partitions_def: dg.PartitionsDefinition, description: str,
             reads_listings: bool = False) -> dict[str, Any]:
    """What the synced assets share: partitions, single-run backfills, checks, IO manager."""
    return {
        "name": name,
        "description": description,
        "partitions_def": partitions_def,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "check_specs": [
            dg.AssetCheckSpec(VALID_SCHEMA, asset=name, description=(
                "The frame passed its Pandera model before it was written.")),
            dg.AssetCheckSpec(COMPLETE, asset=name, description=(
                "Every listing has every day or week of the partitions.")),
        ],
        "io_manager_key": IO_MANAGER_KEY,
        "group_name": "airbnb_insights",
        "kinds": {"python", "sql"},
        "ins": {"listings": dg.AssetIn(key="listings")} if reads_listings else {},
    }


def weeks_of(context: dg.AssetExecutionContext) -> dict[str, list[date]]:
    """Account -> its weeks in this run, whatever the shape of the range."""
    return weeks_of_keys(context.assets_def.partitions_def, context.partition_keys)


def weeks_of_keys(partitions_def: dg.PartitionsDefinition | None,
                  keys: Iterable[str]) -> dict[str, list[date]]:
    """`decode_partition_keys` once for a run's keys: the IO manager's inputs and outputs
    and the assets of every step ask for the same ones; each caller gets lists of its own."""
    decoded = _decoded(partitions_def, tuple(sorted(keys)))  # the two contexts order them apart
    return {account: list(weeks) for account, weeks in decoded.items()}


@functools.lru_cache(maxsize=4)
def _decoded(partitions_def: dg.PartitionsDefinition | None,
             keys: tuple[str, ...]) -> dict[str, tuple[date, ...]]:
    weeks = decode_partition_keys(partitions_def, keys)  # type: ignore[arg-type]
    return {account: tuple(account_weeks) for account, account_weeks in weeks.items()}


@contextmanager
def failures_as_dagster(context: dg.AssetExecutionContext,
                        retries: StepRetries) -> Iterator[None]:
    """Turn our errors into a `dg.Failure`, retried only when the error says it may pass."""
    with retries.retry_what_may_pass(context.retry_number):
        try:
            yield
        except SyncFailed as exc:
            raise dg.Failure(description=str(exc), metadata={
                **_metadata(exc.report),
                "error_classes": dg.MetadataValue.json(exc.report.error_classes())},
                allow_retries=exc.retryable) from None
        except Exception as exc:
            if not hasattr(exc, "retryable"):
                raise  # unforeseen (a lost database connection): retried, traceback kept
            raise dg.Failure(description=str(exc), allow_retries=bool(exc.retryable),
                             metadata={"error_classes": dg.MetadataValue.json(
                                 {"*": type(exc).__name__})}) from None


def materialize(context: dg.AssetExecutionContext, env: SyncEnvironment, table: TableSync,
                retries: StepRetries, weeks: dict[str, list[date]]) -> Iterator[Any]:
    """Run the table's sync and report it: output, checks, then a failure if incomplete.

    An incomplete run yields no output: Dagster would mark every partition of the step
    materialized, the incomplete ones included. Its rows were kept by the sync core; the
    `complete` check fails and the run fails naming the listings, so a retry completes it.
    """
    key = context.assets_def.key
    with failures_as_dagster(context, retries):
        try:
            result = run_table(env, table, weeks)
        except FrameValidationError as exc:
            yield dg.AssetCheckResult(asset_key=key, check_name=VALID_SCHEMA, passed=False,
                                      metadata={"errors": str(exc)})
            raise dg.Failure(description=f"{table.table}: nothing was written, the frame is "
                                         f"invalid: {exc}", allow_retries=False) from None
        report = result.report
        if not report.incomplete:
            yield dg.Output(result.frame, metadata={
                **_metadata(report), "listings": int(result.frame["listing_id"].nunique()),
                "figures": run_totals_label(weeks)})
        yield dg.AssetCheckResult(asset_key=key, check_name=VALID_SCHEMA, passed=True,
                                  metadata={"rows": len(result.frame)})
        yield dg.AssetCheckResult(
            asset_key=key, check_name=COMPLETE,
            passed=not result.gaps and not report.account_errors,
            metadata={"missing": dg.MetadataValue.json(result.gaps),
                      "failed_accounts": dg.MetadataValue.json(sorted(report.account_errors))})
        if report.incomplete:
            raise SyncFailed(report)


def _metadata(report: SyncReport) -> dict[str, Any]:
    return {
        "rows": len(report.records),
        "scraped_on": report.scraped_at.date().isoformat(),
        "anchor_shift_days": dg.MetadataValue.json(report.anchor_shifts),
        **report.stats.as_metadata(),
    }


def build_sync_assets(settings: Settings,
                      partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    retries = step_retries(settings)

    def environment(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    airbnb: AirbnbResource, clock: SyncClock) -> SyncEnvironment:
        return SyncEnvironment(settings=settings, warehouse=warehouse.engine(),
                               accounts=warehouse.accounts(settings),
                               airbnb=airbnb.client_factory(settings), now=clock.now(),
                               log=context.log, run_id=context.run_id,
                               partition_key=partition_key)

    def listing_ids(context: dg.AssetExecutionContext, listings: pd.DataFrame,
                    weeks: dict[str, list[date]]) -> ListingIds:
        """The stored listings of the run's weeks, limited to the run's listings when its
        tags name some (one shard of a big account's day)."""
        with failures_as_dagster(context, retries):
            stored = listing_ids_by_account(listings, list(weeks))
            return limit_listings(stored, listings_of_tags(context.run.tags))

    def dataset_asset(dataset: Dataset) -> dg.AssetsDefinition:
        """A dataset's asset; one that reads listings syncs those `listings` stored for the
        same weeks."""
        if not dataset.reads_listings:
            @dg.asset(**_options(dataset.name, partitions_def, description=dataset.description))
            def own(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    airbnb: AirbnbResource, clock: SyncClock) -> Iterator[Any]:
                yield from materialize(context, environment(context, warehouse, airbnb, clock),
                                       table_sync(dataset), retries, weeks_of(context))

            return own

        @dg.asset(**_options(dataset.name, partitions_def, description=dataset.description,
                             reads_listings=True))
        def metric(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                   airbnb: AirbnbResource, clock: SyncClock,
                   listings: pd.DataFrame) -> Iterator[Any]:
            weeks = weeks_of(context)
            yield from materialize(context, environment(context, warehouse, airbnb, clock),
                                   table_sync(dataset, listing_ids(context, listings, weeks)),
                                   retries, weeks)

        return metric

    return [dataset_asset(dataset) for dataset in DATASETS.values()]
