"""SQLAlchemy Core tables: the single source of the warehouse's DDL (DESIGN.md §3).

Tables are declared without a schema; on PostgreSQL the engine maps them into schema
`airbnb` with `schema_translate_map` (see `warehouse.engine`), so SQLite and PostgreSQL
share one definition.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
    }
)

PG_SCHEMA = "airbnb"

UtcTimestamp = sa.DateTime(timezone=True)


def _account_fk() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.account_id", ondelete="CASCADE")


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Uuid(as_uuid=False), nullable=True),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("credentials", sa.Text, nullable=False, comment="Fernet token of the session"),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("auth_status", sa.Text, nullable=False, server_default="unknown"),
    sa.Column("auth_checked_at", UtcTimestamp, nullable=True),
    sa.Column("last_sync_at", UtcTimestamp, nullable=True),
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("updated_at", UtcTimestamp, nullable=False),
    sa.Column("deleted_at", UtcTimestamp, nullable=True),
    sa.CheckConstraint("auth_status IN ('ok', 'expired', 'unknown')", name="auth_status"),
)

listings = sa.Table(
    "listings",
    metadata,
    sa.Column("account_id", sa.Text, _account_fk(), primary_key=True),
    sa.Column("listing_id", sa.Text, primary_key=True),
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("listing_name", sa.Text, nullable=True),
    sa.Column("internal_name", sa.Text, nullable=True),
    sa.Column("thumbnail_url", sa.Text, nullable=True),
    sa.Column("scraped_at", UtcTimestamp, nullable=False),
)

conversion_metrics = sa.Table(
    "conversion_metrics",
    metadata,
    sa.Column("account_id", sa.Text, _account_fk(), primary_key=True),
    sa.Column("listing_id", sa.Text, primary_key=True),
    sa.Column("metric_date", sa.Date, primary_key=True),
    sa.Column("scraped_on", sa.Date, primary_key=True),
    sa.Column("week_start", sa.Date, nullable=False),
    sa.Column("conversion_rate_your", sa.Float(precision=53), nullable=True),
    sa.Column("conversion_rate_similar", sa.Float(precision=53), nullable=True),
    sa.Column("p3_impressions_your", sa.BigInteger, nullable=True),
    sa.Column("p3_impressions_similar", sa.BigInteger, nullable=True),
    sa.Column("scraped_at", UtcTimestamp, nullable=False),
    sa.Index("ix_conversion_metrics_week", "account_id", "week_start"),
)

visibility_metrics = sa.Table(
    "visibility_metrics",
    metadata,
    sa.Column("account_id", sa.Text, _account_fk(), primary_key=True),
    sa.Column("listing_id", sa.Text, primary_key=True),
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("scraped_on", sa.Date, primary_key=True),
    sa.Column("week_end", sa.Date, nullable=False),
    sa.Column("conversion_rate", sa.Float(precision=53), nullable=True),
    sa.Column("p2_impressions_first_page_rate", sa.Float(precision=53), nullable=True),
    sa.Column("search_conversion_rate", sa.Float(precision=53), nullable=True),
    sa.Column("listing_conversion_rate", sa.Float(precision=53), nullable=True),
    sa.Column("p3_impressions", sa.BigInteger, nullable=True),
    sa.Column("p2_impressions", sa.BigInteger, nullable=True),
    sa.Column("conversion_rate_change", sa.Float(precision=53), nullable=True),
    sa.Column("p3_impressions_change", sa.Float(precision=53), nullable=True),
    sa.Column("scraped_at", UtcTimestamp, nullable=False),
)

# Per-account request state shared by every process that syncs the account: when it may send
# its next request (so a Retry-After seen by one run also holds back the others), and the
# anchor day Airbnb counts relative offsets from, as measured by the last calibration.
request_pacing = sa.Table(
    "request_pacing",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("not_before", UtcTimestamp, nullable=True),
    sa.Column("anchor_day", sa.Date, nullable=True),
    sa.Column("anchor_measured_on", sa.Date, nullable=True),
)

# The tables the IO manager writes, with the columns of their unique key.
METRIC_TABLES: dict[str, sa.Table] = {
    "listings": listings,
    "conversion_metrics": conversion_metrics,
    "visibility_metrics": visibility_metrics,
}

# Time column of each hypertable on TimescaleDB.
HYPERTABLE_TIME_COLUMNS: dict[str, str] = {
    "conversion_metrics": "metric_date",
    "visibility_metrics": "week_start",
}

LATEST_VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "conversion_metrics_latest": (
        "conversion_metrics", ("account_id", "listing_id", "metric_date"),
    ),
    "visibility_metrics_latest": (
        "visibility_metrics", ("account_id", "listing_id", "week_start"),
    ),
}


def key_columns(table: sa.Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


# Requests sent to Airbnb per account and UTC hour (retries included), for `airbnb-sync
# status`: an operator sees how hard each account leans on Airbnb. Old hours are pruned.
request_counts = sa.Table(
    "request_counts",
    metadata,
    sa.Column("account_id", sa.Text, _account_fk(), primary_key=True),
    sa.Column("hour", UtcTimestamp, primary_key=True),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Index("ix_request_counts_hour", "hour"),
)
