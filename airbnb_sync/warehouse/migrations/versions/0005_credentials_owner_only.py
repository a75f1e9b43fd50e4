"""The sessions column `accounts.credentials` is readable by the warehouse's owner only.

The Grafana reader (deploy/grafana/reader.sql) is given SELECT on every table of the schema,
`accounts` included, by default privileges, so it could read the encrypted sessions. On
PostgreSQL this revision replaces every other role's SELECT on `accounts` (PUBLIC's included)
with SELECT on the columns the dashboards read, which never include `credentials`. Roles are
found in the table's ACL, so it holds whatever the reader is called. SQLite has no roles.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from airbnb_sync.warehouse.tables import PG_SCHEMA

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose (a migration means the same whenever it runs); reader.sql names the
# same columns for a reader created after this revision.
READER_COLUMNS = ("account_id", "label", "is_active", "auth_status", "auth_checked_at",
                  "last_sync_at", "deleted_at")

_NARROW = """
DO $$
DECLARE
    reader text;
BEGIN
    FOR reader IN
        SELECT DISTINCT CASE WHEN acl.grantee = 0 THEN 'PUBLIC'
                             ELSE quote_ident(pg_get_userbyid(acl.grantee)) END
        FROM pg_class AS c, aclexplode(c.relacl) AS acl
        WHERE c.oid = '{table}'::regclass AND acl.privilege_type = 'SELECT'
          AND acl.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE SELECT ON {table} FROM %s', reader);
        IF reader <> 'PUBLIC' THEN
            EXECUTE format('GRANT SELECT ({columns}) ON {table} TO %s', reader);
        END IF;
    END LOOP;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_NARROW.format(table=f'"{PG_SCHEMA}".accounts',
                              columns=", ".join(READER_COLUMNS)))


def downgrade() -> None:
    """Column grants stay: handing the sessions back to other roles is never wanted."""
