"""What an export reads: one warehouse table, or its newest-snapshot view, filtered, in key
order, fetched from the database a chunk at a time.

Chunks come from a server-side cursor on PostgreSQL (`stream_results`), and from SQLite's
row-by-row stepping, so memory follows the chunk size and never the size of the table.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from airbnb_sync.datasets import date_columns, sql_table
from airbnb_sync.warehouse.tables import LATEST_VIEWS, key_columns


@dataclass(frozen=True)
class Selection:
    """The rows asked for; every filter is optional, dates are inclusive."""

    table: str
    account_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    latest: bool = False

    def describe(self) -> str:
        """The selection in words, for the summary line."""
        parts = ["newest snapshots"] if self.latest else []
        if self.account_id is not None:
            parts.append(f"account {self.account_id}")
        day = date_columns()[self.table]  # the column --from/--to filter on
        if self.date_from is not None and self.date_to is not None:
            parts.append(f"{day} {self.date_from} to {self.date_to}")
        elif self.date_from is not None:
            parts.append(f"{day} from {self.date_from}")
        elif self.date_to is not None:
            parts.append(f"{day} up to {self.date_to}")
        return f" ({', '.join(parts)})" if parts else ""


def base_table(selection: Selection) -> sa.Table:
    return sql_table(selection.table)


def latest_view_name(table_name: str) -> str | None:
    """The view keeping the newest scraped_on per key (README: The warehouse); None for listings."""
    names = [view for view, (source, _key) in LATEST_VIEWS.items() if source == table_name]
    return names[0] if names else None


@functools.cache
def _latest_view(table_name: str) -> sa.Table:
    """The view as a Table with the base table's columns, so PostgreSQL's schema translation
    maps it into schema `airbnb` like the tables, and values come back with the same types."""
    name = latest_view_name(table_name)
    if name is None:
        raise ValueError(f"{table_name} has no newest-snapshot view")
    columns = sql_table(table_name).columns
    return sa.Table(name, sa.MetaData(), *(
        sa.Column(column.name, column.type, nullable=column.nullable) for column in columns
    ))


def build_query(selection: Selection) -> sa.Select[Any]:
    """SELECT every column of the table (from the `*_latest` view with --latest) in key order.

    The views are the warehouse's one definition of "newest snapshot", the same that users'
    SQL reads; filtering the view by account or day equals filtering before picking the
    newest, as both columns belong to the key the view groups by.
    """
    table = base_table(selection)
    source = _latest_view(table.name) if selection.latest else table
    query = sa.select(*(source.c[column.name] for column in table.columns))
    if selection.account_id is not None:
        query = query.where(source.c.account_id == selection.account_id)
    day = source.c[date_columns()[table.name]]
    if selection.date_from is not None:
        query = query.where(day >= selection.date_from)
    if selection.date_to is not None:
        query = query.where(day <= selection.date_to)
    return query.order_by(*(source.c[name] for name in key_columns(table)))


def fetch_chunks(engine: sa.Engine, query: sa.Select[Any],
                 chunk_size: int) -> Iterator[Sequence[sa.Row[Any]]]:
    """The query's rows, `chunk_size` at a time, read from one snapshot of the database.

    Close the iterator (or exhaust it) to release the connection.
    """
    with engine.connect() as connection:
        result = connection.execution_options(
            stream_results=True, yield_per=chunk_size
        ).execute(query)
        yield from result.partitions()
