#!/bin/sh
# Creates the read-only role `grafana_reader` of the Grafana dashboards (profile `dashboards`)
# when the database is first initialised, with deploy/grafana/reader.sql. Without
# GRAFANA_DB_PASSWORD (no dashboards wanted) it does nothing. To add the role to a database
# that already exists: docker compose exec timescaledb sh /docker-entrypoint-initdb.d/020_grafana_reader.sh
set -eu
if [ -z "${GRAFANA_DB_PASSWORD:-}" ]; then
    echo "GRAFANA_DB_PASSWORD is not set: no grafana_reader role (dashboards profile unused)"
    exit 0
fi
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader=grafana_reader -v reader_password="$GRAFANA_DB_PASSWORD" \
    -v warehouse="$POSTGRES_DB" -v dagster=dagster \
    -f /opt/airbnb-sync/grafana-reader.sql
