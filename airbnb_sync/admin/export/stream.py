"""Stream a selection of the warehouse into a sink, one chunk of rows at a time, so memory
follows the chunk size and not the size of the table."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import BinaryIO

import sqlalchemy as sa

from airbnb_sync.admin.export.formats import arrow_schema, open_writer, to_batch
from airbnb_sync.admin.export.source import Selection, base_table, build_query, fetch_chunks

# Rows held at once (its memory: README, Performance); also the Parquet row group.
DEFAULT_CHUNK_SIZE = 10_000


@dataclass(frozen=True)
class ExportResult:
    rows: int
    chunks: int


def export(engine: sa.Engine, selection: Selection, format_name: str, sink: BinaryIO,
           rows_per_chunk: int = DEFAULT_CHUNK_SIZE) -> ExportResult:
    """Write the selection to `sink` in `format_name`, holding one chunk of rows at a time."""
    schema = arrow_schema(base_table(selection))
    writer = open_writer(format_name, sink, schema)
    rows = chunks = 0
    with contextlib.closing(fetch_chunks(engine, build_query(selection), rows_per_chunk)) \
            as stream:
        for chunk in stream:
            writer.write(to_batch(chunk, schema))
            rows += len(chunk)
            chunks += 1
    writer.close()
    return ExportResult(rows, chunks)
