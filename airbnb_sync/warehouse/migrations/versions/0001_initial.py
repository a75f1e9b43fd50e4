"""Initial warehouse: accounts, listings, the two metric tables, their latest views.

On TimescaleDB the metric tables become hypertables (see `warehouse.timescale`).

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from airbnb_sync.warehouse.declare import Hypertable
from airbnb_sync.warehouse.tables import PG_SCHEMA
from airbnb_sync.warehouse.timescale import server_supports_timescaledb, setup_timescaledb

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The hypertables this revision creates on TimescaleDB, as they were declared then: chunks of
# about a month of daily rows and of a quarter of weekly rows.
HYPERTABLES: dict[str, Hypertable] = {
    "conversion_metrics": Hypertable("metric_date", "28 days", "metric_date, scraped_on"),
    "visibility_metrics": Hypertable("week_start", "84 days", "week_start, scraped_on"),
}

# view -> (table, columns of the key whose newest scraped_on the view keeps)
LATEST_VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "conversion_metrics_latest": (
        "conversion_metrics", ("account_id", "listing_id", "metric_date"),
    ),
    "visibility_metrics_latest": (
        "visibility_metrics", ("account_id", "listing_id", "week_start"),
    ),
}


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                   name=op.f(f"fk_{table}_account_id"), ondelete="CASCADE")


def _qualified(name: str) -> str:
    """Raw SQL is not schema-translated: name the PostgreSQL schema explicitly."""
    if op.get_bind().dialect.name == "postgresql":
        return f'"{PG_SCHEMA}"."{name}"'
    return f'"{name}"'


def _latest_view_sql(view: str, table: str, key: tuple[str, ...]) -> str:
    """Portable SQL (SQLite and PostgreSQL): the rows whose scraped_on is the newest of their
    key; the correlated MAX is answered from the primary key index."""
    same_key = " AND ".join(f"s.{column} = t.{column}" for column in key)
    return (
        f"CREATE VIEW {_qualified(view)} AS SELECT t.* FROM {_qualified(table)} t "
        f"WHERE t.scraped_on = (SELECT MAX(s.scraped_on) FROM {_qualified(table)} s "
        f"WHERE {same_key})"
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("credentials", sa.Text(), nullable=False, comment="Fernet token of the session"),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("auth_status", sa.Text(), server_default="unknown", nullable=False),
        sa.Column("auth_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("auth_status IN ('ok', 'expired', 'unknown')",
                           name=op.f("ck_accounts_auth_status")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "request_pacing",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anchor_day", sa.Date(), nullable=True),
        sa.Column("anchor_measured_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_request_pacing")),
    )
    op.create_table(
        "listings",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("listing_id", sa.Text(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("listing_name", sa.Text(), nullable=True),
        sa.Column("internal_name", sa.Text(), nullable=True),
        sa.Column("thumbnail_url", sa.Text(), nullable=True),
        sa.Column("scraped_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("listings"),
        sa.PrimaryKeyConstraint("account_id", "listing_id", "week_start",
                                name=op.f("pk_listings")),
    )
    op.create_table(
        "conversion_metrics",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("listing_id", sa.Text(), nullable=False),
        sa.Column("metric_date", sa.Date(), nullable=False),
        sa.Column("scraped_on", sa.Date(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("conversion_rate_your", sa.Float(precision=53), nullable=True),
        sa.Column("conversion_rate_similar", sa.Float(precision=53), nullable=True),
        sa.Column("p3_impressions_your", sa.BigInteger(), nullable=True),
        sa.Column("p3_impressions_similar", sa.BigInteger(), nullable=True),
        sa.Column("scraped_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("conversion_metrics"),
        sa.PrimaryKeyConstraint("account_id", "listing_id", "metric_date", "scraped_on",
                                name=op.f("pk_conversion_metrics")),
    )
    op.create_index("ix_conversion_metrics_week", "conversion_metrics",
                    ["account_id", "week_start"], unique=False)
    op.create_table(
        "visibility_metrics",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("listing_id", sa.Text(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("scraped_on", sa.Date(), nullable=False),
        sa.Column("week_end", sa.Date(), nullable=False),
        sa.Column("conversion_rate", sa.Float(precision=53), nullable=True),
        sa.Column("p2_impressions_first_page_rate", sa.Float(precision=53), nullable=True),
        sa.Column("search_conversion_rate", sa.Float(precision=53), nullable=True),
        sa.Column("listing_conversion_rate", sa.Float(precision=53), nullable=True),
        sa.Column("p3_impressions", sa.BigInteger(), nullable=True),
        sa.Column("p2_impressions", sa.BigInteger(), nullable=True),
        sa.Column("conversion_rate_change", sa.Float(precision=53), nullable=True),
        sa.Column("p3_impressions_change", sa.Float(precision=53), nullable=True),
        sa.Column("scraped_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("visibility_metrics"),
        sa.PrimaryKeyConstraint("account_id", "listing_id", "week_start", "scraped_on",
                                name=op.f("pk_visibility_metrics")),
    )
    for view, (table, key) in LATEST_VIEWS.items():
        op.execute(_latest_view_sql(view, table, key))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and server_supports_timescaledb(bind):
        setup_timescaledb(bind, HYPERTABLES, PG_SCHEMA)


def downgrade() -> None:
    for view in LATEST_VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {_qualified(view)}")
    op.drop_table("visibility_metrics")
    op.drop_index("ix_conversion_metrics_week", table_name="conversion_metrics")
    op.drop_table("conversion_metrics")
    op.drop_table("listings")
    op.drop_table("request_pacing")
    op.drop_table("accounts")
