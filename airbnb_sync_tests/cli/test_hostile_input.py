"""Hostile input to the real `airbnb-sync` command, run as a subprocess: deeply nested JSON,
malformed warehouse URLs, a DAGSTER_HOME that cannot be one, stdin closed, absurd numbers,
folders that cannot be written. Each must end in exit 2 with one line on stderr naming the
problem, no traceback, and nothing stored lost (the warehouse is dumped before and after)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from airbnb_sync.accounts.secrets import generate_key
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.tables import metadata

ACCOUNT = "41234567"
VERSION = "0123456789abcdef0123456789abcdef01234567"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
SECRET = "Hz9cookieSecretValue"
PASSWORD = "Pw0rdN0tShown"
DEPTH = 100_000  # far beyond Python's recursion limit, far below the 1 MiB cookie limit
UNWRITABLE = Path("/sys/airbnb-sync-test")  # even root cannot create anything in sysfs

pytestmark = pytest.mark.slow


def cookie(account_id: str = ACCOUNT) -> str:
    return f"_aat={SECRET}; _user_attributes={quote(json.dumps({'id_str': account_id}))}"


@dataclass
class Ran:
    code: int
    out: str
    err: str


@dataclass
class Installation:
    """An installation with one account, and the environment the command runs with."""

    folder: Path
    env: dict[str, str]
    url: str

    def run(self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
            close_stdin: bool = False) -> Ran:
        command = [sys.executable, "-m", "airbnb_sync.cli.main", *args]
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, cwd=self.folder,
            env={**self.env, **(env or {})}, timeout=120,
            stdin=None if stdin is not None or not close_stdin else subprocess.DEVNULL,
            preexec_fn=(lambda: os.close(0)) if close_stdin else None)
        return Ran(result.returncode, result.stdout, result.stderr)

    def file(self, name: str, text: str) -> str:
        path = self.folder / name
        path.write_text(text)
        return str(path)

    def dump(self) -> dict[str, list]:
        engine = create_warehouse_engine(self.url)
        try:
            schema = "airbnb" if engine.dialect.name == "postgresql" else None
            with engine.connect() as connection:
                present = set(sa.inspect(connection).get_table_names(schema=schema))
                return {table.name: sorted(map(tuple, connection.execute(sa.select(table))),
                                           key=repr)
                        for table in metadata.sorted_tables if table.name in present}
        finally:
            dispose_warehouse_engine(self.url)


@pytest.fixture
def installation(tmp_path: Path, database_url: str) -> Installation:
    return make_installation(tmp_path, database_url)


def make_installation(tmp_path: Path, database_url: str) -> Installation:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("AIRBNB_") or name.startswith("AIRBNB_SYNC_TEST_")}
    env.update(DAGSTER_HOME=str(tmp_path / "home"), AIRBNB_SYNC_DATABASE_URL=database_url,
               AIRBNB_SYNC_SECRET_KEY=generate_key())
    made = Installation(tmp_path, env, database_url)
    added = made.run("accounts", "add", "--account-id", ACCOUNT, "--cookie-file",
                     made.file("cookie.txt", cookie()), "--x-client-version", VERSION,
                     "--user-agent", AGENT, "--label", "Cabins")
    assert added.code == 0, added.err
    return made


def assert_refused(ran: Ran, *words: str) -> None:
    assert ran.code == 2, (ran.out, ran.err)
    assert ran.err.startswith("error: ") and ran.err.count("\n") == 1, ran.err  # one line
    assert "Traceback" not in ran.err
    for word in words:
        assert word in ran.err, ran.err
    assert SECRET not in ran.err + ran.out and PASSWORD not in ran.err + ran.out


def add_args(cookie_file: str, account_id: str = "58765432") -> list[str]:
    return ["accounts", "add", "--account-id", account_id, "--cookie-file", cookie_file,
            "--x-client-version", VERSION, "--user-agent", AGENT]


Case = Callable[[Installation], tuple[list[str], dict[str, str]]]

CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    "deeply nested JSON cookie file": (
        lambda i: (add_args(i.file("nested.json", "[" * DEPTH + "]" * DEPTH)), {}),
        ("nested",)),
    "deeply nested JSON object cookie file": (
        lambda i: (add_args(i.file("nested.json", '{"a":' * DEPTH + "1" + "}" * DEPTH)), {}),
        ("nested",)),
    "nested JSON in _user_attributes": (
        lambda i: (add_args(i.file("attrs.txt", f"_aat={SECRET}; _user_attributes="
                                   + quote("[" * DEPTH + "]" * DEPTH))), {}),
        ("_user_attributes",)),
    "nested JSON in _user_attributes of an update": (
        lambda i: (["accounts", "update", ACCOUNT, "--cookie-file",
                    i.file("attrs.txt", f"_aat={SECRET}; _user_attributes="
                           + quote('{"a":' * (DEPTH // 4) + "1" + "}" * (DEPTH // 4)))],
                   {}),
        ("_user_attributes",)),
    "binary cookie on stdin": (
        lambda i: (add_args("-"), {}), ("cookie",)),
    "bad port": (
        lambda i: (["accounts", "list"], {"AIRBNB_SYNC_DATABASE_URL":
                                          f"postgresql+psycopg2://u:{PASSWORD}@127.0.0.1:99999/x"}),
        ("AIRBNB_SYNC_DATABASE_URL", "port")),
    "unknown driver": (
        lambda i: (["status"], {"AIRBNB_SYNC_DATABASE_URL":
                                f"postgresql+nodriver://u:{PASSWORD}@127.0.0.1/x"}),
        ("AIRBNB_SYNC_DATABASE_URL", "driver")),
    "sqlite:garbage": (
        lambda i: (["db", "upgrade"], {"AIRBNB_SYNC_DATABASE_URL": "sqlite:garbage"}),
        ("AIRBNB_SYNC_DATABASE_URL",)),
    "DAGSTER_HOME is a file, for a command that creates": (
        lambda i: (add_args(i.file("c.txt", cookie("58765432"))),
                   {"DAGSTER_HOME": i.file("home-file", "x")}),
        ("DAGSTER_HOME", "not a folder")),
    "DAGSTER_HOME is a file, for a command that reads": (
        lambda i: (["status"], {"DAGSTER_HOME": i.file("home-file", "x")}),
        ("DAGSTER_HOME", "not a folder")),
    "DAGSTER_HOME cannot be created": (
        lambda i: (["db", "upgrade"], {"DAGSTER_HOME": str(UNWRITABLE / "home")}),
        ("DAGSTER_HOME", str(UNWRITABLE))),
    "DAGSTER_HOME under a file": (
        lambda i: (add_args(i.file("c.txt", cookie("58765432"))),
                   {"DAGSTER_HOME": str(Path(i.file("plain", "x")) / "home")}),
        ("DAGSTER_HOME",)),
    "export chunk size beyond reason": (
        lambda i: (["export", "--table", "listings", "--format", "csv", "--output", "-",
                    "--chunk-size", "1000000000000"], {}),
        ("--chunk-size", "at most")),
    "export chunk size to parquet": (
        lambda i: (["export", "--table", "listings", "--format", "parquet", "--output",
                    str(i.folder / "out.parquet"), "--chunk-size", "99999999999999999999"], {}),
        ("--chunk-size", "at most")),
    "status --now before any calendar arithmetic holds": (
        lambda i: (["status", "--now", "0001-01-01T00:00:00"], {}), ("--now", "out of range")),
    "status --now at the end of time": (
        lambda i: (["status", "--now", "9999-12-31T23:59:59+00:00"], {}),
        ("--now", "out of range")),
    "DAGSTER_HOME name too long": (
        lambda i: (["status"], {"DAGSTER_HOME": str(i.folder / ("h" * 300))}),
        ("DAGSTER_HOME", "too long")),
    "DAGSTER_HOME name too long, for a command that creates": (
        lambda i: (["db", "upgrade"], {"DAGSTER_HOME": str(i.folder / ("h" * 300))}),
        ("DAGSTER_HOME", "too long")),
    "SQLite warehouse path too long": (
        lambda i: (add_args(i.file("c.txt", cookie("58765432"))),
                   {"AIRBNB_SYNC_DATABASE_URL": f"sqlite:///{i.folder / ('w' * 300)}/w.db"}),
        ("SQLite warehouse", "too long")),
    "a warehouse file that is not a database": (
        lambda i: (["accounts", "list"],
                   {"AIRBNB_SYNC_DATABASE_URL": f"sqlite:///{i.file('junk.db', 'x' * 5000)}"}),
        ("not a database",)),
    "a warehouse file that is not a database, for a command that creates": (
        lambda i: (add_args(i.file("c.txt", cookie("58765432"))),
                   {"AIRBNB_SYNC_DATABASE_URL": f"sqlite:///{i.file('junk.db', 'x' * 5000)}"}),
        ("not a database",)),
    "infinite interval": (
        lambda i: (["accounts", "list"], {"AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "inf"}),
        ("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "finite")),
    "nan retry delay": (
        lambda i: (["status"], {"AIRBNB_SYNC_RUN_RETRY_DELAY": "nan"}),
        ("AIRBNB_SYNC_RUN_RETRY_DELAY",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_exits_2_in_one_line_and_loses_nothing(installation: Installation,
                                                             case: str) -> None:
    make, words = CASES[case]
    args, env = make(installation)
    before = installation.dump()
    stdin = "\udcff" if case == "binary cookie on stdin" else None
    if stdin is not None:
        ran = _run_with_binary_stdin(installation, args)
    else:
        ran = installation.run(*args, env=env)
    assert_refused(ran, *words)
    assert installation.dump() == before
    assert not (installation.folder / "out.parquet").exists()


def _run_with_binary_stdin(installation: Installation, args: list[str]) -> Ran:
    result = subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", *args],
                            input=b"\xff\xfe_aat=\x80\x81", capture_output=True,
                            cwd=installation.folder, env=installation.env, timeout=120)
    return Ran(result.returncode, result.stdout.decode(), result.stderr.decode())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cookie_on_a_strict_utf8_stdin_that_is_not_utf8(installation: Installation) -> None:
    """With a strict stdin decoder (Python's C locale escapes bad bytes instead), bytes that
    are not UTF-8 are refused by name."""
    before = installation.dump()
    result = subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", *add_args("-")],
                            input=b"_aat=\xff\xfe", capture_output=True, cwd=installation.folder,
                            env={**installation.env, "PYTHONIOENCODING": "utf-8:strict"},
                            timeout=120)
    assert_refused(Ran(result.returncode, result.stdout.decode(), result.stderr.decode()),
                   "not UTF-8", "stdin")
    assert installation.dump() == before


def test_cookie_from_a_closed_stdin(installation: Installation) -> None:
    before = installation.dump()
    ran = installation.run(*add_args("-"), close_stdin=True)
    assert_refused(ran, "stdin", "--cookie-file")
    assert installation.dump() == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("where", ["a folder that cannot be created",
                                   "a folder where no file can be created"])
def test_an_unwritable_warehouse_folder_fails_at_once(installation: Installation,
                                                      where: str) -> None:
    url = (f"sqlite:///{UNWRITABLE}/warehouse.db" if where.startswith("a folder that")
           else "sqlite:////sys/warehouse.db")
    for command in (add_args(installation.file("c.txt", cookie("58765432"))), ["db", "upgrade"]):
        started = time.monotonic()
        ran = installation.run(*command, env={"AIRBNB_SYNC_DATABASE_URL": url})
        assert time.monotonic() - started < 30
        assert_refused(ran, "cannot create", "/sys")
