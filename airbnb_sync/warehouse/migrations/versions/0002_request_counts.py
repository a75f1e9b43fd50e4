"""Requests sent to Airbnb per account and hour, for `airbnb-sync status`.

A new table only: existing data is untouched. Plain table on TimescaleDB too (it stays small:
old hours are pruned as new ones are recorded).

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_counts",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"],
                                name=op.f("fk_request_counts_account_id"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "hour", name=op.f("pk_request_counts")),
    )
    op.create_index("ix_request_counts_hour", "request_counts", ["hour"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_request_counts_hour", table_name="request_counts")
    op.drop_table("request_counts")
