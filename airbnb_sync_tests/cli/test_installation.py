"""Health checks that cannot lie, and an installation that is its owner's only.

Only `accounts add`, `db upgrade`, `demo`, `api serve` and `api token create` create an
installation (DAGSTER_HOME and the warehouse). Every other command run where there is none
names the warehouse (password hidden) and DAGSTER_HOME it looked at, exits 1 (not healthy),
and creates nothing. What the creating commands make is readable by the owner only. A lost
SQLite key file is never silently replaced while accounts encrypted with it are stored.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from database_servers import fresh_server_database

from airbnb_sync.accounts.secrets import KEY_FILE_NAME, generate_key
from airbnb_sync.cli.main import main
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine

ACCOUNT = "41234567"
VERSION = "0123456789abcdef0123456789abcdef01234567"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"

# Every command that reads an installation, none of which may create one.
READERS: list[list[str]] = [
    ["status"], ["status", "--json"], ["status", "--account", ACCOUNT],
    ["accounts", "list"], ["accounts", "list", "--all", "--json"],
    ["accounts", "show", ACCOUNT], ["accounts", "update", ACCOUNT, "--label", "x"],
    ["accounts", "activate", ACCOUNT], ["accounts", "deactivate", ACCOUNT],
    ["accounts", "delete", ACCOUNT], ["accounts", "delete", ACCOUNT, "--purge", "--yes"],
    ["accounts", "check", ACCOUNT], ["accounts", "rotate-key"], ["db", "status"],
    ["api", "token", "list"], ["api", "token", "revoke", "ops"],
    ["export", "--table", "listings", "--format", "csv", "--output", "-"],
]


def cookie(account_id: str = ACCOUNT) -> str:
    return f"_aat=secretvalue123; _user_attributes={quote(json.dumps({'id_str': account_id}))}"


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no installation, and no AIRBNB_* or DAGSTER_HOME setting: the defaults."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    for name in list(os.environ):
        if name == "DAGSTER_HOME" or (name.startswith("AIRBNB_")
                                      and not name.startswith("AIRBNB_SYNC_TEST_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(folder)
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _add(capsys: pytest.CaptureFixture[str], folder: Path, account_id: str = ACCOUNT
         ) -> tuple[int, str, str]:
    cookie_file = folder.parent / f"cookie-{account_id}.txt"
    cookie_file.write_text(cookie(account_id))
    return run(capsys, "accounts", "add", "--account-id", account_id, "--cookie-file",
               str(cookie_file), "--x-client-version", VERSION, "--user-agent", AGENT)


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_command_that_reads_finds_no_installation_and_creates_none(
        empty_folder: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, out, err = run(capsys, *command)
    home = empty_folder / ".dagster_home"
    assert code == 1, (out, err)
    assert err.startswith("error: no airbnb-sync installation") and err.count("\n") == 1
    assert f"DAGSTER_HOME {home} does not exist" in err
    assert f"there is no warehouse at {home}/warehouse.db" in err
    assert "accounts add" in err and "ok: nothing needs a person" not in out
    assert list(empty_folder.iterdir()) == []  # nothing created


@pytest.mark.slow
def test_status_from_a_folder_without_installation_as_a_user_runs_it(tmp_path: Path) -> None:
    """The field report: `airbnb-sync status` in a new folder said `ok` and exited 0."""
    env = {name: value for name, value in os.environ.items()
           if name != "DAGSTER_HOME" and not name.startswith("AIRBNB_")}
    ran = subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", "status"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "no airbnb-sync installation" in ran.stderr and "Traceback" not in ran.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_warehouse_without_dagster_home_is_no_installation(
        empty_folder: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert _add(capsys, empty_folder)[0] == 0
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL",
                       f"sqlite:///{empty_folder / '.dagster_home' / 'warehouse.db'}")
    monkeypatch.setenv("DAGSTER_HOME", str(empty_folder / "other_home"))
    code, _, err = run(capsys, "status")
    assert code == 1 and f"DAGSTER_HOME {empty_folder / 'other_home'} does not exist" in err
    assert "no warehouse at" not in err and "no tables yet" not in err  # that one is there
    assert not (empty_folder / "other_home").exists()


def test_an_empty_sqlite_file_is_no_installation(empty_folder: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    home = empty_folder / ".dagster_home"
    home.mkdir()
    (home / "warehouse.db").touch()
    code, _, err = run(capsys, "accounts", "list")
    assert code == 1 and "is an empty file" in err
    assert (home / "warehouse.db").stat().st_size == 0


@pytest.mark.parametrize("command", [["db", "upgrade"], ["accounts", "add"],
                                     ["api", "token", "create", "--name", "first"]],
                         ids=" ".join)
def test_the_creating_commands_create_an_installation_the_owner_alone_can_read(
        empty_folder: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    os.umask(0o022)  # the usual umask: what is private is private on purpose
    if command == ["accounts", "add"]:
        code, out, err = _add(capsys, empty_folder)
    else:
        code, out, err = run(capsys, *command)
    assert code == 0, err
    home = empty_folder / ".dagster_home"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    warehouse = home / "warehouse.db"
    assert stat.S_IMODE(warehouse.stat().st_mode) == 0o600
    created = [path for path in home.rglob("*")]
    if command == ["accounts", "add"]:
        assert stat.S_IMODE((home / KEY_FILE_NAME).stat().st_mode) == 0o600
        assert (home / "history" / "runs.db").is_file()  # Dagster's storage (partitions)
    for path in created:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    code, out, err = run(capsys, "status")
    assert code == 0, err
    assert f"reading warehouse sqlite:///{warehouse}, DAGSTER_HOME {home}" in out


@pytest.mark.postgres
@pytest.mark.parametrize("server", ["postgres", "timescaledb"])
def test_an_empty_server_database_is_no_installation(
        empty_folder: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, server: str) -> None:
    with fresh_server_database(server) as url:
        shown = sa.make_url(url).render_as_string(hide_password=True)
        password = sa.make_url(url).password
        home = empty_folder / "home"
        home.mkdir()
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", url)
        monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", generate_key())
        try:
            for command in (["status"], ["accounts", "list"], ["db", "status"]):
                code, out, err = run(capsys, *command)
                assert code == 1, (command, out, err)
                assert f"the warehouse {shown} has no tables yet" in err
                assert f":{password}@" not in err + out
                assert _tables(url) == []  # nothing created in the empty database
            code, out, err = run(capsys, "db", "upgrade")
            assert code == 0, err
            code, out, err = run(capsys, "status")
            assert code == 0, err
            assert f"reading warehouse {shown}, DAGSTER_HOME {home}" in out
            assert f":{password}@" not in out
        finally:
            dispose_warehouse_engine(url)


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return sorted(connection.scalars(sa.text(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema', "
                "'_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal', "
                "'_timescaledb_cache', '_timescaledb_functions', 'timescaledb_information', "
                "'timescaledb_experimental', '_timescaledb_debug')")))
    finally:
        engine.dispose()


# --- the SQLite key file ----------------------------------------------------------------------


@pytest.fixture
def installed(empty_folder: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    """An installation with the generated key file and one account encrypted with it."""
    assert _add(capsys, empty_folder)[0] == 0
    home = empty_folder / ".dagster_home"
    yield home
    dispose_warehouse_engine(f"sqlite:///{home / 'warehouse.db'}")


def _accounts(home: Path) -> list[tuple]:
    engine = create_warehouse_engine(f"sqlite:///{home / 'warehouse.db'}")
    with engine.connect() as connection:
        return sorted(map(tuple, connection.execute(sa.text("SELECT * FROM accounts"))))


@pytest.mark.parametrize("command", [["accounts", "list"], ["status"],
                                     ["accounts", "show", ACCOUNT], ["accounts", "add"]],
                         ids=" ".join)
def test_a_lost_key_file_is_not_replaced_while_accounts_are_encrypted_with_it(
        installed: Path, empty_folder: Path, capsys: pytest.CaptureFixture[str],
        command: list[str]) -> None:
    key_file = installed / KEY_FILE_NAME
    key = key_file.read_text()
    before = _accounts(installed)
    key_file.unlink()
    if command == ["accounts", "add"]:
        code, out, err = _add(capsys, empty_folder, "58765432")
    else:
        code, out, err = run(capsys, *command)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and f"the key file {key_file} is missing" in err
    assert "1 account(s)" in err and "restore the file from a backup" in err
    assert not key_file.exists()  # no new key that would orphan the stored sessions
    assert _accounts(installed) == before
    key_file.write_text(key)  # restored from the backup: everything reads again
    code, out, err = run(capsys, "accounts", "show", ACCOUNT)
    assert code == 0 and "unreadable" not in out, err


def test_a_key_file_is_generated_while_no_account_is_stored(
        installed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "accounts", "delete", ACCOUNT, "--purge", "--yes")[0] == 0
    (installed / KEY_FILE_NAME).unlink()
    code, _, err = run(capsys, "accounts", "list")
    assert code == 0, err
    assert stat.S_IMODE((installed / KEY_FILE_NAME).stat().st_mode) == 0o600
