"""When an account's session was stored, last rotated by Airbnb, and when it expires.

Three nullable columns on `accounts`: existing rows keep everything and show "unknown" until
their next paste or rotation. Plain ALTER TABLE ADD COLUMN on every backend.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from airbnb_sync.warehouse.tables import PG_SCHEMA

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("session_stored_at", "session_rotated_at", "session_expires_at")


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
