"""`airbnb-sync status` on a real Dagster instance and warehouse, and the request counts it
reads: healthy -> 0; an expired active session or a partition failing for more than a day
-> 1 with the fix; requests over 24 h; JSON output; bad input -> 2. The clock is `--now`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import range_tags
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import (
    alembic_config,
    current_revision,
    forget_upgrades,
    head_revision,
    upgrade_to_head,
)
from airbnb_sync.warehouse.request_counts import RETENTION, record_requests, requests_since
from airbnb_sync.warehouse.tables import PG_SCHEMA, accounts, request_counts

HOST, OTHER = "41234567", "58765432"  # the simulator gives them 1 and 4 listings
API_KEY = "sim-api-key"
CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"
FIX = f"airbnb-sync accounts update {HOST} --cookie-file -"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class Status:
    code: int
    out: str
    err: str

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.out)

    def account(self, account_id: str) -> dict[str, Any]:
        (found,) = [a for a in self.data["accounts"] if a["account_id"] == account_id]
        return found


@dataclass
class Env:
    simulator: Simulator
    folder: Path
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: str) -> Status:
        self.capsys.readouterr()
        code = cli(list(args))
        captured = self.capsys.readouterr()
        return Status(code, captured.out, captured.err)

    def status(self, *args: str, now: datetime | None = None) -> Status:
        at = [] if now is None else ["--now", now.isoformat()]
        return self.cli("status", *at, *args)

    def cookie_file(self, account_id: str) -> str:
        path = self.folder / f"{account_id}.cookie"
        path.write_text(make_cookie(account_id))
        return str(path)

    def engine(self) -> sa.Engine:
        return create_warehouse_engine(load_settings().database_url)


@pytest.fixture
def env(database_url: str, dagster_home: Path, tmp_path_factory: pytest.TempPathFactory,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """The simulator, a warehouse, a Dagster home, and two registered hosts."""
    with Simulator(SimulatorConfig(api_key=API_KEY)) as simulator:
        for name, value in {
            "AIRBNB_SYNC_DATABASE_URL": database_url,
            "AIRBNB_SYNC_SECRET_KEY": Fernet.generate_key().decode(),
            "AIRBNB_BASE_URL": simulator.url, "AIRBNB_API_KEY": API_KEY,
            "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "0", "AIRBNB_SYNC_MAX_RETRIES": "0",
            "AIRBNB_SYNC_RUN_RETRIES": "0",
        }.items():
            monkeypatch.setenv(name, value)
        env = Env(simulator, tmp_path_factory.mktemp("cookies"), capsys)
        for account_id in (HOST, OTHER):
            added = env.cli("accounts", "add", "--account-id", account_id, "--cookie-file",
                            env.cookie_file(account_id), "--x-client-version", CLIENT_VERSION,
                            "--user-agent", USER_AGENT)
            assert added.code == 0, added.err
        yield env
    dispose_warehouse_engine(database_url)


def this_week() -> date:
    return week_start_of(datetime.now(UTC).date())


def run_weeks(account_id: str, first: date, last: date) -> bool:
    """One real Dagster run of the three assets over the account's weeks."""
    job = build_definitions(load_settings()).resolve_implicit_global_asset_job_def()
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False,
                                        tags=range_tags(account_id, first, last))
    return result.success


def run_end_times() -> list[datetime]:
    with DagsterInstance.get() as instance:
        records = instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.FAILURE]),
                                           ascending=True)
        return [datetime.fromtimestamp(r.end_time, UTC) for r in records if r.end_time]


def secrets_of(account_id: str) -> list[str]:
    pairs = (pair.split("=", 1) for pair in make_cookie(account_id).split("; "))
    return [value for name, value in pairs if name in {"_aat", "_airbed_session_id", "_pt"}]


# --- status ----------------------------------------------------------------------------------


def test_healthy_accounts_exit_0_and_synced_weeks_are_not_missing(env: Env) -> None:
    week = this_week()
    assert run_weeks(HOST, week - timedelta(weeks=1), week)

    text = env.status()
    assert text.code == 0, text.out + text.err
    assert "ok: nothing needs a person" in text.out
    assert HOST in text.out and OTHER in text.out

    report = env.status("--json")
    assert report.code == 0 and report.data["healthy"] is True and report.data["problems"] == []
    horizon = report.data["horizon"]["weeks"]
    synced, other = report.account(HOST), report.account(OTHER)
    assert synced["missing"]["count"] == horizon - 2
    assert {week.isoformat(), (week - timedelta(weeks=1)).isoformat()}.isdisjoint(
        synced["missing"]["weeks"])
    assert other["missing"]["count"] == horizon
    assert synced["failed"]["count"] == other["failed"]["count"] == 0
    assert synced["auth_status"] == "ok" and synced["last_sync_at"] is not None
    assert other["last_sync_at"] is None
    for value in secrets_of(HOST) + secrets_of(OTHER):
        assert value not in text.out + report.out + text.err + report.err


def test_an_expired_active_session_exits_1_with_the_fix(env: Env) -> None:
    env.simulator.expire(HOST)
    assert env.cli("accounts", "check", HOST).code == 1  # Airbnb refuses: marked expired

    text = env.status()
    assert text.code == 1
    assert "needs a person:" in text.out and FIX in text.out
    assert OTHER not in text.out.split("needs a person:")[1]
    report = env.status("--json")
    assert report.data["healthy"] is False and len(report.data["problems"]) == 1
    assert report.account(HOST)["auth_expired_at"] is not None
    assert report.account(OTHER)["auth_expired_at"] is None

    # An inactive account needs nobody; active again, it does; a new cookie resolves it.
    assert env.cli("accounts", "deactivate", HOST).code == 0
    assert env.status().code == 0
    assert env.cli("accounts", "activate", HOST).code == 0
    assert env.status().code == 1
    assert env.cli("accounts", "update", HOST, "--cookie-file", env.cookie_file(HOST)).code == 0
    assert env.status().code == 0


@sqlite_only
@pytest.mark.slow
def test_a_partition_failing_for_more_than_a_day_exits_1(env: Env) -> None:
    week = this_week()
    first = week - timedelta(weeks=1)
    env.simulator.configure(error_rate=1.0)  # every Airbnb answer is a 5xx
    assert not run_weeks(HOST, first, week)
    assert not run_weeks(HOST, first, week)  # failing again does not restart the clock
    first_failure, second_failure = run_end_times()
    assert first_failure < second_failure

    fresh = env.status("--json", now=second_failure)
    assert fresh.code == 0  # failed, but the retries and the next schedule tick may fix it
    failed = fresh.account(HOST)["failed"]
    assert failed["count"] == 2 and failed["older_than_a_day"] == 0
    assert [p["week"] for p in failed["partitions"]] == [first.isoformat(), week.isoformat()]
    assert {p["failing_since"] for p in failed["partitions"]} == {first_failure.isoformat()}
    assert set(failed["partitions"][0]["assets"]) == {
        "listings", "conversion_metrics", "visibility_metrics"}
    assert env.status(now=first_failure + timedelta(hours=23)).code == 0

    late = env.status(now=first_failure + timedelta(hours=24, minutes=1))
    assert late.code == 1
    problem = late.out.split("needs a person:")[1]
    assert f"account {HOST}: 2 partition(s) failing for more than a day" in problem
    assert f"re-run them: airbnb-sync sync {HOST} --from {first} --to {week}" in problem
    assert env.status("--json", now=first_failure + timedelta(days=2)).account(
        HOST)["failed"]["older_than_a_day"] == 2

    env.simulator.configure(error_rate=0.0)
    assert run_weeks(HOST, first, week)
    healed = env.status("--json", now=first_failure + timedelta(days=2))
    assert healed.code == 0 and healed.account(HOST)["failed"]["count"] == 0


def test_requests_are_counted_over_the_last_24_hours(env: Env) -> None:
    now = datetime.now(UTC)
    engine = env.engine()
    record_requests(engine, HOST, 5, now - timedelta(hours=2))
    record_requests(engine, HOST, 7, now - timedelta(hours=2))
    record_requests(engine, HOST, 100, now - timedelta(hours=30))
    record_requests(engine, OTHER, 3, now - timedelta(hours=23))

    report = env.status("--json", now=now)
    assert report.account(HOST)["requests_24h"] == 12
    assert report.account(OTHER)["requests_24h"] == 3
    # Earlier: the 100 are inside the window, the recent 12 are after it.
    earlier = env.status("--json", now=now - timedelta(hours=10))
    assert earlier.account(HOST)["requests_24h"] == 100
    assert earlier.account(OTHER)["requests_24h"] == 3
    row = next(line for line in env.status(now=now).out.splitlines()
               if line.startswith(HOST))
    assert row.split()[-1] == "12"


def test_bad_input_exits_2_and_one_account_can_be_picked(env: Env) -> None:
    bad_time = env.status("--now", "yesterday")
    assert bad_time.code == 2 and "ISO 8601" in bad_time.err
    unknown = env.status("--account", "999")
    assert unknown.code == 2 and "no account 999" in unknown.err
    picked = env.status("--json", "--account", OTHER)
    assert picked.code == 0
    assert [a["account_id"] for a in picked.data["accounts"]] == [OTHER]


# --- request_counts --------------------------------------------------------------------------


@pytest.fixture
def warehouse(database_url: str) -> Iterator[sa.Engine]:
    engine = create_warehouse_engine(database_url)
    upgrade_to_head(engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(accounts.insert(), [
            {"account_id": account_id, "credentials": "x", "created_at": now, "updated_at": now}
            for account_id in (HOST, OTHER)])
    yield engine
    dispose_warehouse_engine(database_url)


def stored(engine: sa.Engine) -> list[tuple[str, datetime, int]]:
    query = sa.select(request_counts).order_by(request_counts.c.account_id,
                                                request_counts.c.hour)
    with engine.connect() as connection:
        return [(a, h.replace(tzinfo=UTC) if h.tzinfo is None else h.astimezone(UTC), n)
                for a, h, n in connection.execute(query)]


def test_request_counts_add_up_per_hour_and_prune_old_hours(warehouse: sa.Engine) -> None:
    hour = datetime(2026, 5, 1, 10, tzinfo=UTC)
    record_requests(warehouse, HOST, 3, hour + timedelta(minutes=5))
    record_requests(warehouse, HOST, 4, hour + timedelta(minutes=59, seconds=59))
    record_requests(warehouse, HOST, 0, hour)  # nothing sent, nothing stored
    record_requests(warehouse, HOST, 2, hour + timedelta(hours=1))
    record_requests(warehouse, OTHER, 1, hour)
    assert stored(warehouse) == [(HOST, hour, 7), (HOST, hour + timedelta(hours=1), 2),
                                 (OTHER, hour, 1)]
    assert requests_since(warehouse, hour + timedelta(minutes=30)) == {HOST: 9, OTHER: 1}
    assert requests_since(warehouse, hour + timedelta(hours=1)) == {HOST: 2}
    assert requests_since(warehouse, hour - timedelta(days=1), until=hour) == {HOST: 7, OTHER: 1}

    later = hour + RETENTION + timedelta(hours=2)
    record_requests(warehouse, HOST, 1, later)
    assert stored(warehouse) == [(HOST, later.replace(minute=0), 1), (OTHER, hour, 1)]
    with pytest.raises(ValueError, match="negative"):
        record_requests(warehouse, HOST, -1, later)


def test_purging_an_account_removes_its_request_counts(warehouse: sa.Engine) -> None:
    record_requests(warehouse, HOST, 3, datetime.now(UTC))
    record_requests(warehouse, OTHER, 4, datetime.now(UTC))
    with warehouse.begin() as connection:
        connection.execute(accounts.delete().where(accounts.c.account_id == HOST))
    assert [row[0] for row in stored(warehouse)] == [OTHER]


def test_migration_0002_adds_request_counts_and_keeps_existing_data(
        database_url: str) -> None:
    engine = create_warehouse_engine(database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
            connection.execute(accounts.insert().values(
                account_id=HOST, credentials="token", label="Cabins",
                created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
        assert current_revision(engine) == "0001"
        schema = PG_SCHEMA if engine.dialect.name == "postgresql" else None
        assert "request_counts" not in sa.inspect(engine).get_table_names(schema=schema)

        forget_upgrades()
        upgrade_to_head(engine)

        assert current_revision(engine) == head_revision()
        assert "request_counts" in sa.inspect(engine).get_table_names(schema=schema)
        with engine.connect() as connection:
            kept = connection.execute(sa.select(accounts.c.account_id, accounts.c.label)).all()
        assert [tuple(row) for row in kept] == [(HOST, "Cabins")]
        record_requests(engine, HOST, 2, datetime.now(UTC))
        assert requests_since(engine, datetime.now(UTC) - timedelta(hours=1)) == {HOST: 2}
    finally:
        dispose_warehouse_engine(database_url)
