"""`airbnb-sync api token create|list|revoke`, in-process on every warehouse: the token alone
on the last line, once; only its SHA-256 stored; list shows everything but the token; a
revoked token answers 401; bad input exits 2 in one line and changes nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from api_helpers import Api, assert_problem

from airbnb_sync.cli.main import main
from airbnb_sync.warehouse.tables import api_tokens

HOST = "58765432"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_create_list_revoke(api: Api, capsys: pytest.CaptureFixture[str],
                            dagster_home: Path) -> None:
    api.add_account(HOST)
    code, out, _ = run(capsys, "api", "token", "create", "--name", "ops")
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("abs_") and len(token) >= 4 + 43  # 256 random bits
    assert token not in "\n".join(out.strip().splitlines()[:-1])
    code, scoped_out, _ = run(capsys, "api", "token", "create", "--name", "companion",
                              "--account", HOST, "--read-only")
    assert code == 0 and f"account {HOST}" in scoped_out
    scoped = scoped_out.strip().splitlines()[-1]
    with api.store.engine.connect() as connection:
        stored = connection.execute(sa.select(api_tokens)).mappings().all()
    assert {row["token_sha256"] for row in stored} == {
        hashlib.sha256(value.encode()).hexdigest() for value in (token, scoped)}
    assert not any(value in json.dumps([dict(row) for row in stored], default=str)
                   for value in (token, scoped))

    assert api.call("GET", "/api/v1/accounts", token).status_code == 200
    code, listed, _ = run(capsys, "api", "token", "list")
    assert code == 0 and "ops" in listed and "companion" in listed and "yes" in listed
    assert token not in listed and scoped not in listed
    code, listed_json, _ = run(capsys, "api", "token", "list", "--json")
    entries = {entry["name"]: entry for entry in json.loads(listed_json)}
    assert entries["ops"]["last_used_at"] is not None and entries["ops"]["revoked"] is False
    assert (entries["companion"]["account_id"], entries["companion"]["read_only"]) == (HOST,
                                                                                       True)
    assert entries["companion"]["last_used_at"] is None

    code, out, _ = run(capsys, "api", "token", "revoke", "ops")
    assert code == 0 and "revoked" in out
    assert_problem(api.call("GET", "/api/v1/accounts", token), 401)
    code, listed_json, _ = run(capsys, "api", "token", "list", "--json")
    assert {e["name"]: e for e in json.loads(listed_json)}["ops"]["revoked"] is True


@pytest.mark.parametrize("args, phrase", [
    (["--name", "dup"], "already exists"),
    (["--name", "with space"], "token name"),
    (["--name", "x", "--account", "99999999"], "does not exist"),
    (["--name", "x", "--account", "not-an-id"], "account id"),
])
def test_bad_token_input_exits_2_in_one_line(api: Api, capsys: pytest.CaptureFixture[str],
                                             args: list[str], phrase: str) -> None:
    api.token("dup")
    with api.store.engine.connect() as connection:
        before = connection.execute(sa.select(api_tokens)).all()
    code, out, err = run(capsys, "api", "token", "create", *args)
    assert code == 2 and phrase in err and err.count("\n") == 1, (out, err)
    assert "abs_" not in out + err
    with api.store.engine.connect() as connection:
        assert connection.execute(sa.select(api_tokens)).all() == before


def test_revoking_an_unknown_token_exits_2(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "api", "token", "revoke", "nobody")
    assert code == 2 and "no token named 'nobody'" in err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_refuses_an_address_it_cannot_listen_on_in_one_line(
        api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "api", "serve", "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1
    code, _, err = run(capsys, "api", "serve", "--port", "70000")
    assert code == 2 and "not a port number" in err
