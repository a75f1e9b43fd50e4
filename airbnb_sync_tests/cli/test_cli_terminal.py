"""The console script at a terminal and in a pipeline: `accounts delete` asks on a terminal
(and only there), and a reader that stops early (`| head -3`) ends any command quietly."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet

from airbnb_sync.cli.main import main as cli

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"],
                                                        indirect=True)]

BIN = Path(sys.executable).parent
ACCOUNT = "41234567"
VERSION = "0123456789abcdef0123456789abcdef01234567"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"


@pytest.fixture
def installation(database_url: str, dagster_home: Path, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", Fernet.generate_key().decode())
    cookie = tmp_path / "cookie"
    cookie.write_text(f"_aat=secret; _user_attributes={quote(json.dumps({'id_str': ACCOUNT}))}")
    assert cli(["accounts", "add", "--account-id", ACCOUNT, "--cookie-file", str(cookie),
                "--x-client-version", VERSION, "--user-agent", AGENT,
                "--label", "Lakeside cabins"]) == 0
    return dagster_home


def state() -> str:
    """The account as `accounts list --all --json` shows it: active, deleted or gone."""
    listed = subprocess.run([str(BIN / "airbnb-sync"), "accounts", "list", "--all", "--json"],
                            capture_output=True, text=True, check=True, timeout=120).stdout
    records = [r for r in json.loads(listed) if r["account_id"] == ACCOUNT]
    if not records:
        return "gone"
    return "deleted" if records[0]["deleted_at"] else "active"


def at_terminal(args: list[str], answer: str, prompt: str) -> tuple[int, str]:
    """Run the console script on a pseudo-terminal, type `answer` after `prompt`."""
    master, slave = pty.openpty()
    process = subprocess.Popen([str(BIN / "airbnb-sync"), *args], stdin=slave, stdout=slave,
                               stderr=slave, close_fds=True)
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other end closed: the command ended
                break
            if not chunk:
                break
            seen += chunk
        if not answered and prompt.encode() in seen:
            os.write(master, answer.encode() + b"\n")
            answered = True
        if process.poll() is not None and not ready:
            break
    os.close(master)
    code = process.wait(timeout=60)
    return code, seen.decode(errors="replace")


def test_delete_asks_on_a_terminal_and_no_keeps_the_account(installation: Path) -> None:
    code, seen = at_terminal(["accounts", "delete", ACCOUNT], "n", "[y/N]")
    assert code == 1, seen
    assert f"Delete account {ACCOUNT} (Lakeside cabins)?" in seen
    assert "nothing deleted" in seen
    assert state() == "active"
    code, seen = at_terminal(["accounts", "delete", ACCOUNT], "y", "[y/N]")
    assert code == 0, seen
    assert "is deleted (soft" in seen
    assert state() == "deleted"


def test_purge_at_a_terminal_takes_the_account_id_not_a_yes(installation: Path) -> None:
    code, seen = at_terminal(["accounts", "delete", ACCOUNT, "--purge"], "y", "to confirm:")
    assert code == 1 and "nothing deleted" in seen, seen
    assert state() == "active"
    code, seen = at_terminal(["accounts", "delete", ACCOUNT, "--purge"], ACCOUNT, "to confirm:")
    assert code == 0 and "purged" in seen, seen
    assert state() == "gone"


def test_delete_without_a_terminal_needs_yes(installation: Path) -> None:
    refused = subprocess.run([str(BIN / "airbnb-sync"), "accounts", "delete", ACCOUNT],
                             input="y\n", capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "add --yes to confirm" in refused.stderr
    assert state() == "active"
    done = subprocess.run([str(BIN / "airbnb-sync"), "accounts", "delete", ACCOUNT, "--yes"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert state() == "deleted"


@pytest.mark.parametrize("args", [["accounts", "list"], ["status"],
                                  ["accounts", "show", ACCOUNT, "--json"]])
def test_a_reader_that_stops_early_ends_the_command_quietly(installation: Path,
                                                            args: list[str]) -> None:
    """`airbnb-sync accounts list | head -3`: the reader is gone before the output is."""
    process = subprocess.Popen([str(BIN / "airbnb-sync"), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # gone before the command writes anything
    errors = process.stderr.read().decode()
    code = process.wait(timeout=120)
    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors
    assert code == 141  # as a shell reports a command that SIGPIPE ended
