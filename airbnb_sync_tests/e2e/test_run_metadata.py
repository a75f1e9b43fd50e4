"""A partition's materialization metadata says that its figures are the run's totals: Dagster
copies a run's output metadata onto every partition the run materializes."""

from __future__ import annotations

import pytest
from dagster import AssetKey, DagsterInstance
from pipeline_helpers import HOSTS, run_range, weeks_ending_now

from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"],
                                                        indirect=True)]


def test_each_partition_labels_the_figures_as_run_totals(pipeline_env: Simulator) -> None:
    first, last = weeks_ending_now(3)
    result = run_range(HOSTS[1], first, last)
    assert result.success

    instance = DagsterInstance.get()
    for asset in ("listings", "conversion_metrics", "visibility_metrics"):
        event = instance.get_latest_materialization_event(AssetKey(asset))
        assert event is not None and event.asset_materialization is not None
        metadata = event.asset_materialization.metadata
        assert metadata["figures"].value == ("run totals over 3 partitions (1 account); "
                                             "every partition of the run shows the same")
    # Every partition of the run carries the same figures: totals, labelled as such.
    records = instance.fetch_materializations(AssetKey("listings"), limit=10).records
    partitions = {r.asset_materialization.partition: r.asset_materialization.metadata
                  for r in records}
    assert len(partitions) == 3
    assert len({m["rows"].value for m in partitions.values()}) == 1
    assert len({m["figures"].value for m in partitions.values()}) == 1
