"""The installation's first week of the partition grid, persisted so it never moves.

A new warehouse gets the first week Airbnb served that day: the first Sunday no more than 180
days back, so every week of the grid can still be fetched whole. A warehouse that already
holds accounts or listings keeps the grid it had, from the earlier default 2025-01-05, so no
materialized partition leaves the grid.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from airbnb_sync.warehouse.tables import PG_SCHEMA

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose: a migration must mean the same thing whenever it runs.
EARLIER_DEFAULT = date(2025, 1, 5)
SERVED_DAYS_BACK = 180


def first_served_week(today: date) -> date:
    """The first Sunday on or after today - 180 days."""
    earliest = today - timedelta(days=SERVED_DAYS_BACK)
    return earliest + timedelta(days=(7 - earliest.isoweekday() % 7) % 7)


def _qualified(name: str) -> str:
    """Raw SQL is not schema-translated: name the PostgreSQL schema explicitly."""
    if op.get_bind().dialect.name == "postgresql":
        return f'"{PG_SCHEMA}"."{name}"'
    return f'"{name}"'


def upgrade() -> None:
    table = op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_week", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    connection = op.get_bind()
    in_use = any(connection.execute(sa.text(f"SELECT 1 FROM {_qualified(name)} LIMIT 1")).first()
                 for name in ("accounts", "listings"))
    now = datetime.now(UTC)
    first_week = EARLIER_DEFAULT if in_use else first_served_week(now.date())
    op.bulk_insert(table, [{"id": 1, "first_week": first_week, "created_at": now}])


def downgrade() -> None:
    op.drop_table("installation")
