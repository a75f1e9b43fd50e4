"""The test infrastructure itself: fresh databases per backend, and the skip-or-fail rule."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from database_servers import (
    SERVER_DATABASES,
    TEST_DATABASE_PREFIX,
    TIMESCALEDB_TSL,
    URL_VARIABLES,
    check_reachable,
    fresh_server_database,
    server_url,
)
from sqlalchemy.pool import NullPool

from airbnb_sync.core.settings import load_settings


def _user_tables(engine: sa.Engine) -> list[str]:
    inspector = sa.inspect(engine)
    schemas = [s for s in inspector.get_schema_names()
               if s not in {"information_schema", "pg_catalog", "pg_toast"}
               and not s.startswith(("_timescaledb", "timescaledb_", "toolkit_"))]
    return [f"{schema}.{table}"
            for schema in schemas for table in inspector.get_table_names(schema)]


def test_database_is_empty_and_round_trips(database_url: str) -> None:
    engine = sa.create_engine(database_url, poolclass=NullPool)
    assert _user_tables(engine) == []
    probe = sa.Table("probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("note", sa.Text))
    with engine.begin() as connection:
        probe.create(connection)
        connection.execute(probe.insert(), [{"id": 1, "note": "café ☕"}, {"id": 2, "note": None}])
    with engine.connect() as connection:
        rows = connection.execute(sa.select(probe).order_by(probe.c.id)).all()
    assert [tuple(row) for row in rows] == [(1, "café ☕"), (2, None)]
    assert any(name.endswith(".probe") for name in _user_tables(engine))


def test_server_database_is_new_and_named_for_tests(server_database_url: str) -> None:
    url = sa.make_url(server_database_url)
    assert url.database.startswith(TEST_DATABASE_PREFIX)
    engine = sa.create_engine(server_database_url, poolclass=NullPool)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT current_database()")).scalar() == url.database


@pytest.mark.postgres
@pytest.mark.parametrize("database", SERVER_DATABASES)
def test_database_is_dropped_even_with_open_connections(database: str) -> None:
    with fresh_server_database(database) as url:
        name = sa.make_url(url).database
        lingering = sa.create_engine(url, poolclass=NullPool).connect()
        lingering.execute(sa.text("SELECT 1"))
    admin = sa.create_engine(os.environ[URL_VARIABLES[database]], poolclass=NullPool)
    with admin.connect() as connection:
        left = connection.execute(sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"),
                                  {"n": name}).scalar()
    assert left == 0
    with pytest.raises(sa.exc.DBAPIError):
        lingering.execute(sa.text("SELECT 1"))  # its backend was terminated by the FORCE drop


@pytest.mark.postgres
def test_a_backend_the_test_role_may_not_end_is_waited_for() -> None:
    """The stock cluster's test role is no superuser: DROP ... WITH (FORCE) cannot end a
    backend of another role, such as an autovacuum worker that has just started on the new
    tables (a CI run failed so). The drop waits for it, as it would for autovacuum."""
    password = uuid.uuid4().hex
    other = f"airbnb_sync_other_{password[:8]}"
    with fresh_server_database("postgres") as url:  # skips or fails without the server
        name = sa.make_url(url).database
        admin = sa.create_engine(os.environ[URL_VARIABLES["postgres"]], poolclass=NullPool,
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE ROLE {other} LOGIN PASSWORD '{password}'"))
        as_other = sa.make_url(url).set(username=other, password=password)
        foreign = sa.create_engine(as_other, poolclass=NullPool).connect()
        foreign.execute(sa.text("SELECT 1"))
        threading.Timer(2.0, foreign.close).start()
    try:
        with admin.connect() as connection:
            left = connection.execute(sa.text(
                "SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        assert left == 0
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP ROLE IF EXISTS {other}"))


@pytest.mark.postgres
def test_timescaledb_extension_is_installed_in_each_new_database() -> None:
    with fresh_server_database("timescaledb") as url:
        engine = sa.create_engine(url, poolclass=NullPool)
        with engine.connect() as connection:
            version = connection.execute(sa.text(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")).scalar()
            license_ = connection.execute(sa.text("SHOW timescaledb.license")).scalar()
    assert version is not None and version.startswith("2."), version
    assert license_ in {"apache", "timescale"}


@pytest.mark.parametrize("database", (*SERVER_DATABASES, TIMESCALEDB_TSL))
def test_missing_url_skips_locally(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_VARIABLES[database], raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=URL_VARIABLES[database]):
        server_url(database, os.environ)


@pytest.mark.parametrize("database", (*SERVER_DATABASES, TIMESCALEDB_TSL))
@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_url_fails_under_ci(database: str, ci: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_VARIABLES[database], "  ")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception) as failure:
        server_url(database, os.environ)
    message = str(failure.value)
    assert URL_VARIABLES[database] in message
    assert f"scripts/{'postgres' if database == 'postgres' else 'timescaledb'}.sh" in message


@pytest.mark.postgres
def test_an_apache_server_is_refused_as_the_timescale_license_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Under CI the TSL tests fail, rather than pass vacuously, on the wrong edition."""
    apache = server_url("timescaledb", os.environ)
    check_reachable("timescaledb", apache, os.environ)
    monkeypatch.setenv(URL_VARIABLES[TIMESCALEDB_TSL], apache)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not the Timescale-License one"), \
            fresh_server_database(TIMESCALEDB_TSL):
        pass


@pytest.mark.postgres
def test_the_timescale_license_server_reports_its_license() -> None:
    with fresh_server_database(TIMESCALEDB_TSL) as url, \
            sa.create_engine(url, poolclass=NullPool).connect() as connection:
        assert connection.exec_driver_sql("SHOW timescaledb.license").scalar() == "timescale"


def test_configured_url_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv(URL_VARIABLES["postgres"], " postgresql+psycopg2://u@127.0.0.1:1/db ")
    assert server_url("postgres", os.environ) == "postgresql+psycopg2://u@127.0.0.1:1/db"


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception),
                                             ("", pytest.skip.Exception)])
def test_unreachable_server_fails_under_ci_without_showing_the_password(
        ci: str, outcome: type[BaseException], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", ci)
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    url = f"postgresql+psycopg2://someone:hunter2@127.0.0.1:1/{ci or 'local'}"
    with pytest.raises(outcome) as raised:
        check_reachable("postgres", url, os.environ)
    assert "127.0.0.1:1" in str(raised.value)
    assert "hunter2" not in str(raised.value)


@pytest.fixture
def developer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", "postgresql+psycopg2://dev@db.example/prod")
    monkeypatch.setenv("AIRBNB_API_KEY", "developer-key")
    monkeypatch.setenv("AIRBNB_SYNC_DRY_RUN", "true")
    monkeypatch.setenv("AIRBNB_SYNC_TEST_TIMESCALEDB_URL", "postgresql+psycopg2://kept@h/p")


def test_dagster_home_hides_the_developers_environment(
        developer_environment: None, dagster_home: Path) -> None:
    assert os.environ["DAGSTER_HOME"] == str(dagster_home)
    assert "enabled: false" in (dagster_home / "dagster.yaml").read_text()  # no telemetry
    # Only the fixture's own choice is left: a failing test run fails without retries.
    assert {name: value for name, value in os.environ.items()
            if name.startswith("AIRBNB_") and not name.startswith("AIRBNB_SYNC_TEST_")} == {
        "AIRBNB_SYNC_RUN_RETRIES": "0"}
    assert os.environ["AIRBNB_SYNC_TEST_TIMESCALEDB_URL"] == "postgresql+psycopg2://kept@h/p"
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{dagster_home / 'warehouse.db'}"
    assert settings.airbnb_api_key is None
    assert settings.dry_run is False
