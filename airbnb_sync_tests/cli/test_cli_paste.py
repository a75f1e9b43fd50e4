"""`accounts add/update --from-curl|--from-har`: one paste registers a host; a bad paste is
refused in one line with exit 2 and changes nothing; the paste is never logged or shown."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bad_pastes import BAD_PASTES as SHARED_BAD_PASTES
from paste_forms import (
    API_KEY,
    CHROME_UA,
    CURL_FORMS,
    FIREFOX_UA,
    SAFARI_UA,
    VERSION,
    chrome_bash,
    har,
)
from test_cli_accounts import Cli, _partitions, sqlite_only

from airbnb_sync.accounts.secrets import generate_key
from airbnb_sync.accounts.store import open_store
from airbnb_sync.airbnb.cookies import AUTH_COOKIES
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie

HOST = "58765432"
OTHER = "41234567"
COOKIE = make_cookie(HOST)
AUTH = {name: value for name, value in (pair.split("=", 1) for pair in COOKIE.split("; "))
        if name in AUTH_COOKIES}
SECRETS = [value for value in AUTH.values() if len(value) > 3] + [API_KEY]
AGENTS = {"firefox": FIREFOX_UA, "safari": SAFARI_UA}
PASTES: dict[str, tuple[str, Callable[[str], str], str]] = {
    **{f"curl {form}": ("--from-curl", make, AGENTS.get(form, CHROME_UA))
       for form, make in CURL_FORMS.items()},
    "har chrome": ("--from-har", har, CHROME_UA),
    "har firefox": ("--from-har", lambda cookie: har(cookie, lower_case=False), CHROME_UA),
}


@pytest.fixture
def cli(database_url: str, dagster_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Cli:
    """The accounts CLI on `database_url`, as in test_cli_accounts."""
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "0")
    folder = tmp_path / "pastes"
    folder.mkdir()
    return Cli(capsys, folder, database_url)


def _stored(account_id: str) -> Any:
    return open_store(load_settings()).session(account_id, require_active=False)


def _no_secret_in(*texts: str) -> None:
    for text in texts:
        assert not any(secret in text for secret in SECRETS)


@sqlite_only
@pytest.mark.parametrize("form", sorted(PASTES))
def test_add_from_each_paste_form(cli: Cli, form: str, dagster_home: Path,
                                  caplog: pytest.LogCaptureFixture) -> None:
    option, make, agent = PASTES[form]
    caplog.set_level(logging.DEBUG)
    result = cli("accounts", "add", option, cli.cookie_file(make(COOKIE)), "--label", "Cabins")

    assert result.code == 0, result.err
    assert f"added account {HOST} (Cabins)" in result.out
    session = _stored(HOST)
    assert dict(session.cookies) == AUTH  # the tracking cookies are not kept
    assert (session.user_agent, session.x_client_version, session.api_key) == (
        agent, VERSION, API_KEY)
    assert _partitions(dagster_home) == [HOST]
    shown = json.loads(cli("accounts", "show", HOST, "--json").out)
    assert shown["api_key"] == "captured with the paste"
    assert shown["session_stored_at"] is not None and shown["session_rotated_at"] is None
    _no_secret_in(result.out, result.err, caplog.text, json.dumps(shown),
                  cli("accounts", "list").out)


def test_add_from_stdin_then_update_from_a_har_on_every_warehouse(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(chrome_bash(COOKIE)))
    added = cli("accounts", "add", "--from-curl", "-", "--account-id", HOST)
    assert added.code == 0, added.err
    assert open_store(load_settings()).get(HOST).session_expires_at is None

    fresh = COOKIE.replace(AUTH["_aat"], "f" * 48)
    updated = cli("accounts", "update", HOST, "--from-har",
                  cli.cookie_file(har(fresh, user_agent=FIREFOX_UA,
                                      cookie_expires="2027-03-01T12:00:00.000Z")))
    assert updated.code == 0, updated.err
    assert "auth status: unknown" in updated.out
    session = _stored(HOST)
    assert session.cookies["_aat"] == "f" * 48 and session.user_agent == FIREFOX_UA
    record = open_store(load_settings()).get(HOST)
    assert record.session_expires_at is not None
    assert record.session_expires_at.isoformat() == "2027-03-01T12:00:00+00:00"


@sqlite_only
def test_explicit_flags_win_over_the_paste(cli: Cli) -> None:
    version = "ab" * 20
    agent = "Mozilla/5.0 (explicit)"
    result = cli("accounts", "add", "--from-curl", cli.cookie_file(chrome_bash(COOKIE)),
                 "--x-client-version", version, "--user-agent", agent)
    assert result.code == 0, result.err
    session = _stored(HOST)
    assert (session.x_client_version, session.user_agent) == (version, agent)
    # A header missing from the paste can be given as a flag.
    no_agent = chrome_bash(COOKIE).replace(f"-H 'user-agent: {CHROME_UA}'", "")
    assert "user-agent" not in no_agent
    other = cli("accounts", "update", HOST, "--from-curl", cli.cookie_file(no_agent),
                "--user-agent", agent)
    assert other.code == 0, other.err


def _paste_args(option: str, text: str) -> Callable[[Cli], list[str]]:
    return lambda c: ["accounts", "add", option, c.cookie_file(text)]


_OPTIONS = {"curl": "--from-curl", "har": "--from-har"}
# The pastes the REST API refuses too (bad_pastes.py), and the command line's own mistakes.
BAD_PASTES: dict[str, tuple[Callable[[Cli], list[str]], str]] = {
    **{name: (_paste_args(_OPTIONS[paste.kind], paste.text), paste.reason)
       for name, paste in SHARED_BAD_PASTES.items()},
    "other user than --account-id": (
        lambda c: ["accounts", "add", "--from-curl", c.cookie_file(chrome_bash(COOKIE)),
                   "--account-id", OTHER], f"belongs to Airbnb user {HOST}, not to account "
                                           f"{OTHER}"),
    "update with another host's paste": (
        lambda c: ["accounts", "update", OTHER, "--from-curl",
                   c.cookie_file(chrome_bash(COOKIE))], f"belongs to Airbnb user {HOST}"),
    "paste and cookie file": (
        lambda c: ["accounts", "add", "--from-curl", c.cookie_file(chrome_bash(COOKIE)),
                   "--cookie-file", c.cookie_file(COOKIE)], "not allowed with argument"),
    "no paste and no cookie": (lambda c: ["accounts", "add", "--account-id", HOST],
                               "give --from-curl FILE or --from-har FILE"),
}


@sqlite_only
@pytest.mark.parametrize("case", sorted(BAD_PASTES))
def test_bad_pastes_exit_2_in_one_line_and_store_nothing(cli: Cli, case: str,
                                                         dagster_home: Path) -> None:
    cli.add(OTHER)
    make_args, reason = BAD_PASTES[case]
    args = make_args(cli)
    before = cli.dump()
    partitions = _partitions(dagster_home)
    result = cli(*args)
    assert result.code == 2, (result.out, result.err)
    assert reason in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    _no_secret_in(result.out, result.err)
    assert cli.dump() == before
    assert _partitions(dagster_home) == partitions


@sqlite_only
def test_the_captured_api_key_serves_when_airbnb_api_key_is_unset(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    with Simulator(SimulatorConfig(api_key=API_KEY)) as simulator:
        monkeypatch.setenv("AIRBNB_BASE_URL", simulator.url)
        monkeypatch.delenv("AIRBNB_API_KEY", raising=False)
        assert cli("accounts", "add", "--from-curl", cli.cookie_file(chrome_bash(COOKIE))).code == 0
        checked = cli("accounts", "check", HOST)
        assert checked.code == 0, checked.err
        # The environment still wins when it is set.
        monkeypatch.setenv("AIRBNB_API_KEY", "another-key")
        refused = cli("accounts", "check", HOST)
        assert refused.code == 1 and "API key" in refused.err
        _no_secret_in(checked.out, refused.err)
