"""`airbnb-sync api invite`: the link alone on the last line, its token stored as a hash only,
bad input refused in one line with exit 2; an invite works once and expires (on every
backend: the claim is one conditional UPDATE)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from airbnb_sync.accounts.store import open_store
from airbnb_sync.api.invites import InviteStore, InviteUnusable, invite_hash
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator.paste_sample import sample_curl
from airbnb_sync.warehouse.tables import invites

HOST = "41234567"


@pytest.fixture
def installation(database_url: str, dagster_home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("AIRBNB_SYNC_API_URL", "https://sync.example.com/")
    monkeypatch.setattr("sys.stdin", io.StringIO(sample_curl(HOST, "k")))
    assert cli(["accounts", "add", "--from-curl", "-"]) == 0


def test_invite_prints_the_link_last_and_stores_only_its_hash(
        installation: None, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli(["api", "invite", "--account", HOST, "--expires", "12h"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert f"refreshes the Airbnb session of account {HOST}" in lines[0]
    link = lines[-1]
    assert link.startswith("https://sync.example.com/api/v1/invite#abi_")
    token = link.split("#", 1)[1]
    assert len(token) >= 4 + 43  # 256 random bits
    engine = open_store(load_settings()).engine
    with engine.connect() as connection:
        rows = connection.execute(sa.select(invites)).all()
    [row] = rows
    assert row.token_sha256 == invite_hash(token) and token not in str(tuple(row))
    assert row.account_id == HOST and row.used_at is None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    assert timedelta(hours=11, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=12)

    assert cli(["api", "invite", "--new"]) == 0
    assert "registers the Airbnb host account" in capsys.readouterr().out


@pytest.mark.parametrize("arguments, message", [
    (["--account", "99999999"], "account 99999999 does not exist"),
    (["--account", "12ab"], "account id '12ab' is invalid"),
    (["--new", "--expires", "7"], "--expires '7' is not a duration"),
    (["--new", "--expires", "31d"], "longer than 30 days"),
    (["--new", "--label", "a\nb"], "label is invalid"),
    (["--new", "--account", HOST], "not allowed with argument"),
    ([], "one of the arguments --account --new is required"),
])
def test_bad_invites_are_refused_in_one_line(installation: None, arguments: list[str],
                                             message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli(["api", "invite", *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    with open_store(load_settings()).engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(invites)).scalar() == 0


def test_an_invite_is_claimed_once_and_given_back_when_nothing_was_stored(
        installation: None) -> None:
    engine = open_store(load_settings()).engine
    store = InviteStore(engine)
    _, token = store.create(HOST, timedelta(hours=1))
    store.claim(token)
    with pytest.raises(InviteUnusable, match="already used") as used:
        store.claim(token)
    assert used.value.status == 410
    store.release(token)  # the paste could not be stored
    store.claim(token)
    store.used_for(token, HOST)
    store.release(token)  # too late: it served an account
    with pytest.raises(InviteUnusable, match="already used"):
        store.open(token)

    past = datetime.now(UTC) - timedelta(days=2)
    _, old = InviteStore(engine, now=lambda: past).create(None, timedelta(days=1))
    with pytest.raises(InviteUnusable, match="expired on") as expired:
        store.claim(old)
    assert expired.value.status == 410
    with pytest.raises(InviteUnusable, match="not known") as unknown:
        store.open("abi_" + "A" * 43)
    assert unknown.value.status == 404
