"""Hostile pastes to the real `airbnb-sync accounts add|update --from-curl|--from-har`, run
as a subprocess: lookalike hosts, JSON that breaks parsers, HAR files of the wrong shape,
control characters and terminal escapes, oversized values, conflicting duplicates, bytes
that are not UTF-8. Each ends in exit 2 with one line on stderr, no traceback, no secret,
and an unchanged warehouse; refused before anything is stored, it creates no warehouse and
no key either."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from paste_forms import URL, chrome_bash, har, har_entry
from test_hostile_input import (
    SECRET,
    Installation,
    Ran,
    assert_refused,
    cookie,
    make_installation,
)

from airbnb_sync.accounts.secrets import KEY_FILE_NAME

HOST = "58765432"
PATH = "/api/v3/ChartQuery/aa6e318cc066bbf19511b86acdce32fc59219d8596448b861d794491f46631c5"
PASTE_COOKIE = cookie(HOST)  # _aat=SECRET; _user_attributes={"id_str": HOST}
ESCAPES = "\n\x1b[2J\x1b]0;pwned\x07\r"  # a line break, clear screen, window title

pytestmark = pytest.mark.slow


@pytest.fixture
def installation(tmp_path: Path, database_url: str) -> Installation:
    """An installation with one account (test_hostile_input's)."""
    return make_installation(tmp_path, database_url)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Installation:
    """One SQLite installation for every refused paste: each case checks that it leaves the
    warehouse as it found it, so they can share it (a CLI process costs seconds)."""
    folder = tmp_path_factory.mktemp("hostile-pastes")
    return make_installation(folder, f"sqlite:///{folder / 'warehouse.db'}")


def curl_at(url: str, cookie_header: str = PASTE_COOKIE) -> str:
    return chrome_bash(cookie_header).replace(URL, url)


def har_with(mutate: Callable[[dict], None], cookie_header: str = PASTE_COOKIE) -> str:
    document = json.loads(har(cookie_header))
    mutate(document)
    return json.dumps(document)


def _api_entry(document: dict) -> dict:
    return document["log"]["entries"][-2]


def _set(path: tuple, value: object) -> Callable[[dict], None]:
    def mutate(document: dict) -> None:
        target = _api_entry(document)
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


LOOKALIKE_HOSTS = [
    "www.airbnb.com.evil.example", "airbnb.evil", "www.airbnb.com.de", "airbnb.co.evil",
    "www.notairbnb.com", "airbnb.com.evil", "airbnb", "xn--airbnb-9ua.com",
]
Case = Callable[[Installation], list[str]]


def _curl(text: str, *extra: str) -> Case:
    return lambda i: ["accounts", "add", "--from-curl", i.file("paste.sh", text), *extra]


def _har(text: str) -> Case:
    return lambda i: ["accounts", "add", "--from-har", i.file("insights.har", text)]


CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    **{f"curl to {host}": (_curl(curl_at(f"https://{host}{PATH}")), ("not a request",))
       for host in LOOKALIKE_HOSTS},
    "HAR to a lookalike host": (
        _har(har_with(_set(("request", "url"), f"https://www.airbnb.com.evil.example{PATH}"))),
        ("/api/v3/",)),
    "nested JSON in the paste's _user_attributes": (
        _curl(chrome_bash(f"_aat={SECRET}; _user_attributes=" + quote("[" * 100_000
                                                                     + "]" * 100_000))),
        ("_user_attributes",)),
    "HAR of 100,000 nested brackets": (_har("[" * 100_000 + "]" * 100_000), ("HAR",)),
    "HAR whose log is a list": (_har('{"log": []}'), ("HAR",)),
    "HAR whose entries hold a number": (_har('{"log": {"entries": [5]}}'), ("HAR",)),
    "HAR whose request is a list": (
        _har(json.dumps({"log": {"entries": [{"request": []}]}})), ("HAR",)),
    "HAR whose headers are a number": (_har(har_with(_set(("request", "headers"), 5))),
                                       ("HAR",)),
    "HAR whose cookies are a number": (
        _har(har_with(lambda d: (_set(("request", "headers"), [])(d),
                                 _set(("request", "cookies"), 5)(d)))), ("HAR",)),
    "HAR with a 5,000-digit number": (
        _har(har(PASTE_COOKIE)[:-1] + ', "size": ' + "9" * 5000 + "}"), ("HAR",)),
    "HAR with a cookie expiry before the calendar": (
        _har(har(PASTE_COOKIE, cookie_expires="0001-01-01T00:00:00+14:00")), ("expir",)),
    "a 900 KB cookie value": (
        _curl(chrome_bash(f"_aat={'v' * 900_000}; _user_attributes="
                          + quote(json.dumps({"id_str": HOST})))), ("_aat",)),
    "_aat twice with different values": (
        _curl(chrome_bash(f"_aat={SECRET}; {PASTE_COOKIE.split('; ')[1]}; _aat=other{SECRET}")),
        ("_aat", "twice")),
    "a user id with terminal escapes": (
        _curl(chrome_bash(f"_aat={SECRET}; _user_attributes="
                          + quote(json.dumps({"id_str": f"1{ESCAPES}2"})))),
        ("_user_attributes",)),
    "--account-id with terminal escapes": (
        _curl(chrome_bash(PASTE_COOKIE), "--account-id", f"1{ESCAPES}"), ("account",)),
    "update of an id with terminal escapes": (
        lambda i: ["accounts", "update", f"{HOST}{ESCAPES}", "--from-curl",
                   i.file("paste.sh", chrome_bash(PASTE_COOKIE))], ("account",)),
    "an argument with terminal escapes": (lambda i: ["accounts", "list", f"x{ESCAPES}"],
                                          ("unrecognized",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_paste_exits_2_in_one_line_and_stores_nothing(shared: Installation,
                                                              case: str) -> None:
    make, words = CASES[case]
    args = make(shared)
    before = shared.dump()
    ran = shared.run(*args)
    assert_refused(ran, *words)
    assert_escaped(ran)
    assert shared.dump() == before


def assert_escaped(ran: Ran) -> None:
    """No control character reaches the terminal: every one is written as an escape."""
    line = ran.err.removesuffix("\n")
    assert all(char.isprintable() for char in line), repr(ran.err)


@pytest.mark.parametrize("case", ["HAR with a cookie expiry before the calendar",
                                  "HAR with a 5,000-digit number",
                                  "nested JSON in the paste's _user_attributes",
                                  "curl to www.airbnb.com.evil.example"])
def test_a_refused_paste_creates_no_warehouse_and_no_key(tmp_path: Path, case: str) -> None:
    """On a fresh machine (SQLite, no AIRBNB_SYNC_SECRET_KEY), nothing is left behind."""
    home = tmp_path / "home"
    installation = Installation(tmp_path, _fresh_env(home), f"sqlite:///{home}/warehouse.db")
    make, words = CASES[case]
    ran = installation.run(*make(installation))
    assert_refused(ran, *words)
    assert not (home / "warehouse.db").exists() and not (home / KEY_FILE_NAME).exists()


def _fresh_env(home: Path) -> dict[str, str]:
    import os

    env = {name: value for name, value in os.environ.items()
           if not name.startswith("AIRBNB_") or name.startswith("AIRBNB_SYNC_TEST_")}
    return {**env, "DAGSTER_HOME": str(home)}


def test_non_utf8_bytes_are_refused_on_stdin_as_from_a_file(shared: Installation) -> None:
    installation = shared
    paste = chrome_bash(PASTE_COOKIE).encode().replace(b"ChartQuery", b"Chart\xff\xfeQuery")
    before = installation.dump()
    path = installation.folder / "binary.sh"
    path.write_bytes(paste)
    from_file = installation.run("accounts", "add", "--from-curl", str(path))
    result = subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", "accounts", "add",
                             "--from-curl", "-"], input=paste, capture_output=True,
                            cwd=installation.folder, env=installation.env, timeout=120)
    from_stdin = Ran(result.returncode, result.stdout.decode(), result.stderr.decode())
    for ran in (from_file, from_stdin):
        assert_refused(ran, "not UTF-8")
    assert installation.dump() == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_har_whose_newest_api_request_is_another_host_uses_the_newest_airbnb_one(
        installation: Installation) -> None:
    newest_elsewhere = har_entry(cookie("99999999"), "2026-12-01T10:00:09.000Z")
    newest_elsewhere["request"]["url"] = f"https://tracker.example{PATH}"
    older_airbnb = har_entry(cookie("11111111"), "2026-12-01T09:00:00.000Z")
    document = json.loads(har(PASTE_COOKIE, older=[older_airbnb, newest_elsewhere]))
    ran = installation.run("accounts", "add", "--from-har",
                           installation.file("insights.har", json.dumps(document)))
    assert ran.code == 0, ran.err
    assert f"added account {HOST}" in ran.out
    assert "99999999" not in ran.out and SECRET not in ran.out + ran.err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pastes_from_airbnbs_country_domains_are_accepted(installation: Installation) -> None:
    for number, host in enumerate(["www.airbnb.co.uk", "airbnb.com.au", "fr.airbnb.ca"]):
        host_id = f"5876543{number}"
        paste = curl_at(f"https://{host}{PATH}", cookie(host_id))
        ran = installation.run(*_curl(paste)(installation))
        assert ran.code == 0, ran.err
        assert f"added account {host_id}" in ran.out

