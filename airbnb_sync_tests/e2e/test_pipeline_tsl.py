"""The pipeline end to end on TimescaleDB's Timescale-License edition (docker-compose's).

Only what the license changes is run here (the rest of the e2e suite runs on the Apache
build): Dagster range runs create the policies, and re-running weeks whose chunks are
compressed stores exactly the same rows, none twice.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from database_servers import TIMESCALEDB_TSL, fresh_server_database
from pipeline_helpers import HOSTS, dump, run_range, weeks_ending_now
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.postgres

METRIC_TABLES = ("conversion_metrics", "visibility_metrics")


@pytest.fixture
def database_url() -> Iterator[str]:
    """Overrides the root fixture: a fresh database on the TSL server only."""
    with fresh_server_database(TIMESCALEDB_TSL) as url:
        yield url


def test_rerun_over_compressed_chunks_stores_the_same_rows_once(pipeline_env,
                                                                database_url: str) -> None:
    first, last = weeks_ending_now(3)
    assert run_range(HOSTS[0], first, last).success
    engine = sa.create_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:
        policies = connection.exec_driver_sql(
            "SELECT count(*) FROM timescaledb_information.jobs "
            "WHERE hypertable_schema = 'airbnb'").scalar()
        for table_name in METRIC_TABLES:
            connection.exec_driver_sql(
                f"SELECT compress_chunk(c) FROM show_chunks('airbnb.{table_name}') c")
        compressed = connection.exec_driver_sql(
            "SELECT count(*) FROM timescaledb_information.chunks "
            "WHERE hypertable_schema = 'airbnb' AND is_compressed").scalar()
    assert policies == 4  # compression and retention, on both metric tables
    assert compressed >= 2
    before = dump()

    result = run_range(HOSTS[0], first, last)

    assert result.success, result.all_events
    after = dump()
    assert after == before
    for rows in after.values():
        assert len(set(rows)) == len(rows)
