"""Write validated frames into the warehouse idempotently, and read them back.

A write stages the batch in a temporary table (PostgreSQL: COPY; SQLite: executemany), then
upserts it in one statement whose update fires only when a figure differs. So re-running a
partition on the same day leaves every row as it was, scraped_at included: scraped_at is
when these figures were first seen that day, and changes only with a figure. The batch is
deduplicated first (the last row of a key wins), as ON CONFLICT may touch a row only once.

PostgreSQL: a batch whose keys are all new (the first fetch of a day, as `scraped_on` is part
of the key) is copied straight into the table inside a savepoint, because staging it and
checking every row for a conflict costs more than the insert itself. The first conflicting
key aborts that COPY (rolled back to the savepoint) and the batch takes the staged upsert,
so the outcome is the same either way. Rows travel as CSV written by pyarrow, in C++: the
formatting in Python took longer than the server took to store them.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg2.errors
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa

from airbnb_sync.warehouse.engine import SQLITE_IMMEDIATE
from airbnb_sync.warehouse.frames import to_frame
from airbnb_sync.warehouse.tables import LATEST_VIEWS, METRIC_TABLES, PG_SCHEMA, key_columns

# SQLAlchemy's storage format of DateTime on SQLite, so its reads parse what we write.
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
UTC_OFFSET = "+00:00"
DAY_FORMAT = "%Y-%m-%d"
# COPY's CSV format with its defaults reads an unquoted empty field as NULL and "" as an
# empty string; pyarrow's writer quotes every string and leaves a null empty: a perfect fit.
CSV_WRITE_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
COPY_OPTIONS = "FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')"


@dataclass(frozen=True)
class WriteResult:
    """Rows of a batch (after deduplication) by what the upsert did with them."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(self.inserted + other.inserted, self.updated + other.updated,
                           self.unchanged + other.unchanged)

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged


def metric_table(table_name: str) -> sa.Table:
    try:
        return METRIC_TABLES[table_name]
    except KeyError:
        raise ValueError(
            f"{table_name!r} is not a warehouse table the sync writes; expected one of "
            f"{sorted(METRIC_TABLES)}"
        ) from None


def write_frame(engine: sa.Engine, table_name: str, frame: pd.DataFrame) -> WriteResult:
    """Upsert `frame` into `table_name` in one transaction (write one account per call)."""
    table = metric_table(table_name)
    batch = _normalize(table, frame)
    if batch.empty:
        return WriteResult()
    if engine.dialect.name == "postgresql":
        return _write_postgres(engine, table, batch)
    return _write_sqlite(engine, table, batch)


def write_frames_by_account(engine: sa.Engine, table_name: str,
                            frame: pd.DataFrame) -> dict[str, WriteResult]:
    """One transaction per account, so one account's failure leaves the others written."""
    return {
        str(account_id): write_frame(engine, table_name, rows)
        for account_id, rows in frame.groupby("account_id", sort=True, dropna=False)
    }


def read_latest(engine: sa.Engine, table_name: str,
                weeks_by_account: Mapping[str, Sequence[date]]) -> pd.DataFrame:
    """The newest snapshot of the given accounts' weeks (listings: their rows), as a frame
    typed like the Pandera schemas (`frames.to_frame`)."""
    table = metric_table(table_name)
    view = latest_view(table_name)
    source = table if view is None else view
    key = [source.c[name] for name in key_columns(table)]
    records: list[dict[str, Any]] = []
    with engine.connect() as connection:
        for account_id, weeks in sorted(weeks_by_account.items()):
            if not weeks:
                continue
            query = (
                sa.select(*source.c)
                .where(source.c.account_id == account_id, source.c.week_start.in_(list(weeks)))
                .order_by(*key)
            )
            records.extend(dict(row._mapping) for row in connection.execute(query))
    return to_frame(table_name, records)  # type: ignore[arg-type]


@functools.cache
def latest_view(table_name: str) -> sa.Table | None:
    """The table's "newest snapshot" view as a Table (so PostgreSQL maps it into the
    schema like the tables), None for tables without snapshots."""
    views = [view for view, (source, _key) in LATEST_VIEWS.items() if source == table_name]
    if not views:
        return None
    columns = METRIC_TABLES[table_name].columns
    return sa.Table(views[0], sa.MetaData(),
                    *(sa.Column(column.name, column.type) for column in columns))


def _normalize(table: sa.Table, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's columns in table order, deduplicated by key, each converted to what the
    database stores: days and UTC timestamps as text (formatted per dialect later), counts
    as nullable Int64, rates as float64, texts as str, every missing value as NA/None."""
    columns = [column.name for column in table.columns]
    missing = [name for name in columns if name not in frame.columns]
    extra = [name for name in frame.columns if name not in columns]
    if missing or extra:
        raise ValueError(
            f"frame does not match table {table.name}: missing columns {missing}, "
            f"unexpected columns {extra}"
        )
    frame = frame.reset_index(drop=True)
    converted = {column.name: _convert(column, frame[column.name]) for column in table.columns}
    batch = pd.DataFrame(converted, index=frame.index)
    key = key_columns(table)
    null_keys = batch[key].isna().any(axis=1)
    if null_keys.any():
        raise ValueError(
            f"{int(null_keys.sum())} row(s) of {table.name} have an empty key column "
            f"({', '.join(key)}), e.g. row {int(null_keys.idxmax())}"
        )
    return batch.drop_duplicates(subset=key, keep="last").reset_index(drop=True)


def _convert(column: sa.Column[Any], values: pd.Series) -> pd.Series:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        # Naive timestamps are taken as UTC, as the warehouse stores UTC only.
        moments = _as_datetimes(values, utc=True)
        return _per_distinct(moments, lambda unique: unique.strftime(SQLITE_TIMESTAMP_FORMAT))
    if isinstance(kind, sa.Date):
        days = _as_datetimes(values, utc=False)
        if isinstance(days.dtype, pd.DatetimeTZDtype):
            raise ValueError(f"column {column.name} holds calendar days, not moments in time")
        return _per_distinct(days, lambda unique: unique.strftime(DAY_FORMAT))
    if isinstance(kind, sa.Integer):
        return pd.Series(pd.array(values, dtype="Int64"))
    if isinstance(kind, sa.Float):
        return values.astype("float64")
    texts = values.astype(object)
    if texts.hasnans:
        texts = texts.where(texts.notna(), None)
    if pd.api.types.infer_dtype(texts, skipna=True) in ("string", "empty"):
        return texts  # decided in C; the per-value test below only finds the culprit
    not_text = texts.map(lambda value: value is not None and not isinstance(value, str))
    if not_text.any():
        example = texts[not_text].iloc[0]
        raise TypeError(
            f"column {column.name} must hold strings (ids are text: 19-digit ids do not "
            f"survive floats), got {type(example).__name__} {example!r}"
        )
    return texts


def _as_datetimes(values: pd.Series, utc: bool) -> pd.Series:
    """`pd.to_datetime(values, utc=utc)`, free on columns that are datetimes already (as in
    `frames.to_frame` frames), where pandas would spend its time deciding whether to cache."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=utc)
    if not utc:
        return values
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    return values.dt.tz_localize("UTC")


def _per_distinct(values: pd.Series, convert: Callable[[pd.Index], Any]) -> pd.Series:
    """`convert` applied to each distinct non-null value once: a batch repeats the same few
    days, ids and timestamps on every row, and formatting is the slow part of a write."""
    codes, uniques = pd.factorize(values)
    converted = np.asarray(convert(uniques), dtype=object)
    # Code -1 (a missing value) picks the None appended at the end.
    return pd.Series(np.append(converted, None)[codes], index=values.index, dtype=object)


def _compared(table: sa.Table) -> list[str]:
    """The columns whose change makes a row updated: all but the key and scraped_at."""
    key = set(key_columns(table))
    return [column.name for column in table.columns
            if column.name not in key and column.name != "scraped_at"]


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _upsert_sql(table: sa.Table, target: str, stage: str, distinct_from: str,
                returning: str) -> str:
    columns = [column.name for column in table.columns]
    key = key_columns(table)
    updates = ", ".join(f'"{name}" = excluded."{name}"' for name in columns if name not in key)
    changed = " OR ".join(
        f'target."{name}" {distinct_from} excluded."{name}"' for name in _compared(table)
    )
    # "WHERE true" lets SQLite tell the upsert's ON CONFLICT from a join's ON.
    return (
        f"INSERT INTO {target} AS target ({_quoted(columns)}) "
        f"SELECT {_quoted(columns)} FROM {stage} WHERE true "
        f"ON CONFLICT ({_quoted(key)}) DO UPDATE SET {updates} WHERE {changed} "
        f"RETURNING {returning}"
    )


def _write_postgres(engine: sa.Engine, table: sa.Table, batch: pd.DataFrame) -> WriteResult:
    target = f'"{PG_SCHEMA}"."{table.name}"'
    stage = f"_stage_{table.name}"
    columns = _quoted(list(batch.columns))
    rows = _csv_rows(table, batch)
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            try:
                with connection.begin_nested():
                    cursor.copy_expert(f"COPY {target} ({columns}) {COPY_OPTIONS}",
                                       io.BytesIO(rows))
                return WriteResult(inserted=len(batch))
            except psycopg2.errors.IntegrityError:
                # Some keys exist already (or a constraint fails, which the upsert reports
                # as it always did): stage and upsert.
                pass
            connection.exec_driver_sql(
                f'CREATE TEMP TABLE "{stage}" (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP'
            )
            cursor.copy_expert(f'COPY pg_temp."{stage}" ({columns}) {COPY_OPTIONS}',
                               io.BytesIO(rows))
        finally:
            cursor.close()
        # xmax is 0 on a row version this statement inserted, the updater's id otherwise.
        # Counted in the database: sending a flag per row back costs more than the count.
        sql = _upsert_sql(table, target, f'pg_temp."{stage}"', "IS DISTINCT FROM",
                          "(xmax = 0) AS inserted")
        inserted, written = connection.exec_driver_sql(
            f"WITH upserted AS ({sql}) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FROM upserted"
        ).one()
    return WriteResult(inserted, written - inserted, len(batch) - written)


def _csv_rows(table: sa.Table, batch: pd.DataFrame) -> bytes:
    """The batch as COPY's CSV (UTF-8): see CSV_WRITE_OPTIONS for NULLs and quoting."""
    arrays = []
    for column in table.columns:
        values = batch[column.name]
        if values.dtype == object:
            # Text (ids, names, formatted days and times) repeats a few values on every row:
            # hand pyarrow each distinct value once, as a dictionary.
            suffix = UTC_OFFSET if isinstance(column.type, sa.DateTime) else ""
            codes, uniques = pd.factorize(values)
            arrays.append(pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=codes < 0, type=pa.int32()),
                pa.array([value + suffix for value in uniques], type=pa.string()),
            ))
        else:
            arrays.append(pa.array(values, from_pandas=True))
    buffer = io.BytesIO()
    names = [column.name for column in table.columns]
    pa_csv.write_csv(pa.Table.from_arrays(arrays, names=names), buffer,
                     CSV_WRITE_OPTIONS)
    return buffer.getvalue()


def _write_sqlite(engine: sa.Engine, table: sa.Table, batch: pd.DataFrame) -> WriteResult:
    stage = sa.Table(
        f"_stage_{table.name}", sa.MetaData(),
        *(sa.Column(column.name, column.type) for column in table.columns),
        prefixes=["TEMPORARY"],
    )
    columns = list(batch.columns)
    rows = list(batch.astype(object).where(batch.notna(), None)
                .itertuples(index=False, name=None))
    same_key = " AND ".join(f'existing."{name}" = staged."{name}"' for name in key_columns(table))
    with engine.connect() as connection:
        # Take the write lock first: counting reads, and a read transaction that later
        # writes fails at once when another process committed in between.
        connection.execution_options(**{SQLITE_IMMEDIATE: True})
        with connection.begin():
            connection.exec_driver_sql(f'DROP TABLE IF EXISTS temp."{stage.name}"')
            stage.create(connection)
            connection.exec_driver_sql(
                f'INSERT INTO temp."{stage.name}" ({_quoted(columns)}) '
                f"VALUES ({', '.join('?' for _ in columns)})",
                rows,
            )
            inserted = connection.exec_driver_sql(
                f'SELECT count(*) FROM temp."{stage.name}" AS staged WHERE NOT EXISTS '
                f'(SELECT 1 FROM main."{table.name}" AS existing WHERE {same_key})'
            ).scalar_one()
            sql = _upsert_sql(table, f'main."{table.name}"', f'temp."{stage.name}"', "IS NOT",
                              "1")
            written = len(connection.exec_driver_sql(sql).all())
            connection.exec_driver_sql(f'DROP TABLE temp."{stage.name}"')
    return WriteResult(inserted, written - inserted, len(batch) - written)
