"""Chunks of rows -> Arrow record batches with one fixed schema -> CSV, JSON Lines or Parquet.

The Arrow schema comes from the table's SQLAlchemy types, never from the values, so every
chunk has the same column types even when a chunk holds only NULLs in a column (inferred
types would flip an all-NULL count column to null or float and break the Parquet file).
Text formats write days as `YYYY-MM-DD`, timestamps as ISO 8601 UTC with a `Z`, NULL as an
empty CSV field or JSON `null`, and floats with every digit they need to read back exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import sqlalchemy as sa

FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")
BINARY_FORMATS: frozenset[str] = frozenset({"parquet"})
# Arrow's %S prints the seconds with the timestamp's fraction (microseconds): 08:30:15.123456.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def arrow_type(column: sa.Column[Any]) -> pa.DataType:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, sa.Date):
        return pa.date32()
    if isinstance(kind, sa.Integer):
        return pa.int64()
    if isinstance(kind, sa.Float):
        return pa.float64()
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.String | sa.Uuid):
        return pa.string()
    raise TypeError(f"column {column.name} has type {kind!r}, which export cannot write")


def arrow_schema(table: sa.Table) -> pa.Schema:
    """The export's schema: the table's columns in order, NOT NULL kept as non-nullable."""
    return pa.schema([
        pa.field(column.name, arrow_type(column), nullable=bool(column.nullable))
        for column in table.columns
    ])


def _naive_utc(moments: Sequence[datetime | None]) -> list[datetime | None]:
    """Aware timestamps (PostgreSQL's, in the session's time zone) as naive UTC; naive ones
    (SQLite's) already are UTC.

    Done here rather than by Arrow: importing pandera sets PYARROW_IGNORE_TIMEZONE=1 for the
    whole process, and Arrow then takes an aware datetime's wall-clock time as UTC.
    """
    return [moment if moment is None or moment.tzinfo is None
            else moment.astimezone(UTC).replace(tzinfo=None) for moment in moments]


def to_batch(rows: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Database rows -> one record batch of `schema`."""
    columns: list[Sequence[Any]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    )
    arrays = [
        pa.array(_naive_utc(values) if pa.types.is_timestamp(field.type) else values,
                 type=field.type)
        for values, field in zip(columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _text_type(data_type: pa.DataType, for_json: bool) -> pa.DataType:
    if pa.types.is_timestamp(data_type) or (for_json and pa.types.is_date(data_type)):
        return pa.string()
    return data_type


def text_schema(schema: pa.Schema, for_json: bool) -> pa.Schema:
    return pa.schema([field.with_type(_text_type(field.type, for_json)) for field in schema])


def _as_text(batch: pa.RecordBatch, for_json: bool) -> pa.RecordBatch:
    """Timestamps as ISO strings; for JSON also days as strings and NaN as null (JSON has
    no NaN; the warehouse stores none, as the write path turns NaN into NULL)."""
    arrays: list[pa.Array] = []
    for array in batch.columns:
        if pa.types.is_timestamp(array.type):
            array = pc.strftime(array, format=TIMESTAMP_FORMAT)
        elif for_json and pa.types.is_date(array.type):
            array = pc.cast(array, pa.string())
        elif for_json and pa.types.is_floating(array.type):
            array = pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=text_schema(batch.schema, for_json))


class ChunkWriter(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class CsvWriter:
    """RFC 4180 CSV with a header (written even for no rows); strings always quoted, so an
    empty string ("") stays apart from NULL (an empty field)."""

    def __init__(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._writer = pa_csv.CSVWriter(sink, text_schema(schema, for_json=False))

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(_as_text(batch, for_json=False))

    def close(self) -> None:
        self._writer.close()


class JsonLinesWriter:
    """One JSON object per row, keys in column order, UTF-8."""

    def __init__(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._sink = sink

    def write(self, batch: pa.RecordBatch) -> None:
        lines = [json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n"
                 for row in _as_text(batch, for_json=True).to_pylist()]
        self._sink.write("".join(lines).encode("utf-8"))

    def close(self) -> None:
        pass


class ParquetWriter:
    """One row group per chunk, all with the same schema."""

    def __init__(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(sink, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        self._writer.close()


def open_writer(format_name: str, sink: BinaryIO, schema: pa.Schema) -> ChunkWriter:
    writers: dict[str, type[CsvWriter | JsonLinesWriter | ParquetWriter]] = {
        "csv": CsvWriter, "jsonl": JsonLinesWriter, "parquet": ParquetWriter,
    }
    return writers[format_name](sink, schema)
