"""Fixtures of the report tests: a migrated warehouse with known rows on every database, and
the report built from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from report_rows import SPAN, seed

from airbnb_sync.report.build import ReportResult, build_report
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head


@pytest.fixture
def seeded(database_url: str) -> Iterator[sa.Engine]:
    engine = create_warehouse_engine(database_url)
    upgrade_to_head(engine)
    seed(engine)
    yield engine
    dispose_warehouse_engine(database_url)


@pytest.fixture
def report(seeded: sa.Engine, tmp_path: Path) -> ReportResult:
    return build_report(seeded, tmp_path / "report", SPAN)
