"""The warehouse's tables (README: The warehouse): the insight tables declared once, and
their SQLAlchemy Core tables derived from that declaration; the plain tables in SQLAlchemy directly.

`INSIGHT_TABLES` holds the insight tables (`listings`, `conversion_metrics`,
`visibility_metrics`), each declared once by its dataset (`airbnb_sync.datasets`) and registered
here with `register_insight_table`: `warehouse.frames` derives their Pandera schemas from it
and `warehouse.record_schemas` the JSON Schemas of their parsed records.

Tables are declared without a schema; on PostgreSQL the engine maps them into schema `airbnb`
with `schema_translate_map` (see `warehouse.engine`), so SQLite and PostgreSQL share one
definition.
"""

from __future__ import annotations

import sqlalchemy as sa

from airbnb_sync.warehouse.declare import InsightTable, UtcTimestamp

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

# The insight tables, by name, in the order their datasets were registered: each dataset's
# module (`airbnb_sync.datasets`) declares its table and registers it here, so the warehouse
# derives everything below from declarations it does not hold (it sits below them).
INSIGHT_TABLES: dict[str, InsightTable] = {}
# The tables the IO manager writes, by name.
METRIC_TABLES: dict[str, sa.Table] = {}
# Time column of each hypertable on TimescaleDB.
HYPERTABLE_TIME_COLUMNS: dict[str, str] = {}
# The snapshot tables (keyed by scraped_on) each have a view of the newest snapshot per key:
# view -> (table, the key without scraped_on).
LATEST_VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {}


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


def register_insight_table(declared: InsightTable) -> sa.Table:
    """Add an insight table to `metadata` and to the maps above; its SQLAlchemy table.

    Registering the same declaration again returns the same table; another declaration of
    a registered name is refused (two datasets cannot share a table)."""
    known = INSIGHT_TABLES.get(declared.name)
    if known is not None:
        if known is not declared:
            raise ValueError(f"insight table {declared.name!r} is already declared")
        return METRIC_TABLES[declared.name]
    if declared.name in metadata.tables:
        raise ValueError(f"table {declared.name!r} already exists in the warehouse")
    table = _sql_table(declared)
    INSIGHT_TABLES[declared.name] = declared
    METRIC_TABLES[declared.name] = table
    if declared.time_column is not None:
        HYPERTABLE_TIME_COLUMNS[declared.name] = declared.time_column
    if "scraped_on" in declared.key:
        LATEST_VIEWS[f"{declared.name}_latest"] = (
            declared.name, tuple(column for column in declared.key if column != "scraped_on"))
    return table


def unregister_insight_table(name: str) -> None:
    """Forget an insight table (a test's own dataset); the database keeps whatever it holds."""
    INSIGHT_TABLES.pop(name, None)
    table = METRIC_TABLES.pop(name, None)
    HYPERTABLE_TIME_COLUMNS.pop(name, None)
    for view in [view for view, (source, _key) in LATEST_VIEWS.items() if source == name]:
        del LATEST_VIEWS[view]
    if table is not None:
        metadata.remove(table)


def __getattr__(name: str) -> sa.Table:
    """`tables.listings` and the like: a registered insight table by its name."""
    if name in METRIC_TABLES:
        return METRIC_TABLES[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r} (an insight table is "
                         "there once `airbnb_sync.datasets` registered it)")


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
