-- Dagster's own storage (runs, events, schedules) gets a database of its own on the same
-- server, so that the warehouse `airbnb_sync` holds nothing but airbnb-sync's tables.
-- Runs once, when the server's data volume is created (docker-entrypoint-initdb.d).
CREATE DATABASE dagster;
