"""Migration 0004 (session times) applies on a warehouse that already holds accounts."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from airbnb_sync.warehouse.migrate import alembic_config, current_revision, head_revision
from airbnb_sync.warehouse.tables import PG_SCHEMA


def _accounts_table(engine: sa.Engine) -> str:
    return f"{PG_SCHEMA}.accounts" if engine.dialect.name == "postgresql" else "accounts"


def test_session_columns_are_added_to_an_existing_warehouse_keeping_its_accounts(
        engine: sa.Engine) -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0002")
    assert current_revision(engine) == "0002"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"INSERT INTO {_accounts_table(engine)} (account_id, credentials, is_active, "
            "auth_status, created_at, updated_at) VALUES ('58765432', 'token', true, 'ok', "
            "'2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')")

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")

    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        row = connection.exec_driver_sql(
            f"SELECT account_id, credentials, auth_status, session_stored_at, "
            f"session_rotated_at, session_expires_at FROM {_accounts_table(engine)}").one()
    assert tuple(row) == ("58765432", "token", "ok", None, None, None)
