"""`airbnb-sync accounts ...` and `db ...`, run in-process against every warehouse.

Bad input must exit 2 with one line on stderr and change nothing: each such case compares a
dump of the whole warehouse before and after.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from airbnb_sync.accounts.secrets import KEY_FILE_NAME, generate_key
from airbnb_sync.cli.main import main
from airbnb_sync.core.settings import Settings
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.tables import conversion_metrics, listings, metadata

ACCOUNT = "41234567"
OTHER = "58765432"
VERSION = "0123456789abcdef0123456789abcdef01234567"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
CUSTOMER = "123e4567-e89b-12d3-a456-426614174000"
REPO = Path(__file__).resolve().parents[2]
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def host_cookie(account_id: str) -> tuple[str, str]:
    """A Cookie header of `account_id` (with a tracking cookie) and its secret `_aat` value."""
    secret = secrets.token_urlsafe(24)
    attributes = quote(json.dumps({"id_str": account_id}))
    return f"_aat={secret}; _user_attributes={attributes}; bev=tracking", secret


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """Runs `airbnb-sync` in-process and keeps cookie files and the warehouse at hand."""

    def __init__(self, capsys: pytest.CaptureFixture[str], folder: Path, url: str) -> None:
        self.capsys = capsys
        self.folder = folder
        self.url = url

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = main(list(args))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def cookie_file(self, text: str, name: str | None = None) -> str:
        path = self.folder / (name or f"cookie-{secrets.token_hex(4)}.txt")
        path.write_text(text)
        return str(path)

    def add(self, account_id: str = ACCOUNT, *extra: str) -> str:
        cookie, secret = host_cookie(account_id)
        result = self("accounts", "add", "--account-id", account_id, "--cookie-file",
                      self.cookie_file(cookie), "--x-client-version", VERSION,
                      "--user-agent", AGENT, *extra)
        assert result.code == 0, result.err
        return secret

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        engine = create_warehouse_engine(self.url)
        with engine.connect() as connection:
            present = set(sa.inspect(connection).get_table_names(
                schema="airbnb" if engine.dialect.name == "postgresql" else None))
            return {
                table.name: sorted(map(tuple, connection.execute(sa.select(table))), key=repr)
                for table in metadata.sorted_tables if table.name in present
            }


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def cli(database_url: str, dagster_home: Path, key: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", key)
    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "0")
    folder = tmp_path / "cookies"
    folder.mkdir()
    return Cli(capsys, folder, database_url)


def _partitions(home: Path) -> list[str]:
    from dagster import DagsterInstance

    assert os.environ["DAGSTER_HOME"] == str(home)
    with DagsterInstance.get() as instance:
        return sorted(instance.get_dynamic_partitions("accounts"))


# --- bad input: exit 2, one clear line, nothing changed -----------------------------------------


def _add(cli: Cli, account_id: str = OTHER, cookie: str | None = None,
         version: str = VERSION, agent: str = AGENT, *extra: str) -> list[str]:
    cookie_file = cli.cookie_file(host_cookie(account_id)[0] if cookie is None else cookie)
    return ["accounts", "add", "--account-id", account_id, "--cookie-file", cookie_file,
            "--x-client-version", version, "--user-agent", agent, *extra]


BadCase = Callable[[Cli], list[str]]
BAD_INPUT: dict[str, tuple[BadCase, str]] = {
    "id with letters": (lambda c: _add(c, "12ab", host_cookie("12ab")[0]), "1 to 20 digits"),
    "id too long": (lambda c: _add(c, "1" * 21, host_cookie("1" * 21)[0]), "1 to 20 digits"),
    "cookie of another host": (lambda c: _add(c, OTHER, host_cookie(ACCOUNT)[0]),
                               f"belongs to Airbnb user {ACCOUNT}, not to account {OTHER}"),
    "cookie without _aat": (lambda c: _add(c, OTHER, host_cookie(OTHER)[0].split("; ", 1)[1]),
                            "lacks _aat"),
    "empty cookie": (lambda c: _add(c, OTHER, "\n"), "the cookie is empty"),
    "broken JSON cookie": (lambda c: _add(c, OTHER, '[{"name": "_aat"'), "not valid JSON"),
    "cookie without user id": (
        lambda c: _add(c, OTHER, f"_aat=x{secrets.token_hex(8)}; _user_attributes=%7B%7D"),
        "carries no user id"),
    "missing cookie file": (
        lambda c: [*_add(c)[:5], str(c.folder / "absent.txt"), *_add(c)[6:]],
        "cannot read --cookie-file"),
    "short client version": (lambda c: _add(c, OTHER, None, VERSION[:-1]), "40 hex digits"),
    "non-hex client version": (lambda c: _add(c, OTHER, None, "z" * 40), "40 hex digits"),
    "curl user agent": (lambda c: _add(c, OTHER, None, VERSION, "curl/8.5"), "User-Agent"),
    "user agent too long": (lambda c: _add(c, OTHER, None, VERSION, "Mozilla/" + "x" * 505),
                            "at most 512"),
    "user agent with a line break": (
        lambda c: _add(c, OTHER, None, VERSION, "Mozilla/5.0\r\nX-Evil: 1"), "User-Agent"),
    "customer id not a UUID": (lambda c: _add(c, OTHER, None, VERSION, AGENT, "--customer-id",
                                              "cust-7"), "must be a UUID"),
    "label too long": (lambda c: _add(c, OTHER, None, VERSION, AGENT, "--label", "x" * 201),
                       "at most 200 printable"),
    "label with a newline": (lambda c: _add(c, OTHER, None, VERSION, AGENT, "--label", "a\nb"),
                             "at most 200 printable"),
    "existing account": (lambda c: _add(c, ACCOUNT), f"`airbnb-sync accounts update {ACCOUNT}"),
    "missing required option": (lambda c: _add(c)[:-2], "--user-agent"),
    "update unknown account": (lambda c: ["accounts", "update", OTHER, "--label", "x"],
                               f"account {OTHER} does not exist"),
    "update without changes": (lambda c: ["accounts", "update", ACCOUNT], "nothing to update"),
    "update with another host's cookie": (
        lambda c: ["accounts", "update", ACCOUNT, "--cookie-file",
                   c.cookie_file(host_cookie(OTHER)[0])], f"belongs to Airbnb user {OTHER}"),
    "update with a bad label": (lambda c: ["accounts", "update", ACCOUNT, "--label", "\x1b[2J"],
                                "printable"),
    "show unknown account": (lambda c: ["accounts", "show", OTHER], "does not exist"),
    "activate unknown account": (lambda c: ["accounts", "activate", OTHER], "does not exist"),
    "check unknown account": (lambda c: ["accounts", "check", OTHER], "does not exist"),
    "delete with a bad id": (lambda c: ["accounts", "delete", "4123x"], "1 to 20 digits"),
    "purge without --yes": (lambda c: ["accounts", "delete", ACCOUNT, "--purge"],
                            "add --yes to confirm"),
    "delete without --yes or a terminal": (lambda c: ["accounts", "delete", ACCOUNT],
                                           "add --yes to confirm"),
    "purge unknown account": (lambda c: ["accounts", "delete", OTHER, "--purge", "--yes"],
                              "does not exist"),
    "unknown action": (lambda c: ["accounts", "remove", ACCOUNT], "invalid choice"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_exits_2_with_a_reason_and_changes_nothing(cli: Cli, case: str,
                                                             dagster_home: Path) -> None:
    secret = cli.add(ACCOUNT, "--label", "Cabins")
    make_args, reason = BAD_INPUT[case]
    args = make_args(cli)
    before = cli.dump()
    partitions = _partitions(dagster_home)
    result = cli(*args)
    assert result.code == 2, (result.out, result.err)
    assert reason in result.err
    assert result.err.startswith("error: ") and result.err.count("\n") == 1  # one line
    assert "Traceback" not in result.err and secret not in result.err + result.out
    assert cli.dump() == before
    assert _partitions(dagster_home) == partitions


def test_settings_errors_exit_2_naming_the_variable(cli: Cli,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", "not-a-key")
    result = cli("accounts", "list")
    assert result.code == 2 and "AIRBNB_SYNC_SECRET_KEY" in result.err
    assert "generate-key" in result.err


@sqlite_only
def test_generate_key_works_whatever_the_settings_say(cli: Cli,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """It makes the key that a broken AIRBNB_SYNC_SECRET_KEY lacks, so it loads no settings."""
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", "not-a-key")
    result = cli("accounts", "generate-key")
    assert result.code == 0, result.err
    Fernet(result.out.strip().encode())


@sqlite_only
def test_the_settings_are_loaded_once_per_command(cli: Cli,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from airbnb_sync.cli import main as entry_point
    from airbnb_sync.core.settings import load_settings

    calls: list[None] = []

    def counted() -> Settings:
        calls.append(None)
        return load_settings()

    monkeypatch.setattr(entry_point, "load_settings", counted)
    cli.add(ACCOUNT)
    for command in (["accounts", "list"], ["accounts", "show", ACCOUNT], ["db", "status"],
                    ["status", "--json"]):
        calls.clear()
        result = cli(*command)
        assert result.code == 0, result.err
        assert len(calls) == 1, command


def test_postgres_without_a_key_refuses_to_start(cli: Cli, database_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite generates its key")
    monkeypatch.delenv("AIRBNB_SYNC_SECRET_KEY")
    before = cli.dump()
    result = cli(*_add(cli, ACCOUNT))
    assert result.code == 2
    assert "AIRBNB_SYNC_SECRET_KEY is not set" in result.err and "generate-key" in result.err
    assert cli.dump() == before


# --- the happy paths ---------------------------------------------------------------------------


def test_add_list_show_never_print_secrets(cli: Cli, dagster_home: Path) -> None:
    secret = cli.add(ACCOUNT, "--customer-id", CUSTOMER.upper(), "--label", "Lakeside cabins")
    assert _partitions(dagster_home) == [ACCOUNT]
    listed = cli("accounts", "list")
    assert listed.code == 0 and ACCOUNT in listed.out and "Lakeside cabins" in listed.out
    assert "active" in listed.out and "unknown" in listed.out
    shown = cli("accounts", "show", ACCOUNT)
    assert shown.code == 0 and "2 (sha256 " in shown.out and CUSTOMER in shown.out
    as_json = json.loads(cli("accounts", "show", ACCOUNT, "--json").out)
    assert as_json["account_id"] == ACCOUNT and as_json["auth_status"] == "unknown"
    assert as_json["user_agent"] == AGENT and as_json["x_client_version"] == VERSION
    listed_json = json.loads(cli("accounts", "list", "--json").out)
    assert [a["account_id"] for a in listed_json] == [ACCOUNT]
    for result in (listed, shown):
        assert secret not in result.out + result.err and "tracking" not in result.out


def test_add_reads_the_cookie_from_stdin(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cookie, _ = host_cookie(ACCOUNT)
    monkeypatch.setattr(sys, "stdin", io.StringIO(cookie + "\n"))
    result = cli("accounts", "add", "--account-id", ACCOUNT, "--cookie-file", "-",
                 "--x-client-version", VERSION, "--user-agent", AGENT)
    assert result.code == 0, result.err
    assert "added account 41234567" in result.out


def test_update_activate_deactivate_and_soft_delete(cli: Cli) -> None:
    cli.add(ACCOUNT, "--label", "Cabins")
    cookie, _ = host_cookie(ACCOUNT)
    result = cli("accounts", "update", ACCOUNT, "--cookie-file", cli.cookie_file(cookie),
                 "--label", "")
    assert result.code == 0 and "auth status: unknown" in result.out
    shown = json.loads(cli("accounts", "show", ACCOUNT, "--json").out)
    assert shown["label"] is None
    assert cli("accounts", "deactivate", ACCOUNT).code == 0
    assert json.loads(cli("accounts", "show", ACCOUNT, "--json").out)["state"] == "inactive"
    assert cli("accounts", "activate", ACCOUNT).code == 0
    assert json.loads(cli("accounts", "show", ACCOUNT, "--json").out)["state"] == "active"
    deleted = cli("accounts", "delete", ACCOUNT, "--yes")
    assert deleted.code == 0 and "soft" in deleted.out
    assert ACCOUNT not in cli("accounts", "list").out
    everything = json.loads(cli("accounts", "list", "--all", "--json").out)
    assert everything[0]["deleted_at"] is not None and everything[0]["is_active"] is False


def test_purge_removes_the_account_its_metrics_and_its_partition(
        cli: Cli, dagster_home: Path) -> None:
    from datetime import UTC, date, datetime

    for account_id in (ACCOUNT, OTHER):
        cli.add(account_id)
        with create_warehouse_engine(cli.url).begin() as connection:
            connection.execute(listings.insert().values(
                account_id=account_id, listing_id="7", week_start=date(2026, 5, 3),
                scraped_at=datetime.now(UTC)))
            connection.execute(conversion_metrics.insert().values(
                account_id=account_id, listing_id="7", metric_date=date(2026, 5, 4),
                scraped_on=date(2026, 6, 1), week_start=date(2026, 5, 3),
                scraped_at=datetime.now(UTC)))
    result = cli("accounts", "delete", ACCOUNT, "--purge", "--yes")
    assert result.code == 0, result.err
    assert "1 conversion_metrics" in result.out and "1 listings" in result.out
    dump = cli.dump()
    for table in ("accounts", "listings", "conversion_metrics"):
        assert [row[0] for row in dump[table]] == [OTHER]
    assert _partitions(dagster_home) == [OTHER]


def test_rotate_key_moves_accounts_to_the_new_key(cli: Cli, key: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cli.add(ACCOUNT)
    cli.add(OTHER)
    new_key = cli("accounts", "generate-key").out.strip()
    Fernet(new_key.encode())  # a usable key
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", f"{new_key},{key}")
    result = cli("accounts", "rotate-key")
    assert result.code == 0 and "re-encrypted 2 accounts" in result.out
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", new_key)
    assert "2 (sha256 " in cli("accounts", "show", OTHER).out
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", key)
    assert "unreadable" in cli("accounts", "show", OTHER).out
    stale = cli("accounts", "rotate-key")
    assert stale.code == 1 and "cannot be decrypted" in stale.err


def test_db_upgrade_and_status(cli: Cli) -> None:
    upgraded = cli("db", "upgrade")
    assert upgraded.code == 0, upgraded.err
    status = cli("db", "status")
    assert status.code == 0 and status.out.strip()


def test_help_exits_0(cli: Cli) -> None:
    result = cli("accounts", "add", "--help")
    assert result.code == 0 and "--cookie-file" in result.out


def test_sqlite_key_file_and_no_plain_cookie_anywhere(dagster_home: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """Without AIRBNB_SYNC_SECRET_KEY the embedded warehouse (by default in DAGSTER_HOME)
    gets a generated 0600 key, and neither the warehouse files (WAL included) nor anything
    else in DAGSTER_HOME holds the session in clear."""
    home = dagster_home  # the fixture also clears AIRBNB_* variables
    cli = Cli(capsys, tmp_path, f"sqlite:///{home / 'warehouse.db'}")
    secret = cli.add(ACCOUNT, "--label", "Cabins")
    key_file = home / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    assert "2 (sha256 " in cli("accounts", "show", ACCOUNT).out  # reused, still decrypts
    assert key_file.read_text() == key
    files = [path for path in home.rglob("*") if path.is_file()]
    assert {"warehouse.db", "warehouse.db-wal"} <= {path.name for path in files}
    needles = [secret.encode(), quote(secret).encode(), b"tracking"]
    for path in files:
        content = path.read_bytes()
        assert not [n for n in needles if n in content], path
    assert _partitions(home) == [ACCOUNT]


@pytest.mark.slow
def test_console_script_runs_outside_pytest(cli: Cli, database_url: str) -> None:
    script = REPO / ".venv" / "bin" / "airbnb-sync"
    cookie, secret = host_cookie(ACCOUNT)
    added = subprocess.run(
        [str(script), "accounts", "add", "--account-id", ACCOUNT, "--cookie-file", "-",
         "--x-client-version", VERSION, "--user-agent", AGENT],
        input=cookie, capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert added.returncode == 0, added.stderr
    refused = subprocess.run(
        [str(script), "accounts", "show", "123x"], capture_output=True, text=True,
        env=os.environ.copy(), timeout=120)
    assert refused.returncode == 2 and "1 to 20 digits" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert secret not in added.stdout + added.stderr


# --- check, against the simulator over loopback HTTP -------------------------------------------

SIMULATOR_API_KEY = "sim-api-key"


@pytest.fixture
def simulated(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from airbnb_sync.simulator import Simulator, SimulatorConfig

    with Simulator(SimulatorConfig(api_key=SIMULATOR_API_KEY)) as simulator:
        monkeypatch.setenv("AIRBNB_BASE_URL", simulator.url)
        monkeypatch.setenv("AIRBNB_API_KEY", SIMULATOR_API_KEY)
        yield simulator


def _add_simulated(cli: Cli, account_id: str) -> None:
    from airbnb_sync.simulator import make_cookie

    result = cli("accounts", "add", "--account-id", account_id, "--cookie-file",
                 cli.cookie_file(make_cookie(account_id)), "--x-client-version", VERSION,
                 "--user-agent", AGENT)
    assert result.code == 0, result.err


def _auth(cli: Cli, account_id: str) -> tuple[str, str | None]:
    shown = json.loads(cli("accounts", "show", account_id, "--json").out)
    return shown["auth_status"], shown["auth_checked_at"]


def test_check_records_a_working_session(cli: Cli, simulated: Any) -> None:
    _add_simulated(cli, ACCOUNT)
    assert _auth(cli, ACCOUNT) == ("unknown", None)
    result = cli("accounts", "check", ACCOUNT)
    assert result.code == 0, result.err
    assert "session ok" in result.out
    status, checked_at = _auth(cli, ACCOUNT)
    assert status == "ok" and checked_at is not None


def test_check_records_an_expired_session_and_exits_1(cli: Cli, simulated: Any) -> None:
    _add_simulated(cli, ACCOUNT)
    _add_simulated(cli, OTHER)
    simulated.expire(ACCOUNT)
    result = cli("accounts", "check", ACCOUNT)
    assert result.code == 1
    assert f"accounts update {ACCOUNT} --cookie-file -" in result.err
    assert "Traceback" not in result.err and result.err.count("\n") == 1
    assert _auth(cli, ACCOUNT)[0] == "expired"
    assert cli("accounts", "check", OTHER).code == 0  # only that account's session expired
    assert _auth(cli, OTHER)[0] == "ok"
    # A fresh cookie resets the status until the next check confirms it.
    relabelled = cli("accounts", "update", ACCOUNT, "--label", "renewed")
    assert relabelled.code == 0 and _auth(cli, ACCOUNT)[0] == "expired"
    from airbnb_sync.simulator import make_cookie

    simulated.restore(ACCOUNT)
    renewed = cli("accounts", "update", ACCOUNT, "--cookie-file",
                  cli.cookie_file(make_cookie(ACCOUNT)))
    assert renewed.code == 0 and _auth(cli, ACCOUNT) == ("unknown", None)
    assert cli("accounts", "check", ACCOUNT).code == 0 and _auth(cli, ACCOUNT)[0] == "ok"


def test_check_of_an_unreachable_airbnb_exits_1_and_keeps_the_status(
        cli: Cli, simulated: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _add_simulated(cli, ACCOUNT)
    monkeypatch.setenv("AIRBNB_BASE_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RETRIES", "0")
    result = cli("accounts", "check", ACCOUNT)
    assert result.code == 1 and f"could not check account {ACCOUNT}" in result.err
    assert _auth(cli, ACCOUNT) == ("unknown", None)
