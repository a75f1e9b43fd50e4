"""The warehouse on TimescaleDB's Timescale-License edition, the one users run under Compose.

The `timescale/timescaledb` image is the Community edition (`timescaledb.license = timescale`),
so there the compression and retention policies are created and old chunks get compressed.
Debian's Apache build (the `timescaledb` test server) never reaches that code, so these tests
run on the TSL server (AIRBNB_SYNC_TEST_TIMESCALEDB_TSL_URL) only: the policies, upserts into
compressed chunks, and migrations over a compressed database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pandas as pd
import psycopg2.errors
import pytest
import sqlalchemy as sa
from alembic import command
from database_servers import TIMESCALEDB_TSL, fresh_server_database
from warehouse_rows import (
    ACCOUNT,
    LISTING,
    OTHER_ACCOUNT,
    SCRAPED_AT,
    WEEK,
    add_accounts,
    conversion_records,
    frame_of,
    visibility_record,
)

from airbnb_sync.warehouse import timescale
from airbnb_sync.warehouse.migrate import (
    alembic_config,
    current_revision,
    forget_upgrades,
    head_revision,
    upgrade_to_head,
)
from airbnb_sync.warehouse.upsert import WriteResult, write_frame

pytestmark = pytest.mark.postgres

METRIC_TABLES = ("conversion_metrics", "visibility_metrics")
WEEKS = 16  # several chunks of each table (28-day and 84-day chunks)


@pytest.fixture
def database_url() -> Iterator[str]:
    """Overrides the root fixture: a fresh database on the TSL server only."""
    with fresh_server_database(TIMESCALEDB_TSL) as url:
        yield url


def metric_frame(table_name: str, scraped_at: Any = SCRAPED_AT, **figures: Any) -> pd.DataFrame:
    """WEEKS weeks of two listings of two accounts."""
    records: list[dict[str, Any]] = []
    for account_id in (ACCOUNT, OTHER_ACCOUNT):
        for listing_id in (LISTING, "7"):
            for week in range(WEEKS):
                start = WEEK - timedelta(weeks=week)
                if table_name == "conversion_metrics":
                    records += conversion_records(account_id, listing_id, start, scraped_at,
                                                  **figures)
                else:
                    records.append(visibility_record(account_id, listing_id, start, scraped_at,
                                                     **figures))
    return frame_of(table_name, records)


def rows_of(engine: sa.Engine, table_name: str) -> list[str]:
    """Every stored row's values, in order (xmin is left out: TimescaleDB moves rows
    between a chunk's compressed and uncompressed parts, which is not a change of figures)."""
    with engine.connect() as connection:
        return [row[0] for row in connection.exec_driver_sql(
            f'SELECT t::text FROM airbnb."{table_name}" t ORDER BY 1')]


def compress_every_chunk(engine: sa.Engine) -> None:
    """Compress every chunk now. The test data is older than the policy's 210 days, so the
    server's own policy job may have compressed some first: those are skipped."""
    pause_policies(engine)
    with engine.connect() as connection:
        chunks = [row[0] for table_name in METRIC_TABLES for row in connection.exec_driver_sql(
            f"SELECT c::text FROM show_chunks('airbnb.{table_name}') c")]
    for chunk in chunks:
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(
                    "SELECT compress_chunk(CAST(:chunk AS regclass), if_not_compressed => true)"),
                    {"chunk": chunk})
        except sa.exc.ProgrammingError as error:  # compressed meanwhile by the policy job
            if not isinstance(error.orig, psycopg2.errors.DuplicateObject):
                raise


def pause_policies(engine: sa.Engine) -> None:
    """Keep the server's scheduler from running the policies while a test drives them."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs "
            "WHERE hypertable_schema = 'airbnb'")


def compressed_chunks(engine: sa.Engine, table_name: str) -> tuple[int, int]:
    """(compressed chunks, all chunks) of a hypertable."""
    with engine.connect() as connection:
        return tuple(connection.execute(sa.text(
            "SELECT count(*) FILTER (WHERE is_compressed), count(*) "
            "FROM timescaledb_information.chunks "
            "WHERE hypertable_schema = 'airbnb' AND hypertable_name = :table"),
            {"table": table_name}).one())  # type: ignore[return-value]


def test_the_server_is_the_timescale_license_edition(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW timescaledb.license").scalar() == "timescale"


def test_compression_and_retention_policies_are_created(
        engine: sa.Engine, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timescale, "_skip_warned", False)
    with caplog.at_level(logging.WARNING, logger=timescale.__name__):
        upgrade_to_head(engine)
        with engine.begin() as connection:  # a second setup adds nothing
            timescale.setup_timescaledb(connection, timescale.hypertables())
    assert not [r for r in caplog.records if "skipping" in r.getMessage()]
    with engine.connect() as connection:
        jobs = connection.execute(sa.text(
            "SELECT proc_name, hypertable_name, "
            "coalesce(config->>'compress_after', config->>'drop_after') "
            "FROM timescaledb_information.jobs WHERE hypertable_schema = 'airbnb' "
            "ORDER BY 1, 2")).all()
        settings = connection.execute(sa.text(
            "SELECT hypertable_name, attname, segmentby_column_index, orderby_column_index "
            "FROM timescaledb_information.compression_settings "
            "WHERE hypertable_schema = 'airbnb' ORDER BY 1, 3, 4")).all()
    assert [tuple(job) for job in jobs] == [
        ("policy_compression", "conversion_metrics", "210 days"),
        ("policy_compression", "visibility_metrics", "210 days"),
        ("policy_retention", "conversion_metrics", "5 years"),
        ("policy_retention", "visibility_metrics", "5 years"),
    ]
    segment_by = {(table, column) for table, column, segment, _ in settings if segment}
    order_by = [(table, column) for table, column, segment, order in settings if order]
    assert segment_by == {(t, c) for t in METRIC_TABLES for c in ("account_id", "listing_id")}
    assert order_by == [("conversion_metrics", "metric_date"),
                        ("conversion_metrics", "scraped_on"),
                        ("visibility_metrics", "week_start"),
                        ("visibility_metrics", "scraped_on")]


@pytest.mark.parametrize("table_name", METRIC_TABLES)
def test_reupserts_into_compressed_chunks_change_nothing_and_duplicate_nothing(
        warehouse: sa.Engine, table_name: str) -> None:
    first = write_frame(warehouse, table_name, metric_frame(table_name))
    compress_every_chunk(warehouse)
    compressed, chunks = compressed_chunks(warehouse, table_name)
    assert compressed == chunks > 1
    stored = rows_of(warehouse, table_name)
    assert len(stored) == first.inserted

    # The same figures fetched again later the same day: nothing changes.
    again = write_frame(warehouse, table_name,
                        metric_frame(table_name, SCRAPED_AT + timedelta(hours=3)))
    assert again == WriteResult(unchanged=first.inserted)
    assert rows_of(warehouse, table_name) == stored

    # New figures the same day replace the old ones in place: still one row per key.
    figures = ({"p3_impressions_your": 999} if table_name == "conversion_metrics"
               else {"p3_impressions": 999})
    changed = write_frame(warehouse, table_name,
                          metric_frame(table_name, SCRAPED_AT + timedelta(hours=4), **figures))
    assert changed == WriteResult(updated=first.inserted)
    after = rows_of(warehouse, table_name)
    assert len(after) == len(stored) and len(set(after)) == len(after)
    column = next(iter(figures))
    with warehouse.connect() as connection:
        latest = connection.exec_driver_sql(
            f'SELECT count(*), min("{column}"), max("{column}") '
            f'FROM airbnb."{table_name}_latest"').one()
    assert tuple(latest) == (first.inserted, 999, 999)

    # The compression policy compresses again what the upserts decompressed (README).
    assert partially_compressed_chunks(warehouse, table_name) > 0
    run_compression_policy(warehouse, table_name)
    assert partially_compressed_chunks(warehouse, table_name) == 0
    assert rows_of(warehouse, table_name) == after


def run_compression_policy(engine: sa.Engine, table_name: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        job_id = connection.execute(sa.text(
            "SELECT job_id FROM timescaledb_information.jobs WHERE hypertable_schema = 'airbnb' "
            "AND hypertable_name = :table AND proc_name = 'policy_compression'"),
            {"table": table_name}).scalar_one()
        connection.execute(sa.text("CALL run_job(:job_id)"), {"job_id": job_id})


def partially_compressed_chunks(engine: sa.Engine, table_name: str) -> int:
    """Chunks with rows written after compression (TimescaleDB's chunk status flag 8)."""
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT count(*) FROM _timescaledb_catalog.chunk c "
            "JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id "
            "WHERE h.schema_name = 'airbnb' AND h.table_name = :table "
            "AND NOT c.dropped AND c.status & 8 = 8"), {"table": table_name}).scalar_one()


def test_migrations_apply_on_an_existing_compressed_database(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
    assert current_revision(engine) == "0001" != head_revision()
    add_accounts(engine, [ACCOUNT, OTHER_ACCOUNT])
    for table_name in METRIC_TABLES:
        write_frame(engine, table_name, metric_frame(table_name))
    compress_every_chunk(engine)
    before = {table_name: rows_of(engine, table_name) for table_name in METRIC_TABLES}

    forget_upgrades()
    upgrade_to_head(engine)

    assert current_revision(engine) == head_revision()
    for table_name in METRIC_TABLES:
        assert rows_of(engine, table_name) == before[table_name]
        compressed, chunks = compressed_chunks(engine, table_name)
        assert compressed == chunks > 1
        # and the migrated warehouse still takes writes into its compressed chunks
        assert write_frame(engine, table_name, metric_frame(table_name)) == WriteResult(
            unchanged=len(before[table_name]))
