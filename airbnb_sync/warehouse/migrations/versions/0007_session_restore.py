"""When a fresh session replaced one Airbnb had refused, and when that outage began.

Two nullable columns on `accounts`: the `session_restored` sensor alerts once per restore and
asks for the weeks the schedule skipped meanwhile (README: Sessions). Existing rows hold no
restore. Plain ALTER TABLE ADD COLUMN on every backend.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from airbnb_sync.warehouse.tables import PG_SCHEMA

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("session_restored_at", "outage_started_at")


def _schema() -> str | None:
    """ALTER TABLE is not schema-translated: name the PostgreSQL schema explicitly."""
    return PG_SCHEMA if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("accounts", sa.Column(name, sa.DateTime(timezone=True), nullable=True),
                      schema=_schema())


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=_schema()) as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
