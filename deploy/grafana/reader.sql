-- The read-only database role of the Grafana dashboards (docker-compose.yml, profile
-- `dashboards`). psql variables: reader (the role), reader_password, and the two databases
-- warehouse and dagster. Run by deploy/timescaledb/020_grafana_reader.sh when the database is
-- first created, as the owner of both databases (airbnb_sync), so that the default privileges
-- below cover every table and view that airbnb-sync's migrations and Dagster create later.
-- Safe to run again on a database that has them already (except CREATE ROLE).
-- airbnb_sync_tests/deploy/test_grafana_dashboards.py applies this same file.
--
-- What keeps the role from writing is what it is not granted: no INSERT, UPDATE, DELETE or
-- TRUNCATE anywhere, no CREATE on any schema, no TEMP on either database, no sequence, and
-- (as a superuser runs this file in the Compose deployment) no large objects. PostgreSQL
-- lets any role `SET default_transaction_read_only = off` for its own session: the setting
-- below is a second fence, not the first.
CREATE ROLE :"reader" LOGIN PASSWORD :'reader_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
ALTER ROLE :"reader" SET default_transaction_read_only = on;

\connect :"warehouse"
-- The warehouse's schema; its migrations find it and create their tables in it.
CREATE SCHEMA IF NOT EXISTS airbnb;
-- TEMP is every role's by default (PUBLIC): kept for the owner alone (airbnb-sync's writes
-- stage batches in temporary tables), so the reader cannot create any.
REVOKE TEMPORARY ON DATABASE :"warehouse" FROM PUBLIC;
GRANT TEMPORARY ON DATABASE :"warehouse" TO CURRENT_USER;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE :"warehouse" TO :"reader";
GRANT USAGE ON SCHEMA airbnb TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA airbnb TO :"reader";
ALTER DEFAULT PRIVILEGES IN SCHEMA airbnb GRANT SELECT ON TABLES TO :"reader";
-- `accounts` holds the encrypted sessions (credentials): the reader gets the columns the
-- dashboards read and no other. On a database created after this file, migration 0005
-- does the same when it creates the table's grants (airbnb_sync/warehouse/migrations).
SELECT set_config('airbnb_sync.reader', :'reader', false);
DO $$
BEGIN
    IF to_regclass('airbnb.accounts') IS NOT NULL THEN
        EXECUTE format('REVOKE SELECT ON airbnb.accounts FROM %I',
                       current_setting('airbnb_sync.reader'));
        EXECUTE format('GRANT SELECT (account_id, label, is_active, auth_status, '
                       'auth_checked_at, last_sync_at, deleted_at) ON airbnb.accounts TO %I',
                       current_setting('airbnb_sync.reader'));
    END IF;
END $$;
-- Large objects can be created by any role, read-only default or not: only a superuser may
-- take that away (the functions belong to the system).
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
            pg_catalog.lo_from_bytea(oid, bytea), pg_catalog.lo_import(text),
            pg_catalog.lo_import(text, oid) FROM PUBLIC;
    END IF;
END $$;

\connect :"dagster"
-- Dagster's run storage, for the failed runs of the Operations dashboard.
REVOKE TEMPORARY ON DATABASE :"dagster" FROM PUBLIC;
GRANT TEMPORARY ON DATABASE :"dagster" TO CURRENT_USER;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE :"dagster" TO :"reader";
GRANT USAGE ON SCHEMA public TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO :"reader";
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
            pg_catalog.lo_from_bytea(oid, bytea), pg_catalog.lo_import(text),
            pg_catalog.lo_import(text, oid) FROM PUBLIC;
    END IF;
END $$;
