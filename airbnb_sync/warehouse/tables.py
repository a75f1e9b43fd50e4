"""The warehouse's tables (README: The warehouse): the insight tables declared once, and
their SQLAlchemy Core tables derived from that declaration; the plain tables in SQLAlchemy directly.

`INSIGHT_TABLES` is the one declaration of `listings`, `conversion_metrics` and
`visibility_metrics`: `warehouse.frames` derives their Pandera schemas from it and
`warehouse.record_schemas` the JSON Schemas of their parsed records.

Tables are declared without a schema; on PostgreSQL the engine maps them into schema `airbnb`
with `schema_translate_map` (see `warehouse.engine`), so SQLite and PostgreSQL share one
definition.
"""

from __future__ import annotations

import sqlalchemy as sa

from airbnb_sync.warehouse.declare import (
    CHANGE,
    COUNT,
    DAY,
    ID,
    MOMENT,
    RATE,
    SUNDAY,
    TEXT,
    Field,
    InsightTable,
    UtcTimestamp,
)

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
    # The session: when a paste stored it, when Airbnb last rotated it, when it expires.
    sa.Column("session_stored_at", UtcTimestamp, nullable=True),
    sa.Column("session_rotated_at", UtcTimestamp, nullable=True),
    sa.Column("session_expires_at", UtcTimestamp, nullable=True),
    # A fresh session stored while Airbnb refused the old one: when, and since when the
    # account had been out (its last sync, or the refusal when it never synced).
    sa.Column("session_restored_at", UtcTimestamp, nullable=True),
    sa.Column("outage_started_at", UtcTimestamp, nullable=True),
    sa.CheckConstraint("auth_status IN ('ok', 'expired', 'unknown')", name="auth_status"),
)

INSIGHT_TABLES: dict[str, InsightTable] = {
    table.name: table
    for table in (
        InsightTable(
            "listings",
            "what a host's listings were called in a week",
            (
                Field("account_id", ID, key=True, references="accounts.account_id"),
                Field("listing_id", ID, key=True),
                Field("week_start", SUNDAY, key=True),
                Field("listing_name", TEXT, nullable=True),
                Field("internal_name", TEXT, nullable=True),
                Field("thumbnail_url", TEXT, nullable=True),
                Field("scraped_at", MOMENT),
            ),
        ),
        InsightTable(
            "conversion_metrics",
            "daily series of a listing and of similar listings (ChartQuery), one snapshot per "
            "UTC day of scraping",
            (
                Field("account_id", ID, key=True, references="accounts.account_id"),
                Field("listing_id", ID, key=True),
                Field("metric_date", DAY, key=True),
                Field("scraped_on", DAY, key=True),
                Field("week_start", SUNDAY),
                Field("conversion_rate_your", RATE, nullable=True),
                Field("conversion_rate_similar", RATE, nullable=True),
                Field("p3_impressions_your", COUNT, nullable=True),
                Field("p3_impressions_similar", COUNT, nullable=True),
                Field("scraped_at", MOMENT),
            ),
            row_rules=("scraped_on_is_utc_day_of_scraped_at", "metric_date_within_week"),
            indexes=(("ix_conversion_metrics_week", ("account_id", "week_start")),),
            time_column="metric_date",
        ),
        InsightTable(
            "visibility_metrics",
            "a listing's aggregates over one week (ListOfMetricsQuery), one snapshot per UTC "
            "day of scraping",
            (
                Field("account_id", ID, key=True, references="accounts.account_id"),
                Field("listing_id", ID, key=True),
                Field("week_start", SUNDAY, key=True),
                Field("scraped_on", DAY, key=True),
                Field("week_end", DAY),
                Field("conversion_rate", RATE, nullable=True),
                Field("p2_impressions_first_page_rate", RATE, nullable=True),
                Field("search_conversion_rate", RATE, nullable=True),
                Field("listing_conversion_rate", RATE, nullable=True),
                Field("p3_impressions", COUNT, nullable=True),
                Field("p2_impressions", COUNT, nullable=True),
                Field("conversion_rate_change", CHANGE, nullable=True),
                Field("p3_impressions_change", CHANGE, nullable=True),
                Field("scraped_at", MOMENT),
            ),
            row_rules=("scraped_on_is_utc_day_of_scraped_at", "week_end_is_week_start_plus_6"),
            time_column="week_start",
        ),
    )
}


def _sql_table(declared: InsightTable) -> sa.Table:
    """The SQLAlchemy table of a declaration; the constraint names come from `metadata`."""
    columns = [
        sa.Column(
            field.name,
            field.kind.sql,
            *([sa.ForeignKey(field.references, ondelete="CASCADE")] if field.references else []),
            primary_key=field.key,
            nullable=field.nullable,
        )
        for field in declared.fields
    ]
    indexes = [sa.Index(name, *index_columns) for name, index_columns in declared.indexes]
    return sa.Table(declared.name, metadata, *columns, *indexes)


listings = _sql_table(INSIGHT_TABLES["listings"])
conversion_metrics = _sql_table(INSIGHT_TABLES["conversion_metrics"])
visibility_metrics = _sql_table(INSIGHT_TABLES["visibility_metrics"])

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

# The tables the IO manager writes, by name.
METRIC_TABLES: dict[str, sa.Table] = {
    "listings": listings,
    "conversion_metrics": conversion_metrics,
    "visibility_metrics": visibility_metrics,
}

# Time column of each hypertable on TimescaleDB.
HYPERTABLE_TIME_COLUMNS: dict[str, str] = {
    name: declared.time_column
    for name, declared in INSIGHT_TABLES.items()
    if declared.time_column is not None
}

# The snapshot tables (keyed by scraped_on) each have a view of the newest snapshot per key:
# view -> (table, the key without scraped_on).
LATEST_VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    f"{name}_latest": (name, tuple(column for column in declared.key if column != "scraped_on"))
    for name, declared in INSIGHT_TABLES.items()
    if "scraped_on" in declared.key
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


# The installation's own facts, one row (id 1): the first week of the partition grid, fixed
# when the warehouse was created so that the partitions never move (migration 0003 writes it;
# AIRBNB_SYNC_FIRST_WEEK still wins). In the warehouse because it is the one store every
# process of a deployment shares and keeps (DAGSTER_HOME is not kept under Compose).
installation = sa.Table(
    "installation",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("first_week", sa.Date, nullable=False),
    sa.Column("created_at", UtcTimestamp, nullable=False),
)


# Bearer tokens of the REST API (`airbnb-sync api token ...`): only a SHA-256 of each token is
# kept (the tokens are 256 random bits, so a plain hash cannot be reversed or guessed; README:
# REST API), with its scope (one account or all), whether it may write, and when it was last
# used. Revoked tokens stay listed, with the time they were revoked.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("token_sha256", sa.Text, nullable=False, unique=True),
    sa.Column("account_id", sa.Text, nullable=True),
    sa.Column("read_only", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("last_used_at", UtcTimestamp, nullable=True),
    sa.Column("revoked_at", UtcTimestamp, nullable=True),
)

# One-time invite links (`airbnb-sync api invite`): only the SHA-256 of a link's token is
# stored. account_id NULL: the link registers a new account; used_by is the account it served.
invites = sa.Table(
    "invites",
    metadata,
    sa.Column("token_sha256", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=True),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("expires_at", UtcTimestamp, nullable=False),
    sa.Column("used_at", UtcTimestamp, nullable=True),
    sa.Column("used_by", sa.Text, nullable=True),
)
