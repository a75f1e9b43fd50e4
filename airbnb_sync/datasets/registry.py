"""The registry of datasets: every list of synced tables derives from it (the assets and
their checks, `status`, exports, `FrameKind`, the purge of an account, TimescaleDB's settings).

A dataset's module registers its `Dataset` when imported; `airbnb_sync.datasets` imports the
three of this project in their order (listings first: the others read it).
"""

from __future__ import annotations

import sqlalchemy as sa

from airbnb_sync.datasets.dataset import Dataset
from airbnb_sync.warehouse.tables import (
    METRIC_TABLES,
    register_insight_table,
    unregister_insight_table,
)

DATASETS: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Add a dataset (and its table to the warehouse's metadata); the dataset itself."""
    known = DATASETS.get(dataset.name)
    if known is not None and known is not dataset:
        raise ValueError(f"dataset {dataset.name!r} is already registered")
    register_insight_table(dataset.table)
    DATASETS[dataset.name] = dataset
    return dataset


def unregister(name: str) -> None:
    """Forget a dataset (a test's own); the database keeps whatever its table holds."""
    DATASETS.pop(name, None)
    unregister_insight_table(name)


def dataset_names() -> tuple[str, ...]:
    """The synced tables (and assets), in registration order."""
    return tuple(DATASETS)


def sql_table(name: str) -> sa.Table:
    """A dataset's SQLAlchemy table."""
    return METRIC_TABLES[DATASETS[name].name]


def date_columns() -> dict[str, str]:
    """Table -> the day a row is about (what an export's --from/--to filter on)."""
    return {name: dataset.date_column for name, dataset in DATASETS.items()}


def purge_tables() -> tuple[sa.Table, ...]:
    """The datasets' tables, the ones registered last (which read the earlier) first."""
    return tuple(sql_table(name) for name in reversed(DATASETS))
