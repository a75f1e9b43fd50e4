"""The Grafana dashboards of the Compose deployment (profile `dashboards`), checked without
Grafana (it cannot run here):

- the dashboard JSON and the provisioning files follow the formats Grafana 11 provisions
  (dashboard schemaVersion 39, provisioning apiVersion 1), and every panel uses a provisioned
  data source and defined variables;
- every panel's SQL and every variable's query, with Grafana's macros expanded as Grafana
  expands them, returns rows on PostgreSQL and TimescaleDB, run as the read-only role that
  deploy/grafana/reader.sql creates *before* the warehouse's migrations and Dagster's run
  storage create their tables (as in a fresh deployment); that role cannot write.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa
import yaml
from database_servers import (
    SERVER_DATABASES,
    fresh_server_database,
    maintenance_engine,
    server_url,
)
from deploy_helpers import REPO

GRAFANA = REPO / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
READER_SQL = GRAFANA / "reader.sql"
DATASOURCES = yaml.safe_load(
    (GRAFANA / "provisioning" / "datasources" / "warehouse.yaml").read_text())
PROVIDERS = yaml.safe_load(
    (GRAFANA / "provisioning" / "dashboards" / "airbnb-sync.yaml").read_text())
DATASOURCE_DATABASES = {source["uid"]: source["jsonData"]["database"]
                        for source in DATASOURCES["datasources"]}
POSTGRES_TYPE = "grafana-postgresql-datasource"

# The part of Grafana's dashboard model that file provisioning reads and these files use.
DATASOURCE_REF = {"type": "object", "required": ["type", "uid"],
                  "properties": {"type": {"const": POSTGRES_TYPE},
                                 "uid": {"enum": sorted(DATASOURCE_DATABASES)}}}
DASHBOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "templating", "time"],
    "properties": {
        "id": {"type": "null"},  # provisioning assigns ids; a fixed one would clash
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"const": 39},
        "editable": {"const": False},
        "time": {"type": "object", "required": ["from", "to"]},
        "templating": {"type": "object", "required": ["list"], "properties": {"list": {
            "type": "array", "items": {
                "type": "object", "required": ["name", "type", "query", "datasource"],
                "properties": {"type": {"const": "query"}, "query": {"type": "string"},
                               "datasource": DATASOURCE_REF}}}}},
        "panels": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["id", "type", "title", "gridPos", "datasource", "targets"],
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "type": {"enum": ["timeseries", "table", "stat", "barchart"]},
                "datasource": DATASOURCE_REF,
                "gridPos": {"type": "object", "required": ["x", "y", "w", "h"],
                            "properties": {"x": {"type": "integer", "minimum": 0},
                                           "w": {"type": "integer", "minimum": 1,
                                                 "maximum": 24},
                                           "h": {"type": "integer", "minimum": 1}}},
                "targets": {"type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "required": ["refId", "rawSql", "format", "rawQuery", "datasource"],
                    "properties": {"format": {"enum": ["time_series", "table"]},
                                   "rawQuery": {"const": True},
                                   "editorMode": {"const": "code"},
                                   "rawSql": {"type": "string", "minLength": 10},
                                   "datasource": DATASOURCE_REF}}}}}},
    },
}


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in DASHBOARDS]


def test_there_are_an_insights_and_an_operations_dashboard() -> None:
    assert {board["title"] for board in dashboards()} == {"Insights", "Operations"}
    assert len({board["uid"] for board in dashboards()}) == 2


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_dashboard_json_follows_the_provisioning_format(path: Path) -> None:
    board = json.loads(path.read_text())
    jsonschema.validate(board, DASHBOARD_SCHEMA)
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
    defined = {variable["name"] for variable in board["templating"]["list"]}
    used = {name for sql in _queries(board) for name in re.findall(r"\$([a-z]\w*)", sql)}
    assert used <= defined, used - defined


def test_provisioning_files_are_apiversion_1_and_match_the_compose_mounts() -> None:
    assert DATASOURCES["apiVersion"] == 1 and PROVIDERS["apiVersion"] == 1
    for source in DATASOURCES["datasources"]:
        assert source["type"] == POSTGRES_TYPE and source["access"] == "proxy"
        assert source["user"] == "grafana_reader" and source["editable"] is False
        # The password comes from the environment, never from the file.
        assert source["secureJsonData"]["password"] == "$GRAFANA_DB_PASSWORD"
    (provider,) = PROVIDERS["providers"]
    assert provider["type"] == "file" and provider["allowUiUpdates"] is False
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in grafana["volumes"]}
    assert (REPO / mounts[provider["options"]["path"]]).resolve() == (GRAFANA / "dashboards")
    assert (REPO / mounts["/etc/grafana/provisioning"]).resolve() == GRAFANA / "provisioning"
    assert grafana["profiles"] == ["dashboards"] and "ports" not in grafana


def _queries(board: dict[str, Any]) -> list[str]:
    return [*(target["rawSql"] for panel in board["panels"] for target in panel["targets"]),
            *(variable["query"] for variable in board["templating"]["list"])]


# --- every query against a real server ---------------------------------------------------

@dataclass(frozen=True)
class Deployment:
    reader_urls: dict[str, str]  # data source uid -> URL as the read-only role
    accounts: list[str]
    listings: list[str]
    owner_urls: dict[str, str] = field(default_factory=dict)  # "warehouse"/"dagster" -> URL


def _psql_variables(sql: str, variables: dict[str, str]) -> str:
    """psql's :"name" (an identifier) and :'name' (a literal), as psql substitutes them."""
    sql = re.sub(r':"(\w+)"', lambda m: '"' + variables[m.group(1)].replace('"', '""') + '"',
                 sql)
    return re.sub(r":'(\w+)'", lambda m: "'" + variables[m.group(1)].replace("'", "''") + "'",
                  sql)


def _statements(sql: str) -> list[str]:
    """Split at each `;` outside a dollar-quoted body (`DO $$ ... $$`), as psql does."""
    statements, current, quoted = [], [], False
    for piece in re.split(r"(\$\$|;)", sql):
        if piece == ";" and not quoted:
            statements.append("".join(current))
            current = []
            continue
        quoted ^= piece == "$$"
        current.append(piece)
    statements.append("".join(current))
    return [statement.strip() for statement in statements if statement.strip()]


def apply_reader_sql(urls: dict[str, str], variables: dict[str, str]) -> None:
    """Run reader.sql as psql would: each `\\connect :"db"` switches database (a new
    session)."""
    current = "warehouse"
    for block in re.split(r'^\\connect :"(\w+)"\s*$', READER_SQL.read_text(), flags=re.M):
        if block in urls:
            current = block
            continue
        statements = _statements(_psql_variables(re.sub(r"--[^\n]*", "", block), variables))
        with maintenance_engine(urls[current]).connect() as connection:
            for statement in statements:
                connection.execute(sa.text(statement.replace(":", r"\:")))


def _seed_dagster(url: str) -> None:
    """Dagster's own run storage on PostgreSQL, with one failed run of an account."""
    from dagster import DagsterRun, DagsterRunStatus
    from dagster_postgres.run_storage import PostgresRunStorage

    storage = PostgresRunStorage(postgres_url=url)
    run = DagsterRun(job_name="__ASSET_JOB", run_id=str(uuid.uuid4()),
                     status=DagsterRunStatus.FAILURE,
                     tags={"airbnb_sync/account": "9223372036854775001"})
    storage.add_run(run)
    storage.dispose()


def _deploy(stack: ExitStack, database: str, reader_first: bool = True) -> Deployment:
    """Two fresh databases (warehouse, Dagster's) with the reader of reader.sql, created
    before the tables as in a fresh deployment, or after them as on an existing one."""
    from report_rows import ACCOUNT, CABIN, LOFT, seed

    from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
    from airbnb_sync.warehouse.migrate import forget_upgrades, upgrade_to_head
    from airbnb_sync.warehouse.request_counts import record_requests

    reader = f"grafana_reader_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    # Registered first, so it runs last: after both databases (and its grants) are gone.
    stack.callback(_drop_role, database, reader)
    urls = {"warehouse": stack.enter_context(fresh_server_database(database)),
            "dagster": stack.enter_context(fresh_server_database(database))}
    variables = {"reader": reader, "reader_password": password,
                 "warehouse": sa.make_url(urls["warehouse"]).database,
                 "dagster": sa.make_url(urls["dagster"]).database}
    if reader_first:
        apply_reader_sql(urls, variables)
    engine = create_warehouse_engine(urls["warehouse"])
    stack.callback(dispose_warehouse_engine, urls["warehouse"])
    forget_upgrades()
    upgrade_to_head(engine)
    seed(engine)
    for days in range(3):
        record_requests(engine, ACCOUNT, 40 + days, datetime.now(UTC) - timedelta(days=days))
    _seed_dagster(urls["dagster"])
    if not reader_first:
        apply_reader_sql(urls, variables)
    reader_urls = {uid: sa.make_url(urls["dagster" if database == "dagster" else
                                         "warehouse"])
                   .set(username=reader, password=password)
                   .render_as_string(hide_password=False)
                   for uid, database in DATASOURCE_DATABASES.items()}
    return Deployment(reader_urls, [ACCOUNT], [LOFT, CABIN], dict(urls))


@pytest.fixture(params=SERVER_DATABASES)
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    with ExitStack() as stack:
        yield _deploy(stack, request.param)


def _drop_role(database: str, role: str) -> None:
    with maintenance_engine(server_url(database, os.environ)).connect() as connection:
        connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))


FROM = datetime(2025, 6, 1, tzinfo=UTC)


def expand_macros(sql: str, variables: dict[str, list[str]], now: datetime) -> str:
    """Grafana's PostgreSQL macros and multi-value variables, as Grafana expands them."""
    start, end = FROM.strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN '{start}' AND '{end}'", sql)
    sql = sql.replace("$__timeFrom()", f"'{start}'").replace("$__timeTo()", f"'{end}'")
    for name, values in variables.items():
        sql = sql.replace(f"${name}", ",".join(f"'{value}'" for value in values))
    assert "$" not in sql.replace("$$", ""), sql
    return sql


@pytest.mark.postgres
@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_every_panel_and_variable_query_returns_rows_as_the_read_only_role(
        deployment: Deployment, path: Path) -> None:
    board = json.loads(path.read_text())
    variables = {"account": deployment.accounts, "listing": deployment.listings}
    now = datetime.now(UTC) + timedelta(days=1)
    checked = 0
    queries = [(panel["title"], target["datasource"]["uid"], target["rawSql"])
               for panel in board["panels"] for target in panel["targets"]]
    queries += [(f"variable {variable['name']}", variable["datasource"]["uid"],
                 variable["query"]) for variable in board["templating"]["list"]]
    for title, uid, raw in queries:
        engine = sa.create_engine(deployment.reader_urls[uid])
        try:
            with engine.connect() as connection:
                rows = connection.execute(sa.text(
                    expand_macros(raw, variables, now).replace(":", r"\:"))).all()
        finally:
            engine.dispose()
        assert rows, f"{path.stem}: {title!r} returned no rows"
        checked += 1
    assert checked == len(board["panels"]) + len(board["templating"]["list"])


@pytest.mark.postgres
def test_the_read_only_role_cannot_write(deployment: Deployment) -> None:
    engine = sa.create_engine(deployment.reader_urls["airbnb-warehouse"])
    try:
        with engine.connect() as connection, pytest.raises(sa.exc.DBAPIError) as refused:
            connection.execute(sa.text("DELETE FROM airbnb.accounts"))
    finally:
        engine.dispose()
    message = str(refused.value.orig)
    assert "read-only transaction" in message or "permission denied" in message


# --- what the reader can never do, whatever it SETs ----------------------------------------

# The columns of `accounts` the dashboards read (never `credentials`).
READER_ACCOUNT_COLUMNS = {"account_id", "label", "is_active", "auth_status", "auth_checked_at",
                          "last_sync_at", "deleted_at"}


@pytest.fixture(params=[(database, order) for database in SERVER_DATABASES
                        for order in ("reader first", "reader after the tables")],
                ids=lambda param: f"{param[0]}-{param[1].replace(' ', '-')}")
def any_deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A fresh deployment (the reader before the tables; migration 0005 narrows its grants)
    and an existing one (reader.sql run again after the tables, as the README says)."""
    database, order = request.param
    with ExitStack() as stack:
        yield _deploy(stack, database, reader_first=order == "reader first")


def _refused(url: str, *statements: str, prelude: tuple[str, ...] = ()) -> str:
    """Run `prelude` then `statements` in one session as the reader; the last statement must
    be refused. Returns the server's message."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in prelude:
                connection.exec_driver_sql(statement)
            for statement in statements[:-1]:
                connection.exec_driver_sql(statement)
            with pytest.raises(sa.exc.DBAPIError) as refused:
                connection.exec_driver_sql(statements[-1])
            return str(refused.value.orig)
    finally:
        engine.dispose()


def _rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(sql)]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_reader_sees_the_accounts_columns_the_dashboards_need_never_credentials(
        any_deployment: Deployment) -> None:
    url = any_deployment.reader_urls["airbnb-warehouse"]
    for sql in ("SELECT credentials FROM airbnb.accounts", "SELECT * FROM airbnb.accounts",
                "SELECT count(credentials) FROM airbnb.accounts"):
        assert "permission denied" in _refused(url, sql)
    readable = {column for (column,) in _rows(url, (
        "SELECT attname FROM pg_attribute WHERE attrelid = 'airbnb.accounts'::regclass "
        "AND attnum > 0 AND NOT attisdropped "
        "AND has_column_privilege(current_user, attrelid, attnum, 'SELECT')"))}
    assert readable == READER_ACCOUNT_COLUMNS
    assert _rows(url, "SELECT account_id, label FROM airbnb.accounts")


OFF = ("SET default_transaction_read_only = off",)
WRITES = {
    "airbnb-warehouse": [
        "INSERT INTO airbnb.accounts (account_id, credentials, created_at, updated_at) "
        "VALUES ('1', 'x', now(), now())",
        "UPDATE airbnb.accounts SET label = 'x'",
        "DELETE FROM airbnb.conversion_metrics",
        "TRUNCATE airbnb.visibility_metrics",
        "CREATE TABLE airbnb.planted (x int)",
        "CREATE TABLE public.planted (x int)",
        "CREATE TEMP TABLE planted (x int)",
        "CREATE TEMPORARY VIEW planted AS SELECT 1",
        "SELECT * FROM airbnb.listings FOR UPDATE",
    ],
    "airbnb-dagster": [
        "INSERT INTO runs (run_id, status, run_body) VALUES ('x', 'FAILURE', '{}')",
        "DELETE FROM runs",
        "CREATE TABLE public.planted (x int)",
        "CREATE TEMP TABLE planted (x int)",
    ],
}


@pytest.mark.postgres
@pytest.mark.parametrize("source", sorted(WRITES))
def test_the_reader_cannot_write_even_after_turning_read_only_off(
        any_deployment: Deployment, source: str) -> None:
    url = any_deployment.reader_urls[source]
    assert _rows(url, "SHOW default_transaction_read_only") == [("on",)]
    for statement in WRITES[source]:
        for prelude in (OFF, (*OFF, "BEGIN", "SET TRANSACTION READ WRITE")):
            message = _refused(url, statement, prelude=prelude)
            assert "permission denied" in message, (statement, message)
    # Nothing the role could write with: every relation (but pg_settings, whose UPDATE is a
    # session's SET), schema, sequence, and the database.
    assert _rows(url, """
        SELECT c.oid::regclass::text FROM pg_class c
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.oid <> 'pg_catalog.pg_settings'::regclass
        AND (
            has_table_privilege(current_user, c.oid, 'INSERT')
            OR has_table_privilege(current_user, c.oid, 'UPDATE')
            OR has_table_privilege(current_user, c.oid, 'DELETE')
            OR has_table_privilege(current_user, c.oid, 'TRUNCATE'))
        UNION ALL SELECT c.oid::regclass::text FROM pg_class c WHERE c.relkind = 'S'
            AND (has_sequence_privilege(current_user, c.oid, 'USAGE')
                 OR has_sequence_privilege(current_user, c.oid, 'UPDATE'))
        UNION ALL SELECT 'schema ' || nspname FROM pg_namespace
            WHERE has_schema_privilege(current_user, oid, 'CREATE')
        UNION ALL SELECT 'database' WHERE has_database_privilege(current_database(), 'CREATE')
            OR has_database_privilege(current_database(), 'TEMP')""") == []


@pytest.mark.postgres
def test_large_objects_are_refused_where_a_superuser_set_up_the_reader(
        any_deployment: Deployment) -> None:
    """Any role may create large objects unless a superuser revokes the functions (as in the
    Compose deployment, where reader.sql runs as the image's superuser)."""
    url = any_deployment.reader_urls["airbnb-warehouse"]
    setup_was_superuser = not _rows(url, (
        "SELECT 1 WHERE has_function_privilege(current_user, "
        "'pg_catalog.lo_from_bytea(oid, bytea)', 'EXECUTE')"))
    if not setup_was_superuser:
        pytest.skip("this server's test role is no superuser: it cannot revoke lo_from_bytea")
    assert "permission denied" in _refused(url, "SELECT lo_from_bytea(0, 'x')", prelude=OFF)


@pytest.mark.postgres
def test_the_behind_schedule_panel_names_the_accounts_behind(deployment: Deployment) -> None:
    """An account whose daily runs say its plan does not fit, and one with a run queued for
    more than a day, are behind; the account with a finished run on schedule is not."""
    from dagster import DagsterRun, DagsterRunStatus
    from dagster_postgres.run_storage import PostgresRunStorage

    over_budget, piling_up, fine = "9223372036854775002", "9223372036854775003", \
        deployment.accounts[0]
    storage = PostgresRunStorage(postgres_url=deployment.owner_urls["dagster"])
    queued = str(uuid.uuid4())
    for run_id, status, tags in (
            (str(uuid.uuid4()), DagsterRunStatus.SUCCESS,
             {"airbnb_sync/account": over_budget, "airbnb_sync/behind_schedule": "true",
              "airbnb_sync/max_staleness_days": "71"}),
            (queued, DagsterRunStatus.STARTED, {"airbnb_sync/account": piling_up,
                                                "airbnb_sync/behind_schedule": "false"})):
        storage.add_run(DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=status,
                                   tags=tags))
    storage.dispose()
    owner = sa.create_engine(deployment.owner_urls["dagster"])
    with owner.begin() as connection:
        connection.execute(sa.text("UPDATE runs SET create_timestamp = create_timestamp - "
                                   "interval '2 days' WHERE run_id = :run_id"),
                           {"run_id": queued})
    owner.dispose()
    board = json.loads((GRAFANA / "dashboards" / "operations.json").read_text())
    (panel,) = [panel for panel in board["panels"] if panel["title"] == "Behind schedule"]
    sql = expand_macros(panel["targets"][0]["rawSql"],
                        {"account": [over_budget, piling_up, fine]}, datetime.now(UTC))
    reader = sa.create_engine(deployment.reader_urls[panel["datasource"]["uid"]])
    with reader.connect() as connection:
        rows = {row[0]: row[1:] for row in connection.execute(sa.text(sql))}
    reader.dispose()
    assert rows[over_budget][0] is True and rows[over_budget][1] == "71"
    assert rows[piling_up][0] is True and rows[piling_up][3] == 1
    assert rows[fine][0] is False
