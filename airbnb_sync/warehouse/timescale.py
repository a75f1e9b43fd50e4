"""TimescaleDB extras: the extension, hypertables, and the Timescale-License policies.

Plain PostgreSQL works with the same tables; these only make the metric tables cheaper to
keep on TimescaleDB. Compression and retention are Timescale-License (TSL) features: the
Apache-only build (Debian's package) refuses them, so they are applied only when the license
allows and otherwise skipped with one warning per process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

import sqlalchemy as sa

from airbnb_sync.warehouse.declare import Hypertable
from airbnb_sync.warehouse.tables import INSIGHT_TABLES, PG_SCHEMA

logger = logging.getLogger(__name__)

# Each hypertable's chunk interval, time column, segment-by and order-by are declared with its
# table (`InsightTable.hypertable`, in the dataset's module); the policies below hold for all.
# Airbnb serves about 180 days back, so rows older than 30 weeks are never rewritten:
# compressing them never slows down an upsert.
COMPRESS_AFTER = "210 days"
# Figures older than Airbnb's horizon cannot be fetched again, so keep them for long.
DROP_AFTER = "5 years"


def hypertables() -> dict[str, Hypertable]:
    """The registered insight tables that are hypertables on TimescaleDB, by name (a
    migration passes the ones it creates to `setup_timescaledb` as they were then)."""
    return {name: declared.hypertable for name, declared in INSIGHT_TABLES.items()
            if declared.hypertable is not None}

_skip_warned = False
_skip_lock = threading.Lock()


def server_supports_timescaledb(connection: sa.Connection) -> bool:
    """Installed in this database, or installable: packaged and preloaded by the server
    (CREATE EXTENSION fails unless the library is in shared_preload_libraries)."""
    installed = connection.execute(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    ).first()
    if installed:
        return True
    available = connection.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    # pg_settings hides this setting from roles that may not read it; such roles could not
    # create the extension either.
    preloaded = connection.execute(
        sa.text("SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'")
    ).scalar_one_or_none()
    return bool(available) and "timescaledb" in str(preloaded or "")


def setup_timescaledb(connection: sa.Connection, tables: Mapping[str, Hypertable],
                      schema: str = PG_SCHEMA) -> None:
    """Create the extension and these hypertables, then the policies the license allows.
    Idempotent: every step is `if_not_exists`."""
    connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
    for table, hypertable in tables.items():
        # No default time index: the primary keys already lead with account and listing,
        # and an extra index would make the database differ from tables.py.
        connection.execute(
            sa.text(
                "SELECT create_hypertable(CAST(:relation AS regclass), :time_column, "
                "chunk_time_interval => CAST(:chunk AS interval), "
                "create_default_indexes => FALSE, migrate_data => TRUE, if_not_exists => TRUE)"
            ),
            {"relation": f"{schema}.{table}", "time_column": hypertable.time_column,
             "chunk": hypertable.chunk_interval},
        )
    if license_allows_policies(connection):
        _add_policies(connection, tables, schema)
    else:
        warn_policies_skipped()


def license_allows_policies(connection: sa.Connection) -> bool:
    license_name = connection.execute(
        sa.text("SELECT current_setting('timescaledb.license', true)")
    ).scalar_one_or_none()
    return license_name == "timescale"


def warn_policies_skipped() -> None:
    """One warning per process: every run upgrades its warehouse, once is enough to know."""
    global _skip_warned
    with _skip_lock:
        if _skip_warned:
            return
        _skip_warned = True
    logger.warning(
        "TimescaleDB here is the Apache-2 build (timescaledb.license is not 'timescale'): "
        "skipping the compression (after %s) and retention (after %s) policies; the "
        "hypertables work without them", COMPRESS_AFTER, DROP_AFTER,
    )


def _add_policies(connection: sa.Connection, tables: Mapping[str, Hypertable],
                  schema: str) -> None:
    for table, hypertable in tables.items():
        relation = f"{schema}.{table}"
        enabled = connection.execute(
            sa.text(
                "SELECT compression_enabled FROM timescaledb_information.hypertables "
                "WHERE hypertable_schema = :schema AND hypertable_name = :table"
            ),
            {"schema": schema, "table": table},
        ).scalar_one()
        if not enabled:
            connection.execute(sa.text(
                f'ALTER TABLE "{schema}"."{table}" SET (timescaledb.compress, '
                f"timescaledb.compress_segmentby = '{hypertable.segment_by}', "
                f"timescaledb.compress_orderby = '{hypertable.order_by}')"
            ))
        connection.execute(
            sa.text("SELECT add_compression_policy(CAST(:relation AS regclass), "
                    "CAST(:after AS interval), if_not_exists => TRUE)"),
            {"relation": relation, "after": COMPRESS_AFTER},
        )
        connection.execute(
            sa.text("SELECT add_retention_policy(CAST(:relation AS regclass), "
                    "CAST(:after AS interval), if_not_exists => TRUE)"),
            {"relation": relation, "after": DROP_AFTER},
        )
