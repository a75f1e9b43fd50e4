"""The accounts of an installation stay under one key (issue 18, the README's first step for
a real host): with accounts stored under the SQLite key file, `export
AIRBNB_SYNC_SECRET_KEY=$(airbnb-sync accounts generate-key)` must not store the next host
under the new key, which would leave the demo hosts unreadable with the variable and the new
host without it. The real `airbnb-sync`, run as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from paste_forms import chrome_bash
from test_hostile_input import Ran, assert_refused

from airbnb_sync.accounts.secrets import KEY_FILE_NAME, KEY_VARIABLE, generate_key
from airbnb_sync.simulator import make_cookie

DEMO_HOSTS = ("41234567", "58765432")
NEW_HOST = "73310045"

pytestmark = pytest.mark.slow


class Installation:
    def __init__(self, folder: Path, database_url: str | None) -> None:
        self.folder = folder
        self.home = folder / "home"
        env = {name: value for name, value in os.environ.items()
               if not name.startswith("AIRBNB_") or name.startswith("AIRBNB_SYNC_TEST_")}
        env["DAGSTER_HOME"] = str(self.home)
        if database_url is not None:
            env["AIRBNB_SYNC_DATABASE_URL"] = database_url
        self.env = env

    def run(self, *args: str, key: str | None = None, stdin: str | None = None) -> Ran:
        env = dict(self.env) if key is None else {**self.env, KEY_VARIABLE: key}
        result = subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", *args],
                                input=stdin, capture_output=True, text=True, cwd=self.folder,
                                env=env, timeout=180)
        return Ran(result.returncode, result.stdout, result.stderr)

    def add(self, host: str, key: str | None = None) -> Ran:
        return self.run("accounts", "add", "--from-curl", "-", key=key,
                        stdin=chrome_bash(make_cookie(host)))

    def listed(self, key: str | None = None) -> str:
        ran = self.run("accounts", "list", "--json", key=key)
        assert ran.code == 0, ran.err
        return ran.out


def _readable(installation: Installation, host: str, key: str | None = None) -> bool:
    ran = installation.run("accounts", "show", host, key=key)
    assert ran.code == 0, ran.err
    return "unreadable" not in ran.out


def test_the_readme_step_on_a_demo_installation_stores_no_host_under_a_second_key(
        tmp_path: Path) -> None:
    installation = Installation(tmp_path, None)  # the SQLite warehouse of DAGSTER_HOME
    for host in DEMO_HOSTS:
        assert installation.add(host).code == 0
    assert (installation.home / KEY_FILE_NAME).exists()
    new_key = installation.run("accounts", "generate-key").out.strip()
    before = installation.listed()

    refused = installation.add(NEW_HOST, key=new_key)

    assert_refused(refused, KEY_VARIABLE, "2 account(s)", str(installation.home / KEY_FILE_NAME),
                   "Unset")
    assert new_key not in refused.err
    assert installation.listed() == before
    # Updating a demo host under the new key is refused the same way.
    update = installation.run("accounts", "update", DEMO_HOSTS[0], "--from-curl", "-",
                              key=new_key, stdin=chrome_bash(make_cookie(DEMO_HOSTS[0])))
    assert_refused(update, KEY_VARIABLE, "Unset")
    assert all(_readable(installation, host) for host in DEMO_HOSTS)

    # The fixes the message names: without the variable, or with the file's key, all is one.
    file_key = (installation.home / KEY_FILE_NAME).read_text().strip()
    assert installation.add(NEW_HOST, key=file_key).code == 0
    assert all(_readable(installation, host) for host in (*DEMO_HOSTS, NEW_HOST))
    assert all(_readable(installation, host, key=file_key)
               for host in (*DEMO_HOSTS, NEW_HOST))


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_a_new_key_that_reads_no_stored_account_is_refused_and_the_hint_names_a_paste(
        tmp_path: Path, database_url: str) -> None:
    installation = Installation(tmp_path, database_url)
    first, second = generate_key(), generate_key()
    assert installation.add(DEMO_HOSTS[0], key=first).code == 0

    refused = installation.add(NEW_HOST, key=second)
    assert_refused(refused, KEY_VARIABLE, "cannot decrypt", "split")
    assert NEW_HOST not in installation.listed(key=first)

    # Rotating keys (NEW,OLD) keeps every account readable, so it is no split.
    assert installation.add(NEW_HOST, key=f"{second},{first}").code == 0
    assert installation.run("accounts", "rotate-key", key=f"{second},{first}").code == 0
    assert _readable(installation, NEW_HOST, key=second)
    assert _readable(installation, DEMO_HOSTS[0], key=second)

    # A session the configured keys cannot read: the hint names the paste that replaces it.
    unreadable = installation.run("accounts", "check", DEMO_HOSTS[0], key=first)
    assert unreadable.code == 1 and unreadable.err.count("\n") == 1
    assert f"accounts update {DEMO_HOSTS[0]} --from-curl -" in unreadable.err
