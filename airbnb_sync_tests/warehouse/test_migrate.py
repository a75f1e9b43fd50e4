"""Alembic migrations on every database: from empty, re-applied, raced, equal to tables.py."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from warehouse_rows import (
    ACCOUNT,
    LISTING,
    SCRAPED_AT,
    WEEK,
    add_accounts,
    conversion_records,
    frame_of,
    visibility_record,
)

from airbnb_sync.warehouse import timescale
from airbnb_sync.warehouse.engine import dialect_of
from airbnb_sync.warehouse.migrate import (
    current_revision,
    forget_upgrades,
    head_revision,
    status,
    upgrade_to_head,
)
from airbnb_sync.warehouse.tables import PG_SCHEMA, metadata
from airbnb_sync.warehouse.upsert import write_frame

TABLES = {"accounts", "listings", "conversion_metrics", "visibility_metrics", "request_pacing",
          "api_tokens"}
VIEWS = {"conversion_metrics_latest", "visibility_metrics_latest"}


def _schema(engine: sa.Engine) -> str | None:
    return PG_SCHEMA if engine.dialect.name == "postgresql" else None


def test_upgrade_from_empty_creates_tables_views_and_version(engine: sa.Engine) -> None:
    assert current_revision(engine) is None
    assert "not initialised" in status(engine)

    upgrade_to_head(engine)

    inspector = sa.inspect(engine)
    schema = _schema(engine)
    assert set(inspector.get_table_names(schema=schema)) >= TABLES
    assert set(inspector.get_view_names(schema=schema)) == VIEWS
    assert current_revision(engine) == head_revision()
    assert status(engine).endswith(f"at revision {head_revision()} (head)")
    if engine.dialect.name == "postgresql":
        # Nothing leaks into the default schema, the version table included.
        assert not set(inspector.get_table_names(schema="public")) & (TABLES | {"alembic_version"})
        assert "alembic_version" in inspector.get_table_names(schema=PG_SCHEMA)


def test_upgrade_is_idempotent(engine: sa.Engine) -> None:
    upgrade_to_head(engine)
    forget_upgrades()  # make the second call reach the database again
    upgrade_to_head(engine)
    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()


def test_status_never_shows_the_password(engine: sa.Engine) -> None:
    password = engine.url.password
    text = status(engine)
    assert engine.dialect.name in text or "timescaledb" in text
    if password:
        assert f":{password}@" not in text
        assert ":***@" in text


def test_concurrent_upgrades_from_two_processes_both_succeed(
        engine: sa.Engine, database_url: str) -> None:
    script = (
        "import sys\n"
        "from airbnb_sync.warehouse.engine import create_warehouse_engine\n"
        "from airbnb_sync.warehouse.migrate import upgrade_to_head\n"
        "upgrade_to_head(create_warehouse_engine(sys.argv[1]))\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, database_url],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outcomes = [(process.wait(timeout=120), process.stderr.read()) for process in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    assert current_revision(engine) == head_revision()
    assert set(sa.inspect(engine).get_table_names(schema=_schema(engine))) >= TABLES


def test_migrated_database_equals_tables_metadata(engine: sa.Engine) -> None:
    upgrade_to_head(engine)
    assert _differences(engine) == []

    # The comparison does see the tables: a missing index shows up.
    with engine.begin() as connection:
        prefix = f"{PG_SCHEMA}." if engine.dialect.name == "postgresql" else ""
        connection.exec_driver_sql(f"DROP INDEX {prefix}ix_conversion_metrics_week")
    assert [difference[0] for difference in _differences(engine)] == ["add_index"]


def _differences(engine: sa.Engine) -> list[object]:
    schema = _schema(engine)
    with engine.connect() as connection:
        if schema:
            # Compare the schema the tables live in, as the default one.
            connection.exec_driver_sql(f'SET search_path TO "{schema}"')
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True},
        )
        return [
            difference for difference in compare_metadata(context, metadata)
            if not _is_version_table(difference)
        ]


def _is_version_table(difference: object) -> bool:
    return (isinstance(difference, tuple) and difference[0] == "remove_table"
            and difference[1].name == "alembic_version")


def test_latest_views_show_the_newest_snapshot_per_key(engine: sa.Engine) -> None:
    upgrade_to_head(engine)
    add_accounts(engine, [ACCOUNT])
    later = SCRAPED_AT + timedelta(days=2)
    write_frame(engine, "conversion_metrics", frame_of("conversion_metrics", conversion_records(
        p3_impressions_your=1)))
    # The later snapshot covers only the first three days of the week.
    write_frame(engine, "conversion_metrics", frame_of("conversion_metrics", conversion_records(
        scraped_at=later, p3_impressions_your=2)[:3]))
    write_frame(engine, "visibility_metrics", frame_of("visibility_metrics", [
        visibility_record(p3_impressions=1),
        visibility_record(scraped_at=later, p3_impressions=2),
        visibility_record(listing_id="42", p3_impressions=3),
    ]))
    prefix = "airbnb." if engine.dialect.name == "postgresql" else ""
    with engine.connect() as connection:
        daily = connection.exec_driver_sql(
            "SELECT metric_date, p3_impressions_your, scraped_on "
            f"FROM {prefix}conversion_metrics_latest ORDER BY metric_date"
        ).all()
        weekly = connection.exec_driver_sql(
            f"SELECT listing_id, p3_impressions FROM {prefix}visibility_metrics_latest "
            "ORDER BY listing_id"
        ).all()
    assert [row[1] for row in daily] == [2, 2, 2, 1, 1, 1, 1]
    assert len({str(row[0]) for row in daily}) == 7
    assert sorted(weekly) == sorted([("42", 3), (LISTING, 2)])
    assert WEEK.isoformat() in str(daily[0][0])


def test_hypertables_on_timescaledb_only(engine: sa.Engine) -> None:
    upgrade_to_head(engine)
    if dialect_of(engine) != "timescaledb":
        with engine.connect() as connection:
            has_extension = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
            ).scalar_one() if engine.dialect.name == "postgresql" else 0
        assert has_extension == 0
        return
    with engine.connect() as connection:
        dimensions = connection.exec_driver_sql(
            "SELECT hypertable_name, column_name FROM timescaledb_information.dimensions "
            f"WHERE hypertable_schema = '{PG_SCHEMA}' ORDER BY hypertable_name"
        ).all()
    assert dimensions == [("conversion_metrics", "metric_date"),
                          ("visibility_metrics", "week_start")]


def test_migrated_hypertables_are_the_registered_datasets_settings(engine: sa.Engine) -> None:
    """The migrations restate each hypertable's settings; they must be the declared ones."""
    if dialect_of(engine) != "timescaledb":
        pytest.skip("TimescaleDB only")
    upgrade_to_head(engine)
    with engine.connect() as connection:
        dimensions = connection.exec_driver_sql(
            "SELECT hypertable_name, column_name, time_interval "
            "FROM timescaledb_information.dimensions "
            f"WHERE hypertable_schema = '{PG_SCHEMA}'"
        ).all()
    declared = timescale.hypertables()
    assert {name: (column, interval) for name, column, interval in dimensions} == {
        name: (table.time_column, timedelta(days=int(table.chunk_interval.split()[0])))
        for name, table in declared.items()}


def test_timescale_policies_follow_the_license_and_skips_are_logged_once(
        engine: sa.Engine, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if dialect_of(engine) != "timescaledb":
        pytest.skip("TimescaleDB only")
    monkeypatch.setattr(timescale, "_skip_warned", False)
    upgrade_to_head(engine)
    with caplog.at_level(logging.WARNING, logger=timescale.__name__), engine.begin() as connection:
        # idempotent: a second setup changes nothing
        timescale.setup_timescaledb(connection, timescale.hypertables())
        timescale.setup_timescaledb(connection, timescale.hypertables())
        licensed = timescale.license_allows_policies(connection)
        jobs = connection.exec_driver_sql(
            "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs "
            f"WHERE hypertable_schema = '{PG_SCHEMA}' ORDER BY 1, 2"
        ).all()
    skipped = [record for record in caplog.records
               if record.name == timescale.__name__ and "skipping" in record.getMessage()]
    if licensed:
        assert skipped == []
        assert {name for name, _ in jobs} == {"policy_compression", "policy_retention"}
        assert len(jobs) == 4
    else:
        assert len(skipped) == 1
        assert jobs == []
