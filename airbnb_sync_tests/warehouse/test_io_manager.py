"""The warehouse IO manager through real Dagster runs over account x week partitions."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from warehouse_rows import (
    ACCOUNT,
    OTHER_ACCOUNT,
    SCRAPED_AT,
    WEEK,
    add_accounts,
    conversion_records,
    frame_of,
    listing_record,
    table_dump,
)

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.io_manager import WarehouseIOManager
from airbnb_sync.defs.partitions import (
    ACCOUNTS,
    decode_partition_keys,
    partition_key,
    range_tags,
    week_partitions,
)
from airbnb_sync.defs.resources import RunSettings, WarehouseResource, run_fields
from airbnb_sync.warehouse.migrate import current_revision, upgrade_to_head
from airbnb_sync.warehouse.upsert import write_frame


def io_manager_for(database_url: str, dry_run: bool) -> WarehouseIOManager:
    # No retries: a failed write fails the test's step at once.
    settings = replace(load_settings({}), dry_run=dry_run, run_retries=0, run_retry_delay=0.0)
    run_settings = RunSettings(deployment=settings, **run_fields(settings))
    return WarehouseIOManager(warehouse=WarehouseResource(database_url=database_url),
                              run_settings=run_settings)

PARTITIONS = dg.MultiPartitionsDefinition({
    "account": ACCOUNTS,
    "week": week_partitions(date(2025, 1, 5), lookahead_weeks=1),
})
NEXT_WEEK = WEEK + timedelta(days=7)
LISTINGS_PER_WEEK = ("11", "12")


def _weeks(context: dg.AssetExecutionContext) -> dict[str, list[date]]:
    return decode_partition_keys(PARTITIONS, context.partition_keys)


@dg.asset(name="listings", partitions_def=PARTITIONS,
          backfill_policy=dg.BackfillPolicy.single_run())
def listings_asset(context: dg.AssetExecutionContext) -> pd.DataFrame:
    return frame_of("listings", [
        listing_record(account_id=account, listing_id=listing, week=week)
        for account, weeks in _weeks(context).items() for week in weeks
        for listing in LISTINGS_PER_WEEK
    ])


@dg.asset(name="conversion_metrics", partitions_def=PARTITIONS,
          backfill_policy=dg.BackfillPolicy.single_run(),
          ins={"listings": dg.AssetIn(key="listings")})
def conversion_asset(context: dg.AssetExecutionContext, listings: pd.DataFrame) -> pd.DataFrame:
    """One week of daily rows for every listing the upstream partitions hold."""
    records = [
        record
        for row in listings.itertuples()
        for record in conversion_records(account_id=row.account_id, listing_id=row.listing_id,
                                         week=row.week_start.date())
    ]
    return frame_of("conversion_metrics", records)


@dg.asset(name="visibility_metrics", partitions_def=PARTITIONS)
def stray_asset(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """A buggy asset: it returns rows of a week its run does not cover."""
    return frame_of("listings", [listing_record(week=NEXT_WEEK)])


@dg.asset(partitions_def=PARTITIONS, io_manager_key="memory",
          ins={"conversion_metrics": dg.AssetIn(key="conversion_metrics")})
def conversion_summary(conversion_metrics: pd.DataFrame) -> list[int]:
    return conversion_metrics["p3_impressions_your"].tolist()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(ACCOUNTS.name, [ACCOUNT, OTHER_ACCOUNT])
        yield instance


@pytest.fixture
def prepared(engine: sa.Engine) -> sa.Engine:
    """Accounts must exist before metric rows reference them."""
    upgrade_to_head(engine)
    add_accounts(engine, [ACCOUNT, OTHER_ACCOUNT])
    return engine


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    """The IO manager's metadata of the run: Dagster repeats it on each partition's event."""
    materializations = result.asset_materializations_for_node(asset)
    assert materializations
    assert len({
        tuple(sorted((key, repr(value.value)) for key, value in event.metadata.items()))
        for event in materializations
    }) == 1
    return {key: value.value for key, value in materializations[0].metadata.items()}


def test_a_run_writes_its_partition_and_reports_counts(
        prepared: sa.Engine, database_url: str, instance: dg.DagsterInstance) -> None:
    io_manager = io_manager_for(database_url, dry_run=False)
    result = dg.materialize([listings_asset, conversion_asset], instance=instance,
                            partition_key=partition_key(ACCOUNT, WEEK),
                            resources={"io_manager": io_manager})

    assert result.success
    listings_metadata = _metadata(result, "listings")
    assert listings_metadata["rows_inserted"] == 2
    assert listings_metadata["rows_updated"] == 0
    assert listings_metadata["warehouse_table"] == "listings"
    assert listings_metadata["accounts_written"] == [ACCOUNT]
    # The downstream asset loaded both listings back and wrote a week of days for each.
    assert _metadata(result, "conversion_metrics")["rows_inserted"] == 14
    assert len(table_dump(prepared, "conversion_metrics")) == 14

    before = table_dump(prepared, "conversion_metrics")
    again = dg.materialize([listings_asset, conversion_asset], instance=instance,
                           partition_key=partition_key(ACCOUNT, WEEK),
                           resources={"io_manager": io_manager})
    assert _metadata(again, "conversion_metrics")["rows_unchanged"] == 14
    assert table_dump(prepared, "conversion_metrics") == before


def test_a_range_run_writes_every_week_of_the_range(
        prepared: sa.Engine, database_url: str, instance: dg.DagsterInstance) -> None:
    result = dg.materialize(
        [listings_asset, conversion_asset], instance=instance,
        tags=range_tags(OTHER_ACCOUNT, WEEK, NEXT_WEEK),
        resources={"io_manager": io_manager_for(database_url, dry_run=False)},
    )

    assert result.success
    assert len(result.asset_materializations_for_node("listings")) == 2  # one per week
    assert _metadata(result, "listings")["rows_inserted"] == 4
    assert _metadata(result, "conversion_metrics")["rows_inserted"] == 28
    with prepared.connect() as connection:
        prefix = "airbnb." if prepared.dialect.name == "postgresql" else ""
        weeks = connection.exec_driver_sql(
            f"SELECT DISTINCT account_id, week_start FROM {prefix}conversion_metrics "
            "ORDER BY week_start"
        ).all()
    assert [(account, str(week)[:10]) for account, week in weeks] == [
        (OTHER_ACCOUNT, WEEK.isoformat()), (OTHER_ACCOUNT, NEXT_WEEK.isoformat())]


def test_rows_outside_the_run_partitions_are_refused(
        prepared: sa.Engine, database_url: str, instance: dg.DagsterInstance) -> None:
    result = dg.materialize(
        [stray_asset], instance=instance, partition_key=partition_key(ACCOUNT, WEEK),
        resources={"io_manager": io_manager_for(database_url, dry_run=False)},
        raise_on_error=False,
    )

    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = str(failure.step_failure_data.error)
    assert "RowsOutsidePartitions" in message
    assert f"{ACCOUNT}|{NEXT_WEEK.isoformat()}" in message
    assert table_dump(prepared, "visibility_metrics") == []


def test_dry_run_writes_nothing_and_reports_what_it_would_write(
        engine: sa.Engine, database_url: str, instance: dg.DagsterInstance) -> None:
    result = dg.materialize(
        [listings_asset, conversion_asset], instance=instance,
        partition_key=partition_key(ACCOUNT, WEEK),
        resources={"io_manager": io_manager_for(database_url, dry_run=True)},
    )

    assert result.success
    metadata = _metadata(result, "listings")
    assert metadata["dry_run"] is True
    assert metadata["rows_would_write"] == 2
    assert "rows_inserted" not in metadata
    # Nothing was written upstream, yet the downstream asset got the listings the run
    # produced (kept in the run's storage folder): a week of days for each.
    assert _metadata(result, "conversion_metrics")["rows_would_write"] == 2 * 7
    if engine.dialect.name == "sqlite":
        assert not Path(engine.url.database or "").exists()
    else:
        assert current_revision(engine) is None


def test_load_input_reads_the_newest_snapshot_of_the_upstream_partitions(
        prepared: sa.Engine, database_url: str, instance: dg.DagsterInstance) -> None:
    write_frame(prepared, "conversion_metrics", frame_of("conversion_metrics",
                conversion_records(p3_impressions_your=1)))
    write_frame(prepared, "conversion_metrics", frame_of("conversion_metrics", conversion_records(
        scraped_at=SCRAPED_AT + timedelta(days=1), p3_impressions_your=2)))
    write_frame(prepared, "conversion_metrics", frame_of("conversion_metrics", conversion_records(
        week=NEXT_WEEK, p3_impressions_your=3)))

    result = dg.materialize(
        [listings_asset, conversion_asset, conversion_summary], selection=[conversion_summary],
        instance=instance, partition_key=partition_key(ACCOUNT, WEEK),
        resources={"io_manager": io_manager_for(database_url, dry_run=False),
                   "memory": dg.InMemoryIOManager()},
    )

    assert result.success
    assert result.output_for_node("conversion_summary") == [2] * 7

