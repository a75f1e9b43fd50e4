"""Pandera models of the three insight tables: the last gate before the warehouse.

Frames use one set of dtypes everywhere, so that a check never depends on how a frame was built:
- ids (`account_id`, `listing_id`) are digit strings (object dtype): Airbnb ids near bigint;
- calendar days (`week_start`, `week_end`, `metric_date`, `scraped_on`) are `datetime64[ns]`
  at midnight, naive, meaning the UTC calendar day (the warehouse's DATE);
- `scraped_at` is `datetime64[ns, UTC]`;
- rates and changes are float64 with NaN for "no data"; counts are nullable `Int64`.
`to_frame` builds such a frame from parsed records; `validate_frame` checks one lazily and
reports the offending rows and columns in a few readable lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series

FrameKind = Literal["listings", "conversion_metrics", "visibility_metrics"]

SIX_DAYS = pd.Timedelta(days=6)
SUNDAY = 6  # pandas dayofweek: Monday=0 .. Sunday=6
MAX_LISTED_FAILURES = 10

UtcTimestamp = Annotated[pd.DatetimeTZDtype, "ns", "UTC"]


def _at_midnight(days: pd.Series) -> pd.Series:
    return days == days.dt.normalize()


def _utc_day(moments: pd.Series) -> pd.Series:
    """The UTC calendar day of timezone-aware moments, as naive midnight timestamps."""
    return moments.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()


class _Keyed(pa.DataFrameModel):
    """Columns and checks every table shares.

    Check methods are named as the checks should be reported: Pandera 0.35 honours a `name=`
    argument only for the first model built from an inherited check (it pops the kwarg).
    """

    account_id: Series[str]
    listing_id: Series[str]
    scraped_at: Series[UtcTimestamp]

    class Config:
        strict = True

    @pa.check("account_id", "listing_id")
    def digits_only(cls, ids: Series[str]) -> Series[bool]:
        # Tested once per distinct id: a batch repeats the same few ids on every row.
        good = [i for i in pd.unique(ids) if isinstance(i, str) and i.isascii() and i.isdigit()]
        return ids.isin(good)


class _Weekly(_Keyed):
    week_start: Series[pd.Timestamp]

    @pa.check("week_start")
    def is_sunday_midnight(cls, week_start: Series[pd.Timestamp]) -> Series[bool]:
        return (week_start.dt.dayofweek == SUNDAY) & _at_midnight(week_start)


class ListingsFrame(_Weekly):
    """`listings`: what a host's listings were called in a week."""

    listing_name: Series[str] = pa.Field(nullable=True)
    internal_name: Series[str] = pa.Field(nullable=True)
    thumbnail_url: Series[str] = pa.Field(nullable=True)

    class Config:
        unique = ["account_id", "listing_id", "week_start"]


class _Snapshot(_Weekly):
    """Metric tables keep one snapshot per UTC day of scraping."""

    scraped_on: Series[pd.Timestamp]

    @pa.dataframe_check
    def scraped_on_is_utc_day_of_scraped_at(cls, df: pd.DataFrame) -> Series[bool]:
        return df["scraped_on"] == _utc_day(df["scraped_at"])


class ConversionMetricsFrame(_Snapshot):
    """`conversion_metrics`: daily series of a listing and of similar listings (ChartQuery)."""

    metric_date: Series[pd.Timestamp]
    conversion_rate_your: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    conversion_rate_similar: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    p3_impressions_your: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    p3_impressions_similar: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)

    class Config:
        unique = ["account_id", "listing_id", "metric_date", "scraped_on"]

    @pa.dataframe_check
    def metric_date_within_week(cls, df: pd.DataFrame) -> Series[bool]:
        offset = df["metric_date"] - df["week_start"]
        return (offset >= pd.Timedelta(0)) & (offset <= SIX_DAYS) & _at_midnight(df["metric_date"])


class VisibilityMetricsFrame(_Snapshot):
    """`visibility_metrics`: a listing's aggregates over one week (ListOfMetricsQuery)."""

    week_end: Series[pd.Timestamp]
    conversion_rate: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    p2_impressions_first_page_rate: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    search_conversion_rate: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    listing_conversion_rate: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    p3_impressions: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    p2_impressions: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    conversion_rate_change: Series[float] = pa.Field(nullable=True)
    p3_impressions_change: Series[float] = pa.Field(nullable=True)

    class Config:
        unique = ["account_id", "listing_id", "week_start", "scraped_on"]

    @pa.dataframe_check
    def week_end_is_week_start_plus_6(cls, df: pd.DataFrame) -> Series[bool]:
        return df["week_end"] == df["week_start"] + SIX_DAYS


FRAME_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "listings": ListingsFrame,
    "conversion_metrics": ConversionMetricsFrame,
    "visibility_metrics": VisibilityMetricsFrame,
}

# Column order of each frame, in the order of DESIGN.md §3 (key first).
COLUMNS: dict[str, tuple[str, ...]] = {
    "listings": (
        "account_id", "listing_id", "week_start",
        "listing_name", "internal_name", "thumbnail_url", "scraped_at",
    ),
    "conversion_metrics": (
        "account_id", "listing_id", "metric_date", "scraped_on", "week_start",
        "conversion_rate_your", "conversion_rate_similar",
        "p3_impressions_your", "p3_impressions_similar", "scraped_at",
    ),
    "visibility_metrics": (
        "account_id", "listing_id", "week_start", "scraped_on", "week_end",
        "conversion_rate", "p2_impressions_first_page_rate", "search_conversion_rate",
        "listing_conversion_rate", "p3_impressions", "p2_impressions",
        "conversion_rate_change", "p3_impressions_change", "scraped_at",
    ),
}
# The columns each frame-wide check compares (Pandera reports every column of a failing row).
FRAME_CHECK_COLUMNS: dict[str, tuple[str, ...]] = {
    "scraped_on_is_utc_day_of_scraped_at": ("scraped_on", "scraped_at"),
    "metric_date_within_week": ("metric_date", "week_start"),
    "week_end_is_week_start_plus_6": ("week_end", "week_start"),
}
_DAY_COLUMNS = frozenset({"week_start", "week_end", "metric_date", "scraped_on"})
_COUNT_COLUMNS = frozenset({"p3_impressions_your", "p3_impressions_similar",
                            "p3_impressions", "p2_impressions"})
_TEXT_COLUMNS = frozenset({"account_id", "listing_id",
                           "listing_name", "internal_name", "thumbnail_url"})


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
        relevant = FRAME_CHECK_COLUMNS.get(str(case.check))
        if relevant is not None and row is not None and case.column not in relevant:
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


def _model(kind: str) -> type[pa.DataFrameModel]:
    if kind not in FRAME_MODELS:
        raise ValueError(f"unknown frame kind {kind!r}; expected one of {sorted(FRAME_MODELS)}")
    return FRAME_MODELS[kind]


def to_frame(kind: FrameKind, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A frame with the table's columns and dtypes (see the module docstring) from records."""
    _model(kind)
    columns = COLUMNS[kind]
    frame = pd.DataFrame.from_records(list(records), columns=list(columns))
    for column in columns:
        if column in _DAY_COLUMNS:
            frame[column] = _to_datetime(frame[column], utc=False).astype("datetime64[ns]")
        elif column == "scraped_at":
            frame[column] = _to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
        elif column in _COUNT_COLUMNS:
            frame[column] = frame[column].astype("Int64")
        elif column in _TEXT_COLUMNS:
            frame[column] = frame[column].astype(object)
        else:
            frame[column] = frame[column].astype("float64")
    return frame


def _to_datetime(values: pd.Series, utc: bool) -> pd.Series:
    """`pd.to_datetime(values, utc=utc)`, converting each distinct value once: a frame repeats
    a few hundred days (and one scraped_at) over thousands of rows, and converting Python
    dates one at a time was most of what building a frame cost."""
    if values.dtype != object:
        return pd.to_datetime(values, utc=utc)
    try:
        codes, uniques = pd.factorize(values)
    except TypeError:  # unhashable values: let pandas say what is wrong with them
        return pd.to_datetime(values, utc=utc)
    converted = pd.to_datetime(pd.Index(uniques, dtype=object), utc=utc)
    return pd.Series(converted.take(codes, allow_fill=True, fill_value=pd.NaT),
                     index=values.index)


def validate_frame(kind: FrameKind, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame itself if it meets its table's contract, else FrameValidationError."""
    try:
        return _model(kind).validate(frame, lazy=True)
    except SchemaErrors as errors:
        raise FrameValidationError(kind, errors.failure_cases) from None
