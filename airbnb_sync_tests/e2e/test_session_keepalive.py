"""Keep-alive end to end through Dagster: a host registered from a paste, runs against a
simulator that rotates `_aat`, the rotated session stored, a `session_expiring` alert before
its known expiry; and the cookie canary found nowhere: warehouse, Dagster's storage, logs,
run metadata, alerts."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from automation_helpers import alert_on_failure, resources
from paste_forms import chrome_bash
from pipeline_helpers import run_range, weeks_ending_now
from webhook_receiver import WebhookReceiver

from airbnb_sync.accounts.store import open_store
from airbnb_sync.airbnb.cookies import AUTH_COOKIES
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.simulator import Simulator, make_cookie
from airbnb_sync.simulator.rotation import rotated_aat
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.tables import metadata

CANARY_HOST = "73310045"
MAX_AGE_HOURS = 10  # within the default 24 h of AIRBNB_SYNC_SESSION_ALERT_HOURS


def _tick_expiry_sensor(cursor: str | None) -> dg.SensorExecutionData:
    sensor = build_definitions(load_settings()).get_sensor_def("session_expiry_alerts")
    with dg.build_sensor_context(instance=dg.DagsterInstance.get(), cursor=cursor,
                                 resources=resources()) as context:
        return sensor.evaluate_tick(context)


def _warehouse_text() -> str:
    engine = create_warehouse_engine(load_settings().database_url)
    with engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names(
            schema="airbnb" if engine.dialect.name == "postgresql" else None))
        return repr([list(connection.execute(sa.select(table)))
                     for table in metadata.sorted_tables if table.name in present])


def _files_text(folder: Path) -> bytes:
    return b"\n".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_rotated_sessions_are_kept_alerted_before_expiry_and_never_leak(
        pipeline_env: Simulator, dagster_home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    simulator = pipeline_env
    simulator.configure(rotate_every=4, rotate_grace=1, cookie_max_age=MAX_AGE_HOURS * 3600)
    caplog.set_level(logging.DEBUG)
    with WebhookReceiver() as receiver:
        monkeypatch.setenv("AIRBNB_SYNC_ALERT_WEBHOOK", receiver.url)
        paste = tmp_path / "paste.sh"  # outside DAGSTER_HOME, which is scanned below
        paste.write_text(chrome_bash(make_cookie(CANARY_HOST)))
        assert cli(["accounts", "add", "--from-curl", str(paste)]) == 0
        paste.unlink()

        # A run with rotations: it succeeds, and the newest session is what is stored.
        first, last = weeks_ending_now(2)
        assert run_range(CANARY_HOST, first, last).success
        rotations = simulator.state.rotation.generations(CANARY_HOST)
        assert rotations >= 3
        store = open_store(load_settings())
        assert store.session(CANARY_HOST).cookies["_aat"] == rotated_aat(0, CANARY_HOST,
                                                                         rotations)
        record = store.get(CANARY_HOST)
        assert record.session_rotated_at is not None and record.session_expires_at is not None
        assert record.session_expires_at - datetime.now(UTC) < timedelta(hours=MAX_AGE_HOURS)

        # list, show and status tell the session's age, last rotation and expiry.
        before = capsys.readouterr()  # what the runs printed: scanned below with the logs
        outputs = [before.out, before.err]
        assert cli(["accounts", "show", CANARY_HOST, "--json"]) == 0
        outputs.append(capsys.readouterr().out)
        shown = json.loads(outputs[-1])
        assert shown["session_rotated_at"] == record.session_rotated_at.isoformat()
        assert shown["session_expires_at"] == record.session_expires_at.isoformat()
        assert shown["session_expires_in"].startswith("9h") and shown["session_age"] != "-"
        assert cli(["accounts", "list"]) == 0
        outputs.append(capsys.readouterr().out)
        line = next(row for row in outputs[-1].splitlines() if row.startswith(CANARY_HOST))
        assert record.session_rotated_at.strftime("%Y-%m-%d %H:%M") in line and " 9h " in line
        cli(["status", "--json"])
        outputs.append(capsys.readouterr().out)
        status = next(account for account in json.loads(outputs[-1])["accounts"]
                      if account["account_id"] == CANARY_HOST)
        assert status["session"]["session_expires_at"] == record.session_expires_at.isoformat()

        # A second run picks up where the first left: no expiry.
        assert run_range(CANARY_HOST, first, last).success
        assert simulator.state.rotation.generations(CANARY_HOST) > rotations
        assert 401 not in {r["status"] for r in simulator.requests(CANARY_HOST)}

        # The known expiry is within the alert window: one session_expiring alert, once.
        tick = _tick_expiry_sensor(None)
        again = _tick_expiry_sensor(tick.cursor)
        expiring = [post for post in receiver.posts if post["event"] == "session_expiring"]
        assert [post["account"] for post in expiring] == [CANARY_HOST]
        assert "--from-curl" in expiring[0]["fix"] and again.cursor == tick.cursor

        # A refused session: the failure alerts carry errors, and the session stays stored.
        kept = dict(store.session(CANARY_HOST).cookies)
        simulator.expire(CANARY_HOST)
        failed = run_range(CANARY_HOST, first, last)
        assert not failed.success
        alert_on_failure(failed)
        assert {post["event"] for post in receiver.posts} >= {"run_failed", "session_expired"}
        assert dict(store.session(CANARY_HOST).cookies) == kept

        # The canary: every cookie value the host ever had, and the API key of the paste.
        cookies = dict(pair.split("=", 1) for pair in make_cookie(CANARY_HOST).split("; "))
        canary = [value for name, value in cookies.items() if name in AUTH_COOKIES
                  and len(value) > 8]
        canary += [rotated_aat(0, CANARY_HOST, generation) for generation in
                   range(1, simulator.state.rotation.generations(CANARY_HOST) + 1)]
        instance = dg.DagsterInstance.get()
        run_texts = []
        for run_id in (record.dagster_run.run_id for record in instance.get_run_records()):
            run_texts.append(repr(instance.get_run_by_id(run_id)))
            run_texts.extend(repr(entry) for entry in instance.all_logs(run_id))
        captured = capsys.readouterr()
        places = {
            "warehouse": _warehouse_text(),
            "dagster storage": _files_text(dagster_home).decode("utf-8", "replace"),
            "run events and metadata": "\n".join(run_texts),
            "logs": caplog.text + captured.out + captured.err,
            "command output": "\n".join(outputs),
            "alerts": b"\n".join(receiver.raw).decode(),
        }
        for place, text in places.items():
            assert CANARY_HOST in text, f"{place}: the scan does not see the account at all"
            leaked = [value[:6] for value in canary if value in text]
            assert not leaked, f"cookie values found in {place}: {leaked}"
