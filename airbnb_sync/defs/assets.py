"""The synced assets, one per registered dataset: Dagster glue over `airbnb_sync.sync`.

Each asset turns its run's partitions into weeks per account, hands them to the plain sync
core with the run's resources (`run_settings`: the deployment's settings with the run's dry
run, retries and pacing), and reports the outcome in Dagster's terms: an output (the IO
manager upserts it), the `valid_schema` and `complete` checks, and a `Failure` whose
`allow_retries` is the error's own `retryable`.

The assets are module-level definitions without partitions; `with_grid` puts them on the
account x week grid when the definitions load, the one setting Dagster needs before a run.
"""


import functools
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd

from airbnb_sync.datasets import DATASETS, Dataset, dataset_names
from airbnb_sync.defs.partitions import (
    decode_partition_keys,
    listings_of_tags,
    partition_key,
    run_totals_label,
)
from airbnb_sync.defs.resources import AirbnbResource, RunSettings, SyncClock, WarehouseResource
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

# Single-run backfills are what README: How it works builds on; Dagster still labels them beta.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

VALID_SCHEMA = "valid_schema"
COMPLETE = "complete"
SYNCED_ASSETS = dataset_names()  # one asset per registered dataset (airbnb_sync.datasets)
IO_MANAGER_KEY = "warehouse_io_manager"
ListingIds = dict[str, list[str]]


def _options(name: str, description: str, reads_listings: bool = False) -> dict[str, Any]:
    """What the three assets share: single-run backfills, checks, IO manager (the partitions
    come at load time, `with_grid`)."""
    return {
        "name": name,
        "description": description,
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


def with_grid(assets: Sequence[dg.AssetsDefinition],
              partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The assets on the account x week grid of this load: the one setting they take at load
    time (Dagster needs the partitions to build the asset graph, before any run)."""
    return list(dg.map_asset_specs(
        lambda spec: spec.replace_attributes(partitions_def=partitions_def), assets))


def environment(context: dg.AssetExecutionContext, run: RunSettings,
                warehouse: WarehouseResource, airbnb: AirbnbResource,
                clock: SyncClock) -> SyncEnvironment:
    """What the sync core takes: the deployment's settings with this run's knobs."""
    run_settings = run.settings()
    return SyncEnvironment(settings=run_settings, warehouse=warehouse.engine(),
                           accounts=warehouse.accounts(run_settings),
                           airbnb=airbnb.client_factory(run_settings), now=clock.now(),
                           log=context.log, run_id=context.run_id, partition_key=partition_key)


def listing_ids(context: dg.AssetExecutionContext, listings: pd.DataFrame,
                weeks: dict[str, list[date]], retries: StepRetries) -> ListingIds:
    """The stored listings of the run's weeks, limited to the run's listings when its tags
    name some (one shard of a big account's day)."""
    with failures_as_dagster(context, retries):
        stored = listing_ids_by_account(listings, list(weeks))
        return limit_listings(stored, listings_of_tags(context.run.tags))


def dataset_asset(dataset: Dataset) -> dg.AssetsDefinition:
    """A dataset's asset; one that reads listings syncs those `listings` stored for the same
    weeks."""
    if not dataset.reads_listings:
        @dg.asset(**_options(dataset.name, description=dataset.description))
        def own(context: dg.AssetExecutionContext, run_settings: RunSettings,
                warehouse: WarehouseResource, airbnb: AirbnbResource,
                clock: SyncClock) -> Iterator[Any]:
            env = environment(context, run_settings, warehouse, airbnb, clock)
            yield from materialize(context, env, table_sync(dataset),
                                   run_settings.step_retries(), weeks_of(context))

        return own

    @dg.asset(**_options(dataset.name, description=dataset.description, reads_listings=True))
    def metric(context: dg.AssetExecutionContext, run_settings: RunSettings,
               warehouse: WarehouseResource, airbnb: AirbnbResource, clock: SyncClock,
               listings: pd.DataFrame) -> Iterator[Any]:
        weeks = weeks_of(context)
        retries = run_settings.step_retries()
        env = environment(context, run_settings, warehouse, airbnb, clock)
        yield from materialize(context, env,
                               table_sync(dataset, listing_ids(context, listings, weeks,
                                                                 retries)), retries, weeks)

    return metric


# One asset per registered dataset, in SYNCED_ASSETS order; `with_grid` puts them on the
# load's partitions.
SYNC_ASSETS = tuple(dataset_asset(dataset) for dataset in DATASETS.values())
