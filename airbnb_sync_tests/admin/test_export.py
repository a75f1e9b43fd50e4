"""`airbnb-sync export`, through the real command line, against every warehouse.

Rows are stored through the sync's own write path (`warehouse.upsert`); what an export holds
is read back with pyarrow's CSV, JSON and Parquet readers and compared with the
records that were stored, filtered by plain Python: the exporter's code is never the oracle.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from warehouse.warehouse_rows import (
    ACCOUNT,
    LISTING,
    OTHER_ACCOUNT,
    SCRAPED_AT,
    WEEK,
    add_accounts,
    conversion_records,
    frame_of,
    listing_record,
    visibility_record,
)

from airbnb_sync.cli.main import main
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head
from airbnb_sync.warehouse.tables import METRIC_TABLES, key_columns
from airbnb_sync.warehouse.upsert import write_frame, write_frames_by_account

FORMATS = ("csv", "jsonl", "parquet")
TABLES = ("conversion_metrics", "visibility_metrics", "listings")
# The day each table is filtered on (the spec, restated here on purpose).
DAY_COLUMN = {"conversion_metrics": "metric_date", "visibility_metrics": "week_start",
              "listings": "week_start"}
SECOND_LISTING = "2234567890123456789"
LATER = SCRAPED_AT + timedelta(days=1, hours=2, minutes=5)  # the next day's snapshot
NEXT_WEEK = WEEK + timedelta(days=7)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ISO_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
REPO = Path(__file__).resolve().parents[2]
# The installed console script, next to this interpreter (venv activated or not).
CLI = str(Path(sys.executable).parent / "airbnb-sync")


# --- what is stored ---------------------------------------------------------------------


def stored_records() -> dict[str, list[dict[str, Any]]]:
    """Two snapshots of a week (the second with NULL figures), a later week, a listing whose
    figures are all NULL (whole chunks of NULLs with --chunk-size 3), and a second account."""
    no_figures = dict.fromkeys(("conversion_rate_your", "conversion_rate_similar",
                                "p3_impressions_your", "p3_impressions_similar"))
    conversion = [
        *conversion_records(),
        *conversion_records(scraped_at=LATER, conversion_rate_your=None, p3_impressions_your=7),
        *conversion_records(listing_id=SECOND_LISTING, **no_figures),
        *conversion_records(week=NEXT_WEEK, scraped_at=LATER),
        *conversion_records(account_id=OTHER_ACCOUNT, conversion_rate_similar=0.123456789012345),
    ]
    visibility = [
        visibility_record(),
        visibility_record(scraped_at=LATER, p3_impressions=None, conversion_rate=None),
        visibility_record(week=NEXT_WEEK),
        visibility_record(listing_id=SECOND_LISTING, **dict.fromkeys((
            "conversion_rate", "p2_impressions_first_page_rate", "search_conversion_rate",
            "listing_conversion_rate", "p3_impressions", "p2_impressions",
            "conversion_rate_change", "p3_impressions_change"))),
        visibility_record(account_id=OTHER_ACCOUNT, scraped_at=LATER),
    ]
    listings = [
        listing_record(),
        listing_record(week=NEXT_WEEK, listing_name="Cosy loft (renamed)"),
        listing_record(listing_id=SECOND_LISTING, listing_name='Café ☕, "sea view"\nupstairs',
                       internal_name="", thumbnail_url=None),
        listing_record(account_id=OTHER_ACCOUNT),
    ]
    return {"conversion_metrics": conversion, "visibility_metrics": visibility,
            "listings": listings}


def expected(table_name: str, records: list[dict[str, Any]], account: str | None = None,
             first: date | None = None, last: date | None = None,
             latest: bool = False) -> list[dict[str, Any]]:
    """The stored rows an export must hold, in key order."""
    table = METRIC_TABLES[table_name]
    rows = [{column.name: record[column.name] for column in table.columns}
            for record in records]
    day = DAY_COLUMN[table_name]
    rows = [row for row in rows
            if (account is None or row["account_id"] == account)
            and (first is None or row[day] >= first) and (last is None or row[day] <= last)]
    if latest:
        newest: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in rows:
            key = tuple(row[name] for name in key_columns(table) if name != "scraped_on")
            if key not in newest or row["scraped_on"] > newest[key]["scraped_on"]:
                newest[key] = row
        rows = list(newest.values())
    return sorted(rows, key=lambda row: tuple(row[name] for name in key_columns(table)))


# --- reading an export back -------------------------------------------------------------


def kind(column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.DateTime):
        return "timestamp"
    if isinstance(column.type, sa.Date):
        return "day"
    if isinstance(column.type, sa.Integer):
        return "count"
    if isinstance(column.type, sa.Float):
        return "rate"
    return "text"


ARROW_TYPES = {"timestamp": pa.timestamp("us", tz="UTC"), "day": pa.date32(),
               "count": pa.int64(), "rate": pa.float64(), "text": pa.string()}


def from_text(column_kind: str, value: Any) -> Any:
    """A value of a CSV or JSON export as Python, checking the textual format on the way."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if column_kind == "day":
        assert ISO_DAY.fullmatch(value), value
        return date.fromisoformat(value)
    if column_kind == "timestamp":
        assert ISO_UTC.fullmatch(value), value
        return datetime.fromisoformat(value)
    if column_kind == "count":
        return int(value)
    if column_kind == "rate":
        return float(value)
    return value


def read_export(path: Path, format_name: str, table_name: str) -> list[dict[str, Any]]:
    table = METRIC_TABLES[table_name]
    names = [column.name for column in table.columns]
    kinds = {column.name: kind(column) for column in table.columns}
    if format_name == "parquet":
        data = pq.read_table(path)
        assert data.schema.names == names
        assert [field.type for field in data.schema] == [ARROW_TYPES[kinds[n]] for n in names]
        return data.to_pylist()
    raw = path.read_text(encoding="utf-8")
    assert not re.search(r"\bnan\b|\bNaN\b|\bNone\b|<NA>", raw), "NULL must stay empty/null"
    # Days and timestamps are read as text, to check how they are written.
    types = {name: {"count": pa.int64(), "rate": pa.float64()}.get(kinds[name], pa.string())
             for name in names}
    if format_name == "csv":
        # An empty field is NULL, a quoted empty string ("") is an empty string.
        data = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False))
        assert data.schema.names == names
        records = data.to_pylist()
    else:
        lines = raw.splitlines()
        if not lines:
            return []
        assert list(json.loads(lines[0])) == names, "keys in column order"
        records = pa_json.read_json(path, parse_options=pa_json.ParseOptions(
            explicit_schema=pa.schema(types), unexpected_field_behavior="error")).to_pylist()
    return [{name: from_text(kinds[name], record[name]) for name in names}
            for record in records]


# --- fixtures and the command line --------------------------------------------------------


def counted(rows: list[Any]) -> str:
    return "1 row" if len(rows) == 1 else f"{len(rows)} rows"


@dataclass
class Result:
    code: int
    err: str


def export(capsys: pytest.CaptureFixture[str], *arguments: str) -> Result:
    code = main(["export", *arguments])
    captured = capsys.readouterr()
    assert captured.out == "", "a file export prints nothing on stdout"
    return Result(code, captured.err)


@pytest.fixture
def warehouse_url(database_url: str, dagster_home: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated warehouse with the test accounts, named by AIRBNB_SYNC_DATABASE_URL."""
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    engine = create_warehouse_engine(database_url)
    upgrade_to_head(engine)
    add_accounts(engine, [ACCOUNT, OTHER_ACCOUNT])
    yield database_url
    dispose_warehouse_engine(database_url)


@pytest.fixture
def stored(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict]]:
    """`stored_records()` written by the sync's upsert. PostgreSQL sessions then run in New
    York time (PGTZ), so timestamps come back with a -04:00 offset the export must undo."""
    engine = create_warehouse_engine(warehouse_url)
    records = stored_records()
    for table_name, rows in records.items():
        # One write per snapshot and listing. (Per listing because `quality.to_frame` builds
        # a count column holding a NULL through float64, which rounds 2**62 + 1; these rows
        # check that the export keeps such counts exact.)
        groups = sorted({(row["scraped_at"].date(), row["listing_id"]) for row in rows})
        for group in groups:
            batch = [row for row in rows if (row["scraped_at"].date(), row["listing_id"]) == group]
            write_frames_by_account(engine, table_name, frame_of(table_name, batch))
    dispose_warehouse_engine(warehouse_url)
    monkeypatch.setenv("PGTZ", "America/New_York")
    return records


def sqlite_only() -> pytest.MarkDecorator:
    """For behaviour that does not depend on the database (argument checks, output files)."""
    return pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


# --- round trips and filters --------------------------------------------------------------


@pytest.mark.parametrize("format_name", FORMATS)
def test_every_table_round_trips_in_every_format(
        stored: dict[str, list[dict]], format_name: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for table_name in TABLES:
        target = out / f"{table_name}.{format_name}"
        # Three rows per chunk: many chunks, some holding nothing but NULL figures.
        result = export(capsys, "--table", table_name, "--format", format_name,
                        "--output", str(target), "--chunk-size", "3")

        rows = expected(table_name, stored[table_name])
        assert result.code == 0, result.err
        assert read_export(target, format_name, table_name) == rows
        assert result.err.strip() == (f"exported {counted(rows)} of {table_name} to {target} "
                                      f"({format_name})")
    assert sorted(path.name for path in out.iterdir()) == sorted(
        f"{table_name}.{format_name}" for table_name in TABLES), "no temporary file is left"


FILTERS: list[tuple[str, list[str], dict[str, Any]]] = [
    ("conversion_metrics", ["--account", OTHER_ACCOUNT], {"account": OTHER_ACCOUNT}),
    ("conversion_metrics", ["--from", "2025-06-02", "--to", "2025-06-04"],
     {"first": date(2025, 6, 2), "last": date(2025, 6, 4)}),
    ("conversion_metrics", ["--from", "2025-06-08"], {"first": date(2025, 6, 8)}),
    ("conversion_metrics", ["--to", "2025-06-01"], {"last": date(2025, 6, 1)}),
    ("conversion_metrics", ["--latest"], {"latest": True}),
    ("conversion_metrics", ["--latest", "--account", ACCOUNT, "--from", "2025-06-01",
                            "--to", "2025-06-07"],
     {"latest": True, "account": ACCOUNT, "first": WEEK, "last": date(2025, 6, 7)}),
    ("visibility_metrics", ["--latest"], {"latest": True}),
    ("visibility_metrics", ["--from", "2025-06-08", "--to", "2025-06-08"],
     {"first": NEXT_WEEK, "last": NEXT_WEEK}),
    ("visibility_metrics", ["--latest", "--account", OTHER_ACCOUNT],
     {"latest": True, "account": OTHER_ACCOUNT}),
    ("listings", ["--account", ACCOUNT, "--to", "2025-06-01"],
     {"account": ACCOUNT, "last": WEEK}),
    ("conversion_metrics", ["--from", "2030-01-01"], {"first": date(2030, 1, 1)}),
]


def test_filters_export_exactly_the_rows_they_name(
        stored: dict[str, list[dict]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    for number, (table_name, arguments, criteria) in enumerate(FILTERS):
        format_name = FORMATS[number % len(FORMATS)]
        target = tmp_path / f"{number}.{format_name}"
        result = export(capsys, "--table", table_name, "--format", format_name,
                        "--output", str(target), "--chunk-size", "4", *arguments)

        rows = expected(table_name, stored[table_name], **criteria)
        assert result.code == 0, result.err
        assert read_export(target, format_name, table_name) == rows, arguments
        # Each filter leaves rows out: it was applied.
        assert len(rows) < len(stored[table_name])
        assert result.err.startswith(f"exported {counted(rows)} of {table_name}")


def test_latest_keeps_the_newest_snapshot_of_each_key(
        stored: dict[str, list[dict]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Spelled out once without the oracle: day 3 of the first week was fetched twice."""
    target = tmp_path / "latest.parquet"
    assert export(capsys, "--table", "conversion_metrics", "--format", "parquet", "--output",
                  str(target), "--latest", "--account", ACCOUNT, "--from", "2025-06-04",
                  "--to", "2025-06-04").code == 0
    rows = pq.read_table(target).to_pylist()
    assert [(row["listing_id"], row["scraped_on"], row["conversion_rate_your"],
             row["p3_impressions_your"]) for row in rows] == [
        (LISTING, LATER.date(), None, 7),
        (SECOND_LISTING, SCRAPED_AT.date(), None, None),
    ]
    assert rows[0]["scraped_at"] == LATER


def test_an_empty_export_still_has_its_columns(
        stored: dict[str, list[dict]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    for format_name in FORMATS:
        target = tmp_path / f"empty.{format_name}"
        assert export(capsys, "--table", "visibility_metrics", "--format", format_name,
                      "--output", str(target), "--to", "2000-01-01").code == 0
        assert read_export(target, format_name, "visibility_metrics") == []
    assert (tmp_path / "empty.csv").read_text().startswith('"account_id","listing_id"')
    assert (tmp_path / "empty.jsonl").read_bytes() == b""


# --- stdout ---------------------------------------------------------------------------------


@sqlite_only()
def test_stdout_gets_the_same_bytes_as_a_file(
        stored: dict[str, list[dict]], tmp_path: Path,
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    for format_name in FORMATS:
        target = tmp_path / f"file.{format_name}"
        common = ["export", "--table", "conversion_metrics", "--format", format_name,
                  "--chunk-size", "5"]
        assert main([*common, "--output", str(target)]) == 0
        capsysbinary.readouterr()
        assert main([*common, "--output", "-"]) == 0
        captured = capsysbinary.readouterr()

        assert captured.out == target.read_bytes()
        rows = len(stored["conversion_metrics"])
        assert captured.err.decode().strip() == (
            f"exported {rows} rows of conversion_metrics to stdout ({format_name})")


def run_cli(arguments: list[str], **options: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([CLI, *arguments], cwd=REPO, env=os.environ.copy(), timeout=120,
                          check=False, **options)


@sqlite_only()
@pytest.mark.slow
def test_parquet_is_not_sent_to_a_terminal_but_text_is(stored: dict[str, list[dict]]) -> None:
    controller, terminal = pty.openpty()
    try:
        base = ["export", "--table", "listings", "--output", "-"]
        refused = run_cli([*base, "--format", "parquet"], stdout=terminal, stderr=subprocess.PIPE)
        shown = run_cli([*base, "--format", "csv"], stdout=terminal, stderr=subprocess.PIPE)
        printed = os.read(controller, 65536).decode()
    finally:
        os.close(controller)
        os.close(terminal)

    assert refused.returncode == 2
    assert refused.stderr.decode().strip() == (
        "error: parquet is binary and stdout is a terminal: redirect stdout to a file or a "
        "pipe, or give --output FILE")
    assert shown.returncode == 0, shown.stderr
    assert printed.startswith('"account_id","listing_id","week_start"')
    assert "Cosy loft (renamed)" in printed


# --- refusals -------------------------------------------------------------------------------


BAD_INPUT: list[tuple[list[str], str]] = [
    (["--table", "bookings"], "argument --table: invalid choice: 'bookings'"),
    (["--format", "xlsx"], "argument --format: invalid choice: 'xlsx'"),
    (["--from", "2025-13-01"], "'2025-13-01' is not a date: write it as YYYY-MM-DD"),
    (["--to", "06/01/2025"], "'06/01/2025' is not a date: write it as YYYY-MM-DD"),
    (["--from", "20250601"], "'20250601' is not a date: write it as YYYY-MM-DD"),
    (["--from", "2025-06-08", "--to", "2025-06-01"],
     "--from 2025-06-08 is after --to 2025-06-01: the range is inclusive, so give --from <= --to"),
    (["--account", "12ab"], "account id '12ab' is invalid"),
    (["--account", "123"], "account 123 is not in the warehouse: see `airbnb-sync accounts list`"),
    (["--table", "listings", "--latest"], "drop --latest for --table listings"),
    (["--chunk-size", "0"], "'0' is not a number of rows: give a whole number >= 1"),
    (["--output", "{out}/missing/x.csv"], "does not exist: create it first"),
    (["--output", "{out}"], "is a directory: give a file name"),
    (["--output", "/dev/null"], "is not a regular file"),
]


@sqlite_only()
@pytest.mark.parametrize(("arguments", "message"), BAD_INPUT,
                         ids=[" ".join(arguments) for arguments, _ in BAD_INPUT])
def test_bad_input_exits_2_and_writes_nothing(
        stored: dict[str, list[dict]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        arguments: list[str], message: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    previous = out / "export.csv"
    previous.write_text("an earlier export\n")
    defaults = {"--table": "conversion_metrics", "--format": "csv", "--output": str(previous)}
    given = [argument.format(out=out) for argument in arguments]
    for option, value in defaults.items():
        if option not in given:
            given += [option, value]

    result = export(capsys, *given)

    assert result.code == 2
    assert message in result.err
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert [path.name for path in out.iterdir()] == ["export.csv"]
    assert previous.read_text() == "an earlier export\n"


def test_missing_options_are_named(dagster_home: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    result = export(capsys, "--table", "listings")
    assert result.code == 2
    assert "the following arguments are required: --format, --output" in result.err


def test_a_database_without_a_warehouse_is_refused_and_left_alone(
        database_url: str, dagster_home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    target = tmp_path / "out.csv"
    try:
        result = export(capsys, "--table", "listings", "--format", "csv",
                        "--output", str(target))
    finally:
        dispose_warehouse_engine(database_url)

    assert result.code == 1
    if database_url.startswith("sqlite"):
        assert "there is no warehouse at" in result.err
        assert not (tmp_path / "warehouse.db").exists(), "no empty warehouse is created"
    else:
        assert "has no tables yet: run `airbnb-sync db upgrade`" in result.err
        assert "airbnb_sync:airbnb_sync@" not in result.err, "no password in messages"
    assert not target.exists()


# --- large tables: bounded memory, interruption ------------------------------------------------


def store_synthetic_conversion(url: str, listings_count: int, days: int) -> int:
    """listings_count x days rows of one account (one snapshot), written by the upsert."""
    engine = create_warehouse_engine(url)
    listing_ids = np.repeat([str(2_000_000_000_000_000_000 + n) for n in range(listings_count)],
                            days)
    metric_dates = pd.Timestamp("2020-01-05") + pd.to_timedelta(
        np.tile(np.arange(days), listings_count), unit="D")
    rows = len(listing_ids)
    generator = np.random.default_rng(7)
    counts = pd.array(generator.integers(0, 10_000, rows), dtype="Int64")
    counts[::5] = pd.NA
    frame = pd.DataFrame({
        "account_id": ACCOUNT, "listing_id": listing_ids, "metric_date": metric_dates,
        "scraped_on": pd.Timestamp("2025-06-10"),
        "week_start": metric_dates - pd.to_timedelta((metric_dates.dayofweek + 1) % 7,
                                                     unit="D"),
        "conversion_rate_your": generator.random(rows), "conversion_rate_similar": np.nan,
        "p3_impressions_your": counts, "p3_impressions_similar": counts,
        "scraped_at": pd.Timestamp(SCRAPED_AT),
    })
    assert write_frame(engine, "conversion_metrics", frame).inserted == rows
    dispose_warehouse_engine(url)
    return rows


# Runs the command, then records the process's peak resident memory (VmHWM: the high-water
# mark of this program's own memory, unlike ru_maxrss, which keeps a forking parent's peak).
PEAK_PROBE = """
import sys
from airbnb_sync.cli.main import main
code = main(sys.argv[2:])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
with open(sys.argv[1], "w") as out:
    out.write(peak)
sys.exit(code)
"""


def peak_memory_of_export(arguments: list[str], folder: Path) -> int:
    """Run `airbnb-sync export ARGUMENTS` in a process of its own; its peak memory in bytes."""
    peak = folder / "peak"
    done = subprocess.run([sys.executable, "-c", PEAK_PROBE, str(peak), "export", *arguments],
                          cwd=REPO, env=os.environ.copy(), capture_output=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr.decode()
    return int(peak.read_text()) * 1024  # kB


@pytest.mark.slow
def test_memory_follows_the_chunk_size_not_the_table(
        warehouse_url: str, tmp_path: Path) -> None:
    """A property of the running code, measured from outside: the peak memory of an export
    process, all of it (Python objects, Arrow buffers, libpq's result buffer). Exporting
    250,000 rows in chunks of 1,000 must cost about what exporting one chunk costs, far less
    than holding the rows at once (one chunk of everything). A client-side cursor on
    PostgreSQL, which buffers the whole result, fails this as surely as a fetchall."""
    rows = store_synthetic_conversion(warehouse_url, listings_count=125, days=2000)
    base = ["--table", "conversion_metrics", "--format", "parquet", "--chunk-size", "1000"]

    # The first day of each listing: 125 rows, one chunk; the imports and Arrow's setup.
    one_chunk = peak_memory_of_export(
        [*base, "--output", str(tmp_path / "1.parquet"), "--to", "2020-01-05"], tmp_path)
    streamed = peak_memory_of_export([*base, "--output", str(tmp_path / "s.parquet")],
                                     tmp_path)
    held = peak_memory_of_export(
        [*base, "--output", str(tmp_path / "h.parquet"), "--chunk-size", str(rows)], tmp_path)

    assert pq.ParquetFile(tmp_path / "1.parquet").metadata.num_rows == 125
    assert pq.ParquetFile(tmp_path / "s.parquet").metadata.num_rows == rows
    growth, whole = streamed - one_chunk, held - one_chunk
    print(f"peak memory: one chunk {one_chunk >> 20} MiB; {rows} rows streamed "
          f"{growth / 2**20:+.1f} MiB, held at once {whole / 2**20:+.1f} MiB")
    assert whole > 100 << 20, "the table is large enough for the comparison to mean something"
    assert growth < whole / 10


@sqlite_only()
@pytest.mark.slow
def test_an_interrupted_export_leaves_the_earlier_file_untouched(
        warehouse_url: str, tmp_path: Path) -> None:
    store_synthetic_conversion(warehouse_url, listings_count=10, days=3000)
    target = tmp_path / "out" / "export.jsonl"
    target.parent.mkdir()
    target.write_text("an earlier export\n")
    process = subprocess.Popen(
        [CLI, "export", "--table", "conversion_metrics",
         "--format", "jsonl", "--output", str(target), "--chunk-size", "1"],
        cwd=REPO, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        # A suite started in the background (`cmd &`) ignores SIGINT, and so would the export
        # it starts: Python then installs no KeyboardInterrupt handler and finishes the export.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not any(path.stat().st_size for path in target.parent.glob(".export.jsonl.*.part")):
        assert process.poll() is None and time.monotonic() < deadline, "export never started"
        time.sleep(0.01)

    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode != 0, "interrupted while writing rows"
    assert b"KeyboardInterrupt" in stderr
    assert [path.name for path in target.parent.iterdir()] == ["export.jsonl"]
    assert target.read_text() == "an earlier export\n"
