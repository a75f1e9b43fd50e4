"""Test database servers: where they are, and a brand-new database on one for each test.

Kept apart from conftest.py so that tests can import the skip-or-fail rule and test it.
Locally a missing server skips its tests; under CI it fails them, so a CI run can never go
green by silently skipping PostgreSQL or TimescaleDB (README: Tests).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

DATABASES = ("sqlite", "postgres", "timescaledb")
SERVER_DATABASES = ("postgres", "timescaledb")
# The Timescale-License edition (compression and retention policies), as in the
# timescale/timescaledb Docker image. Not in DATABASES: only the tests that exercise what the
# license changes run on it (README: Tests), so the suite's time is not doubled.
TIMESCALEDB_TSL = "timescaledb_tsl"
URL_VARIABLES = {
    "postgres": "AIRBNB_SYNC_TEST_POSTGRES_URL",
    "timescaledb": "AIRBNB_SYNC_TEST_TIMESCALEDB_URL",
    TIMESCALEDB_TSL: "AIRBNB_SYNC_TEST_TIMESCALEDB_TSL_URL",
}
START_SCRIPTS = {
    "postgres": "scripts/postgres.sh",
    "timescaledb": "scripts/timescaledb.sh",
    TIMESCALEDB_TSL: "AIRBNB_SYNC_TSDB_EDITION=tsl scripts/timescaledb.sh",
}
TIMESCALEDB_EDITIONS = ("timescaledb", TIMESCALEDB_TSL)
TEST_DATABASE_PREFIX = "airbnb_sync_test_"
CONNECT_TIMEOUT_SECONDS = 10


def running_in_ci(env: Mapping[str, str]) -> bool:
    return env.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(database: str, reason: str, env: Mapping[str, str]) -> NoReturn:
    """Skip locally; fail under CI, where every database must be tested."""
    script = START_SCRIPTS[database]
    message = (
        f"{database} tests need {URL_VARIABLES[database]}: {reason}. "
        f"Start a server with `{script} start` and export "
        f"{URL_VARIABLES[database]}=\"$({script} url)\"."
    )
    if running_in_ci(env):
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def server_url(database: str, env: Mapping[str, str]) -> str:
    """The maintenance URL of `database`'s server, or skip/fail when it is not configured."""
    url = env.get(URL_VARIABLES[database], "").strip()
    if not url:
        unavailable(database, "the variable is not set", env)
    return url


def safe_url(url: str) -> str:
    """The URL for messages: never show a password."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparsable URL>"


def maintenance_engine(url: str) -> sa.Engine:
    return sa.create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


# One connection attempt per server and session: a server that is down fails fast afterwards.
_unreachable: dict[str, str] = {}


def check_reachable(database: str, url: str, env: Mapping[str, str]) -> None:
    if url not in _unreachable:
        try:
            with maintenance_engine(url).connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            _unreachable[url] = ""
        except sa.exc.SQLAlchemyError as error:
            first_line = str(getattr(error, "orig", error)).strip().splitlines()[:1]
            _unreachable[url] = f"cannot connect to {safe_url(url)} ({''.join(first_line)})"
    if _unreachable[url]:
        unavailable(database, _unreachable[url], env)


@contextmanager
def fresh_server_database(
    database: str, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """CREATE DATABASE with a unique name, yield its URL, then drop it (connections or not)."""
    env = os.environ if env is None else env
    url = server_url(database, env)
    check_reachable(database, url, env)
    name = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:16]}"
    admin = maintenance_engine(url)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    new_url = sa.make_url(url).set(database=name)
    try:
        if database in TIMESCALEDB_EDITIONS:
            setup = maintenance_engine(new_url.render_as_string(hide_password=False))
            with setup.connect() as connection:
                connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
                license_name = connection.execute(sa.text("SHOW timescaledb.license")).scalar()
            if database == TIMESCALEDB_TSL and license_name != "timescale":
                unavailable(database, f"{safe_url(url)} is the '{license_name}' edition, "
                            "not the Timescale-License one ('timescale')", env)
        yield new_url.render_as_string(hide_password=False)
    finally:
        drop_database(admin, name)


# What PostgreSQL says when FORCE may not end a backend of another role.
NOT_OURS_TO_END = "must be a member of the role whose process is being terminated"


def drop_database(admin: sa.Engine, name: str, wait_seconds: float = 60.0) -> None:
    """DROP DATABASE ... WITH (FORCE), which ends our own connections to it. A backend of
    another role it may not end (an autovacuum worker started on the new tables, when the
    test role is no superuser) is waited for: it goes away by itself in a moment."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except sa.exc.DBAPIError as error:
            if NOT_OURS_TO_END not in str(error.orig) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
