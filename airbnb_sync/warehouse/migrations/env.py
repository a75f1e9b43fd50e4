"""Alembic environment: runs on the connection that `warehouse.migrate` hands over.

There is no alembic.ini: `migrate.alembic_config()` configures Alembic in code and passes
an open connection (already holding the migration lock) in `config.attributes`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from airbnb_sync.warehouse.tables import PG_SCHEMA, metadata

connection: sa.Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through airbnb_sync.warehouse.migrate (airbnb-sync db upgrade); "
        "it passes the connection and holds the migration lock"
    )

is_postgres = connection.dialect.name == "postgresql"
if is_postgres:
    # Alembic creates its version table before the first migration, in this schema.
    connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{PG_SCHEMA}"'))

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table_schema=PG_SCHEMA if is_postgres else None,
    render_as_batch=not is_postgres,
    compare_type=True,
    transactional_ddl=True,
)

with context.begin_transaction():
    context.run_migrations()
