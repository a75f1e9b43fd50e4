"""The words an insight table is declared with (README: The warehouse), free of pandas and Pandera.

An insight table is declared once, in its dataset's module (`airbnb_sync.datasets`), as an
`InsightTable` of `Field`s, each holding a `Kind` of value. Three artifacts are derived from
that one declaration, so they cannot disagree: the SQLAlchemy table
(`warehouse.tables.register_insight_table`), the Pandera schema of its frames
(`warehouse.frames`) and the JSON Schema of its parsed records (`warehouse.record_schemas`).
Only the hand-written Alembic migrations restate it, and a test compares them with the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

UtcTimestamp = sa.DateTime(timezone=True)
DOUBLE = sa.Float(precision=53)


@dataclass(frozen=True)
class Kind:
    """A kind of value: its SQL type, its frame dtype, its JSON form and the rules it obeys.

    `minimum`/`maximum` are inclusive bounds checked by both Pandera and JSON Schema; `rules`
    name per-value Pandera checks (`warehouse.frames.COLUMN_RULES`) that JSON cannot say, or
    says through `json` instead (a pattern).
    """

    sql: sa.types.TypeEngine[Any]
    dtype: str
    json: Mapping[str, Any]
    minimum: int | None = None
    maximum: int | None = None
    rules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "json", MappingProxyType(dict(self.json)))


_ISO_DAY = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"}

# Airbnb ids are 19-digit numbers next to the bigint limit: text made of digits.
ID = Kind(sa.Text(), "str", {"type": "string", "pattern": "^[0-9]+$"}, rules=("digits_only",))
TEXT = Kind(sa.Text(), "str", {"type": "string"})
# A UTC calendar day: DATE in SQL, naive midnight in a frame, ISO text in JSON.
DAY = Kind(sa.Date(), "datetime64[ns]", _ISO_DAY)
SUNDAY = Kind(sa.Date(), "datetime64[ns]", _ISO_DAY, rules=("is_sunday_midnight",))
# A moment in UTC: `datetime.isoformat()` of a timezone-aware UTC datetime in JSON.
MOMENT = Kind(UtcTimestamp, "datetime64[ns, UTC]", {
    "type": "string",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(\\+00:00|Z)$",
})
# Percentages are fractions (0.0563 = 5.63%); counts are whole and never negative.
RATE = Kind(DOUBLE, "float64", {"type": "number"}, minimum=0, maximum=1)
COUNT = Kind(sa.BigInteger(), "Int64", {"type": "integer"}, minimum=0)
CHANGE = Kind(DOUBLE, "float64", {"type": "number"})


@dataclass(frozen=True)
class Field:
    """One column. Key fields form the unique key (the primary key), in declaration order."""

    name: str
    kind: Kind
    key: bool = False
    nullable: bool = False
    references: str | None = None  # "table.column" of a foreign key, deleted with its row

    def __post_init__(self) -> None:
        if self.key and self.nullable:
            raise ValueError(f"key field {self.name!r} cannot be nullable")


@dataclass(frozen=True)
class Hypertable:
    """How TimescaleDB keeps a table: its time column, the span of a chunk, and how
    compressed rows are grouped (`segment_by`) and ordered (`order_by`), as they are read."""

    time_column: str
    chunk_interval: str
    order_by: str
    segment_by: str = "account_id, listing_id"


@dataclass(frozen=True)
class InsightTable:
    """An insight table: its columns (key first), and what holds across a row.

    `row_rules` name frame-wide Pandera checks (`warehouse.frames.ROW_RULES`); `indexes` are
    (name, columns); `hypertable` says how TimescaleDB keeps it (None: a plain table there too).
    """

    name: str
    description: str
    fields: tuple[Field, ...]
    row_rules: tuple[str, ...] = ()
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    hypertable: Hypertable | None = None
    by_name: Mapping[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {declared.name: declared for declared in self.fields}
        if len(by_name) != len(self.fields):
            raise ValueError(f"{self.name}: a field is declared twice")
        named = [self.time_column] if self.time_column else []
        for _, columns in self.indexes:
            named.extend(columns)
        unknown = sorted(set(named) - set(by_name))
        if unknown:
            raise ValueError(f"{self.name}: no such fields {unknown}")
        object.__setattr__(self, "by_name", MappingProxyType(by_name))

    @property
    def time_column(self) -> str | None:
        """The hypertable's time column on TimescaleDB."""
        return self.hypertable.time_column if self.hypertable else None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(declared.name for declared in self.fields)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(declared.name for declared in self.fields if declared.key)
