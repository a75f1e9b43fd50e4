"""Log lines: text by default, one JSON object per line with AIRBNB_SYNC_LOG_FORMAT=json, the
run/account/partition context on every record, secrets scrubbed in both formats; checked
in-process and through the real `airbnb-sync` and `dagster` command lines."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.logs import (
    CONTEXT_FIELDS,
    StderrHandler,
    configure_logging,
    current_log_context,
    log_context,
)
from airbnb_sync.core.redact import REDACTED, register_secret
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.partitions import partition_key
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie

BIN = Path(sys.executable).parent
ACCOUNT = "41234567"
API_KEY = "sim-api-key"
CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"
JSON_KEYS = {"timestamp", "level", "logger", "message", *CONTEXT_FIELDS}
logger = logging.getLogger("airbnb_sync.test_logs")


@pytest.fixture(autouse=True)
def restore_airbnb_sync_logger() -> Iterator[None]:
    """configure_logging changes process-wide state: leave it as the test found it."""
    root = logging.getLogger("airbnb_sync")
    handlers = [(handler, handler.formatter) for handler in root.handlers]
    level = root.level
    yield
    root.handlers[:] = [handler for handler, _ in handlers]
    for handler, formatter in handlers:
        handler.setFormatter(formatter)
    root.setLevel(level)


def configure(log_format: str | None) -> None:
    env = {} if log_format is None else {"AIRBNB_SYNC_LOG_FORMAT": log_format}
    configure_logging(load_settings(env))


def our_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "airbnb_sync.test_logs" in line]


def test_json_lines_parse_and_carry_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")
    capsys.readouterr()
    before = datetime.now(UTC)
    with log_context(run_id="run-1", account=ACCOUNT, partition=f"{ACCOUNT}|2026-05-03"):
        logger.warning("fetched %d rows\nof %s", 7, "listings")
    logger.info("outside any context")

    lines = our_lines(capsys.readouterr().err)
    assert len(lines) == 2  # a newline in a message does not split the record
    inside, outside = (json.loads(line) for line in lines)
    assert set(inside) == JSON_KEYS and set(outside) == JSON_KEYS
    assert inside["message"] == "fetched 7 rows\nof listings"
    assert (inside["level"], inside["logger"]) == ("WARNING", "airbnb_sync.test_logs")
    assert (inside["run_id"], inside["account"], inside["partition"]) == (
        "run-1", ACCOUNT, f"{ACCOUNT}|2026-05-03")
    assert inside["timestamp"].endswith("Z")
    stamped = datetime.fromisoformat(inside["timestamp"].replace("Z", "+00:00"))
    assert timedelta(seconds=-1) <= stamped - before <= timedelta(seconds=5)
    assert outside["level"] == "INFO"  # INFO is let through, not only warnings
    assert [outside[name] for name in CONTEXT_FIELDS] == [None] * len(CONTEXT_FIELDS)


def test_context_nests_and_unwinds(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")
    capsys.readouterr()
    with log_context(run_id="run-2"):
        with log_context(account=ACCOUNT, partition="p1"):
            assert current_log_context() == {"run_id": "run-2", "account": ACCOUNT,
                                             "partition": "p1", "request_id": None}
            logger.warning("inner")
        logger.warning("outer")
    assert current_log_context() == {"run_id": None, "account": None, "partition": None,
                                     "request_id": None}
    inner, outer = (json.loads(line) for line in our_lines(capsys.readouterr().err))
    assert (inner["run_id"], inner["account"], inner["partition"]) == ("run-2", ACCOUNT, "p1")
    assert (outer["run_id"], outer["account"], outer["partition"]) == ("run-2", None, None)


def test_context_stays_in_its_thread(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")
    capsys.readouterr()
    with log_context(account=ACCOUNT):
        worker = threading.Thread(target=lambda: logger.warning("from another thread"))
        worker.start()
        worker.join()
    (line,) = our_lines(capsys.readouterr().err)
    assert json.loads(line)["account"] is None


def test_text_is_the_default_and_shows_the_context(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_settings({}).log_format == "text"
    configure(None)
    capsys.readouterr()
    with log_context(account=ACCOUNT):
        logger.warning("plain %s", "text")
    (line,) = our_lines(capsys.readouterr().err)
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    stamp, level, name, tags, message = line.split(" ", 4)
    datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert (level, name, tags, message) == (
        "WARNING", "airbnb_sync.test_logs", f"[account={ACCOUNT}]", "plain text")


def test_configure_is_idempotent_and_follows_the_format(
        capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")
    configure("json")
    configure("text")
    handlers = [h for h in logging.getLogger("airbnb_sync").handlers
                if isinstance(h, StderrHandler)]
    assert len(handlers) == 1
    capsys.readouterr()
    logger.warning("once")
    (line,) = our_lines(capsys.readouterr().err)
    assert line.endswith("airbnb_sync.test_logs once")


@pytest.mark.parametrize(("variable", "is_json"), [("json", True), ("xml", False), (None, False)])
def test_without_settings_the_format_variable_alone_decides(
        variable: str | None, is_json: bool, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback of commands that load no settings (the simulator, generate-key): it
    must not fail on a bad value, which the commands that load the settings report."""
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", "not-a-key")  # ignored: never loaded
    if variable is None:
        monkeypatch.delenv("AIRBNB_SYNC_LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("AIRBNB_SYNC_LOG_FORMAT", variable)
    configure_logging()
    capsys.readouterr()
    logger.warning("fallback")
    (line,) = our_lines(capsys.readouterr().err)
    assert line.startswith("{") == is_json


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_registered_secret_never_appears(log_format: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    secret = secrets.token_urlsafe(24)
    register_secret(secret)
    configure(log_format)
    capsys.readouterr()
    with log_context(run_id="run-3", account=secret):
        logger.warning("session %s refused", secret)
        logger.info("headers %s", {"Cookie": f"_aat={secret}"})
        try:
            raise RuntimeError(f"boom {secret}")
        except RuntimeError:
            logger.exception("request failed")
    err = capsys.readouterr().err
    assert err.count(REDACTED) >= 4
    assert secret not in err
    assert "boom" in err and "Traceback" in err  # only the secret went, not the traceback
    if log_format == "json":
        records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert len(records) == 3
        assert "RuntimeError: boom" in records[-1]["exception"]


# --- through the real command lines ---------------------------------------------------------


@pytest.fixture
def failing_airbnb(dagster_home: Path, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A simulator answering 5xx to everything, one account registered against it, and the
    environment of a subprocess that talks to it with JSON logs."""
    with Simulator(SimulatorConfig(api_key=API_KEY, error_rate=1.0)) as simulator:
        settings = {
            "AIRBNB_BASE_URL": simulator.url, "AIRBNB_API_KEY": API_KEY,
            "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "0", "AIRBNB_SYNC_MAX_RETRIES": "1",
            "AIRBNB_SYNC_RUN_RETRIES": "0",
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        cookie = tmp_path / "cookie.txt"
        cookie.write_text(make_cookie(ACCOUNT))
        assert cli(["accounts", "add", "--account-id", ACCOUNT, "--cookie-file", str(cookie),
                    "--x-client-version", CLIENT_VERSION, "--user-agent", USER_AGENT]) == 0
        yield {**os.environ, "AIRBNB_SYNC_LOG_FORMAT": "json"}


def cookie_values(account_id: str) -> list[str]:
    pairs = (pair.split("=", 1) for pair in make_cookie(account_id).split("; "))
    return [value for name, value in pairs if name in {"_aat", "_airbed_session_id", "_pt"}]


def json_records(stderr: str) -> list[dict[str, Any]]:
    """Every line that is a JSON object, parsed (a line starting with '{' must parse)."""
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_cli_subprocess_writes_json_lines(failing_airbnb: dict[str, str]) -> None:
    result = subprocess.run([str(BIN / "airbnb-sync"), "accounts", "check", ACCOUNT],
                            env=failing_airbnb, capture_output=True, text=True, timeout=120)

    assert result.returncode == 1, result.stderr
    records = json_records(result.stderr)
    retries = [r for r in records if r["logger"] == "airbnb_sync.airbnb.client"]
    assert retries and all(set(r) == JSON_KEYS for r in records)
    assert f"account {ACCOUNT}" in retries[0]["message"] and "retrying" in retries[0]["message"]
    # Besides the JSON lines there is only the command's one-line error.
    others = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(others) == 1 and others[0].startswith("error: ")
    assert not any(value in result.stderr + result.stdout for value in cookie_values(ACCOUNT))


@pytest.mark.slow
def test_dagster_run_subprocess_writes_json_lines(failing_airbnb: dict[str, str]) -> None:
    week = week_start_of(datetime.now(UTC).date())
    result = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "airbnb_sync.definitions",
         "--select", "listings",
         "--partition-range", f"{partition_key(ACCOUNT, week)}...{partition_key(ACCOUNT, week)}"],
        env=failing_airbnb, capture_output=True, text=True, timeout=240)

    assert result.returncode != 0  # Airbnb answered 5xx to everything
    assert "RUN_FAILURE" in result.stderr  # Dagster's own lines stay as Dagster writes them
    ours = [r for r in json_records(result.stderr) if r["logger"].startswith("airbnb_sync.")]
    assert ours, result.stderr[-3000:]
    assert all(set(r) == JSON_KEYS for r in ours)
    assert any(f"account {ACCOUNT}" in r["message"] for r in ours)
    assert not any(value in result.stderr + result.stdout for value in cookie_values(ACCOUNT))
