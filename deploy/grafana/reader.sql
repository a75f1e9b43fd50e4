-- The read-only database role of the Grafana dashboards (docker-compose.yml, profile
-- `dashboards`). psql variables: reader (the role), reader_password, and the two databases
-- warehouse and dagster. Run by deploy/timescaledb/020_grafana_reader.sh when the database is
-- first created, as the owner of both databases (airbnb_sync), so that the default privileges
-- below cover every table and view that airbnb-sync's migrations and Dagster create later.
-- airbnb_sync_tests/deploy/test_grafana_dashboards.py applies this same file.
CREATE ROLE :"reader" LOGIN PASSWORD :'reader_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
-- Even a statement that slips past the grants cannot write.
ALTER ROLE :"reader" SET default_transaction_read_only = on;

\connect :"warehouse"
-- The warehouse's schema; its migrations find it and create their tables in it.
CREATE SCHEMA IF NOT EXISTS airbnb;
GRANT CONNECT ON DATABASE :"warehouse" TO :"reader";
GRANT USAGE ON SCHEMA airbnb TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA airbnb TO :"reader";
ALTER DEFAULT PRIVILEGES IN SCHEMA airbnb GRANT SELECT ON TABLES TO :"reader";

\connect :"dagster"
-- Dagster's run storage, for the failed runs of the Operations dashboard.
GRANT CONNECT ON DATABASE :"dagster" TO :"reader";
GRANT USAGE ON SCHEMA public TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO :"reader";
