"""Pandera schemas of the insight tables' frames, derived from `tables.INSIGHT_TABLES`: the last
gate before the warehouse.

Frames use one set of dtypes everywhere, so that a check never depends on how a frame was built:
- ids (`account_id`, `listing_id`) are digit strings (object dtype): Airbnb ids near bigint;
- calendar days (`week_start`, `week_end`, `metric_date`, `scraped_on`) are `datetime64[ns]`
  at midnight, naive, meaning the UTC calendar day (the warehouse's DATE);
- `scraped_at` is `datetime64[ns, UTC]`;
- rates and changes are float64 with NaN for "no data"; counts are nullable `Int64`.
`to_frame` builds such a frame from parsed records (Pandera's coercion to the declared dtypes);
`validate_frame` checks one lazily, without coercing, and reports the offending rows and columns
in a few readable lines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd
import pandera.pandas as pa
from pandera.dtypes import DataType
from pandera.engines import pandas_engine
from pandera.errors import SchemaErrors

from airbnb_sync.warehouse.declare import Field, InsightTable
from airbnb_sync.warehouse.tables import INSIGHT_TABLES

# The name of a registered dataset's table (`airbnb_sync.datasets`): its frames' kind.
FrameKind = str

SIX_DAYS = pd.Timedelta(days=6)
SUNDAY = 6  # pandas dayofweek: Monday=0 .. Sunday=6
MAX_LISTED_FAILURES = 10


def _at_midnight(days: pd.Series) -> pd.Series:
    return days == days.dt.normalize()


def _utc_day(moments: pd.Series) -> pd.Series:
    """The UTC calendar day of timezone-aware moments, as naive midnight timestamps."""
    return moments.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()


def _digits_only(ids: pd.Series) -> pd.Series:
    # Tested once per distinct id: a batch repeats the same few ids on every row.
    good = [i for i in pd.unique(ids) if isinstance(i, str) and i.isascii() and i.isdigit()]
    return ids.isin(good)


def _is_sunday_midnight(days: pd.Series) -> pd.Series:
    return (days.dt.dayofweek == SUNDAY) & _at_midnight(days)


# Per-value rules a `Kind` names, as Pandera checks named like the rule.
COLUMN_RULES: dict[str, Callable[[pd.Series], pd.Series]] = {
    "digits_only": _digits_only,
    "is_sunday_midnight": _is_sunday_midnight,
}


@dataclass(frozen=True)
class RowRule:
    """A frame-wide rule: the columns it compares, and the test of each row."""

    columns: tuple[str, ...]
    test: Callable[[pd.DataFrame], pd.Series]


def _metric_date_within_week(df: pd.DataFrame) -> pd.Series:
    offset = df["metric_date"] - df["week_start"]
    return (offset >= pd.Timedelta(0)) & (offset <= SIX_DAYS) & _at_midnight(df["metric_date"])


# Rules an `InsightTable` names in `row_rules`, by name.
ROW_RULES: dict[str, RowRule] = {
    "scraped_on_is_utc_day_of_scraped_at": RowRule(
        ("scraped_on", "scraped_at"),
        lambda df: df["scraped_on"] == _utc_day(df["scraped_at"]),
    ),
    "metric_date_within_week": RowRule(("metric_date", "week_start"), _metric_date_within_week),
    "week_end_is_week_start_plus_6": RowRule(
        ("week_end", "week_start"),
        lambda df: df["week_end"] == df["week_start"] + SIX_DAYS,
    ),
}


def _column(field: Field) -> pa.Column:
    kind = field.kind
    checks = [pa.Check(COLUMN_RULES[rule], name=rule) for rule in kind.rules]
    if kind.minimum is not None:
        checks.append(pa.Check.ge(kind.minimum))
    if kind.maximum is not None:
        checks.append(pa.Check.le(kind.maximum))
    return pa.Column(_dtype(kind.dtype), checks=checks, nullable=field.nullable)


def _dtype(name: str) -> DataType:
    """Pandera's dtype of a declared dtype name. Datetimes are coerced without pandas' cache of
    parsed values: deciding whether to use it walks the column as Python objects, which cost
    more than the parsing itself, most of all on a column that is datetime64 already."""
    dtype = pandas_engine.Engine.dtype(name)
    if isinstance(dtype, pandas_engine.DateTime):
        return dataclasses.replace(dtype, to_datetime_kwargs={"cache": False})
    return dtype


def frame_schema(declared: InsightTable, coerce: bool) -> pa.DataFrameSchema:
    """The Pandera schema of a table's frames: the declared columns in order and nothing else,
    unique on the key, with the table's row rules. `coerce` casts to the declared dtypes."""
    return pa.DataFrameSchema(
        {field.name: _column(field) for field in declared.fields},
        checks=[pa.Check(ROW_RULES[rule].test, name=rule) for rule in declared.row_rules],
        unique=list(declared.key),
        strict=True,
        coerce=coerce,
        name="".join(part.title() for part in declared.name.split("_")) + "Frame",
    )


class _Schemas(NamedTuple):
    declared: InsightTable
    coerce: pa.DataFrameSchema  # `to_frame` coerces to it
    # The same schema without coercion: the gate refuses a frame of the wrong dtypes instead
    # of casting it silently (frames built elsewhere than `to_frame` must get their dtypes right).
    gate: pa.DataFrameSchema


_built: dict[str, _Schemas] = {}


def _schemas(kind: str) -> _Schemas:
    """The frame schemas of a registered table, built once per declaration."""
    if kind not in INSIGHT_TABLES:
        raise ValueError(f"unknown frame kind {kind!r}; expected one of {sorted(INSIGHT_TABLES)}")
    declared = INSIGHT_TABLES[kind]
    built = _built.get(kind)
    if built is None or built.declared is not declared:
        built = _Schemas(declared, frame_schema(declared, coerce=True),
                         frame_schema(declared, coerce=False))
        _built[kind] = built
    return built


def frame_schemas() -> dict[str, pa.DataFrameSchema]:
    """The schema of each registered table's frames (the one `to_frame` coerces to)."""
    return {kind: _schemas(kind).coerce for kind in INSIGHT_TABLES}


def frame_columns(kind: str) -> tuple[str, ...]:
    """Column order of a table's frames, as declared (README: The warehouse order, key first)."""
    return _schemas(kind).declared.columns


class FrameValidationError(ValueError):
    """A frame breaks its table's contract; `failure_cases` has every failure Pandera found."""

    def __init__(self, kind: str, failure_cases: pd.DataFrame) -> None:
        self.kind = kind
        self.failure_cases = failure_cases
        super().__init__(_summarize(kind, failure_cases))


def _show(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return repr(value)


def _summarize(kind: str, failure_cases: pd.DataFrame) -> str:
    """One line per failing (check, row): a multi-column failure names all its columns."""
    grouped: dict[tuple[str, Any], tuple[list[str], list[Any]]] = {}
    for case in failure_cases.itertuples(index=False):
        row = None if pd.isna(case.index) else case.index
        rule = ROW_RULES.get(str(case.check))
        if rule is not None and row is not None and case.column not in rule.columns:
            continue  # a frame-wide check reports whole rows; name only what it compared
        columns, values = grouped.setdefault((str(case.check), row), ([], []))
        columns.append(case.column if isinstance(case.column, str) else "(frame)")
        values.append(case.failure_case)
    lines = [f"{kind} frame breaks its contract ({len(grouped)} failure(s)):"]
    for (check, row), (columns, values) in list(grouped.items())[:MAX_LISTED_FAILURES]:
        shown = ", ".join(_show(value) for value in values)
        lines.append(
            f"  column={'+'.join(columns)} check={check} "
            f"row={'-' if row is None else row} value={shown}"
        )
    if len(grouped) > MAX_LISTED_FAILURES:
        lines.append(f"  ... and {len(grouped) - MAX_LISTED_FAILURES} more")
    return "\n".join(lines)


def to_frame(kind: FrameKind, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A frame with the table's columns and dtypes (see the module docstring) from records;
    FrameValidationError names the values that cannot take their column's dtype."""
    schemas = _schemas(kind)
    frame = pd.DataFrame.from_records(list(records), columns=list(schemas.declared.columns))
    try:
        return schemas.coerce.coerce_dtype(frame)
    except SchemaErrors as errors:
        raise FrameValidationError(kind, errors.failure_cases) from None


def validate_frame(kind: FrameKind, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame itself if it meets its table's contract, else FrameValidationError."""
    try:
        return _schemas(kind).gate.validate(frame, lazy=True)
    except SchemaErrors as errors:
        raise FrameValidationError(kind, errors.failure_cases) from None
