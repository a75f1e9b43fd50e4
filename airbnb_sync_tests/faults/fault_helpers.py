"""Helpers of the fault suite: the work a test does, running it (in process or as a
`dagster asset materialize` process), and the warehouse as a multiset of rows to compare
with the reference, an undisturbed run of the same work.

Plain functions, imported as `from fault_helpers import ...`; the e2e helpers
(`pipeline_helpers`) do the rest: hosts, accounts, table reads.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult
from pipeline_helpers import API_KEY, HOSTS, add_account, table

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, partition_key
from airbnb_sync.simulator import Simulator, SimulatorConfig
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.tables import METRIC_TABLES, accounts, key_columns

ASSETS = ("listings", "conversion_metrics", "visibility_metrics")
# The warehouse contract's tables (README: The warehouse). Timestamps are wall-clock (when a row was
# written or checked) and differ between any two runs; calendar days (scraped_on) are data.
# Credentials are Fernet tokens, different at every encryption of the same cookie.
SNAPSHOT_TABLES = {"accounts": accounts, **{name: METRIC_TABLES[name] for name in ASSETS}}
NOT_COMPARED = frozenset({"credentials"})

Row = tuple[Any, ...]
Snapshot = dict[str, Counter[Row]]


@dataclass(frozen=True)
class Work:
    """A rectangle of partitions (accounts x weeks) synced as one run, on a pinned day."""

    accounts: tuple[str, ...]
    first: date
    last: date
    today: date

    @classmethod
    def weeks_up_to(cls, accounts: tuple[str, ...], today: date, weeks: int) -> Work:
        last = week_start_of(today)
        return cls(accounts, last - timedelta(weeks=weeks - 1), last, today)

    @property
    def weeks(self) -> list[date]:
        count = (self.last - self.first).days // 7 + 1
        return [self.first + timedelta(weeks=i) for i in range(count)]

    @property
    def partition_keys(self) -> set[str]:
        return {partition_key(a, w) for a in self.accounts for w in self.weeks}

    @property
    def partition_range(self) -> str:
        return (f"{partition_key(self.accounts[0], self.first)}..."
                f"{partition_key(self.accounts[-1], self.last)}")

    @property
    def run_config(self) -> dict[str, Any]:
        """Pins the resource's calendar day, so that every run of the work has one scraped_on."""
        return {"resources": {"clock": {"config": {"today": self.today.isoformat()}}}}

    def only(self, account_id: str) -> Work:
        return Work((account_id,), self.first, self.last, self.today)


def run_work(work: Work) -> ExecuteInProcessResult:
    """The work as one in-process Dagster run (a single-run backfill of its rectangle)."""
    defs = build_definitions(load_settings(), today=work.today)
    job = defs.resolve_implicit_global_asset_job_def()
    start, end = work.partition_range.split("...")
    return job.execute_in_process(instance=DagsterInstance.get(), run_config=work.run_config,
                                  tags={RANGE_START_TAG: start, RANGE_END_TAG: end},
                                  raise_on_error=False)


def materialize_command(work: Work, **run_config: Any) -> list[str]:
    """README: Syncing's command line for the work, as an operator would type it (plus the
    pinned day, and `run_config` sections such as `execution`)."""
    return [str(Path(sys.executable).parent / "dagster"), "asset", "materialize",
            "-m", "airbnb_sync.definitions", "--select", ",".join(ASSETS),
            "--partition-range", work.partition_range,
            "--config-json", json.dumps({**work.run_config, **run_config})]


def failure_text(result: ExecuteInProcessResult) -> str:
    """Every step failure of the run: the errors a user sees in the UI."""
    return "\n".join(str(event.step_failure_data.error) for event in result.all_events
                     if event.is_step_failure and event.step_failure_data is not None)


def step_failures(result: ExecuteInProcessResult) -> dict[str, str]:
    """Step (asset) -> its failure's error text."""
    return {event.step_key or "": str(event.step_failure_data.error)
            for event in result.all_events
            if event.is_step_failure and event.step_failure_data is not None}


def materialized(assets: tuple[str, ...] = ASSETS) -> dict[str, set[str]]:
    """Asset -> the partitions Dagster's instance counts as materialized."""
    instance = DagsterInstance.get()
    return {asset: set(instance.get_materialized_partitions(AssetKey(asset)))
            for asset in assets}


# --- the warehouse as rows -----------------------------------------------------------------

def compared_columns(source: sa.Table) -> list[str]:
    return [column.name for column in source.columns
            if column.name not in NOT_COMPARED
            and not (isinstance(column.type, sa.DateTime) and column.name != "deleted_at")]


def _frame(name: str) -> pd.DataFrame:
    if name in METRIC_TABLES:
        return table(name)
    engine = create_warehouse_engine(load_settings().database_url)
    with engine.connect() as connection:
        return pd.read_sql(sa.select(SNAPSHOT_TABLES[name]), connection)


def snapshot() -> Snapshot:
    """Every table of the warehouse contract as a multiset of rows, wall-clock columns left
    out (`deleted_at` stays: it says whether the account is deleted)."""
    taken: Snapshot = {}
    for name, source in SNAPSHOT_TABLES.items():
        columns = compared_columns(source)
        frame = _frame(name)[columns].astype(object)
        if "deleted_at" in frame:
            frame["deleted_at"] = frame["deleted_at"].notna()
        frame = frame.where(frame.notna(), None)  # NaN never equals itself: compare None
        taken[name] = Counter(tuple(row) for row in frame.itertuples(index=False))
    return taken


def partition_rows(taken: Snapshot, asset: str, key: str) -> list[Row]:
    """The rows of one `account|week` partition in an asset's table, sorted."""
    account, week = key.split("|")
    at = compared_columns(SNAPSHOT_TABLES[asset]).index("week_start")
    return sorted(row for row in taken[asset].elements()
                  if row[0] == account and str(row[at])[:10] == week)


def partially_materialized(expected: Snapshot) -> dict[str, list[str]]:
    """Asset -> the partitions Dagster counts as materialized whose rows are not exactly the
    reference's: each should be empty, whatever went wrong."""
    actual = snapshot()
    return {asset: sorted(key for key in keys
                          if partition_rows(actual, asset, key)
                          != partition_rows(expected, asset, key))
            for asset, keys in materialized().items()}


def rows_of(taken: Snapshot, account_ids: set[str], data_only: bool = False) -> Snapshot:
    """The part of a snapshot that belongs to some accounts (account_id is column 0);
    `data_only` leaves the accounts table's own row out of the comparison (kept empty)."""
    return {name: Counter({row: n for row, n in rows.items()
                           if row[0] in account_ids and not (data_only and name == "accounts")})
            for name, rows in taken.items()}


@dataclass
class Comparison:
    """How a warehouse differs from the reference, table by table, counted in rows."""

    lost: dict[str, int] = field(default_factory=dict)
    duplicated: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    unexpected: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not any((self.lost, self.duplicated, self.changed, self.unexpected))

    @property
    def nothing_changed_or_duplicated(self) -> bool:
        """Every stored row is a reference row, stored once: at most rows are missing."""
        return not any((self.duplicated, self.changed, self.unexpected))

    def __str__(self) -> str:
        return (f"lost {self.lost}, duplicated {self.duplicated}, changed {self.changed}, "
                f"unexpected {self.unexpected}; e.g. " + "; ".join(self.examples[:6]))


def compare(expected: Snapshot, actual: Snapshot) -> Comparison:
    """Classify every difference: a reference row missing (lost) or stored with other values
    (changed), a row stored more often than in the reference (duplicated), or one the
    reference does not have at all (unexpected)."""
    result = Comparison()
    for name, source in SNAPSHOT_TABLES.items():
        columns = compared_columns(source)
        at = [columns.index(column) for column in key_columns(source)]
        missing, surplus = expected[name] - actual[name], actual[name] - expected[name]
        expected_keys = Counter(_key(row, at) for row in expected[name].elements())
        surplus_keys = Counter(_key(row, at) for row in surplus.elements())
        counts: Counter[str] = Counter()
        for row in missing.elements():
            kind = "changed" if surplus_keys[_key(row, at)] else "lost"
            counts[kind] += 1
            result.examples.append(f"{name} {kind} {row}")
        for row in surplus.elements():
            if actual[name][row] > expected[name][row] and expected[name][row]:
                kind = "duplicated"
            elif expected_keys[_key(row, at)]:
                continue  # counted as changed above
            else:
                kind = "unexpected"
            counts[kind] += 1
            result.examples.append(f"{name} {kind} {row}")
        for kind, count in counts.items():
            getattr(result, kind)[name] = count
    return result


def _key(row: Row, at: list[int]) -> Row:
    return tuple(row[i] for i in at)


# --- the reference -------------------------------------------------------------------------

@dataclass
class Reference:
    """What an undisturbed run of the work stores, and what it asked the simulator."""

    snapshot: Snapshot
    requests: dict[str, list[dict[str, Any]]]


@contextmanager
def environment(**variables: str) -> Iterator[None]:
    """Set environment variables for the block only."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        yield


def new_dagster_home(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return folder


def build_reference(work: Work, database_url: str, folder: Path) -> Reference:
    """Run the work undisturbed, against a simulator of its own and an empty warehouse on the
    same kind of database, in a Dagster home of its own, and keep what it stored. The
    accounts are registered as the `pipeline_env` fixture registers them: all HOSTS."""
    with Simulator(SimulatorConfig(api_key=API_KEY, today=work.today)) as simulator, \
            environment(AIRBNB_SYNC_DATABASE_URL=database_url, AIRBNB_BASE_URL=simulator.url,
                        DAGSTER_HOME=str(new_dagster_home(folder / "dagster_home"))):
        for account_id in HOSTS:
            add_account(folder, account_id)
        result = run_work(work)
        assert result.success, failure_text(result)
        taken = snapshot()
        for account_id in work.accounts:
            assert taken["listings"] and any(row[0] == account_id for row in taken["listings"])
        return Reference(taken, {a: simulator.requests(a) for a in work.accounts})
