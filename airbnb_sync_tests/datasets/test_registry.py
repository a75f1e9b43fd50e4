"""The registry: this project's datasets in their order, each naming operations that the
client, the settings and the simulator all know."""

from __future__ import annotations

from airbnb_sync.airbnb.operations import CLIENT_NAMES, DEFAULT_HASHES, request_path
from airbnb_sync.core.settings import HASH_VARIABLES
from airbnb_sync.datasets import DATASETS, date_columns, purge_tables
from airbnb_sync.simulator.api import operation_of


def test_the_three_datasets_in_dependency_order() -> None:
    assert list(DATASETS) == ["listings", "conversion_metrics", "visibility_metrics"]
    assert [name for name, dataset in DATASETS.items() if not dataset.reads_listings] == [
        "listings"]
    assert date_columns() == {"listings": "week_start", "conversion_metrics": "metric_date",
                              "visibility_metrics": "week_start"}
    # Purge removes the datasets that read listings before listings.
    assert [table.name for table in purge_tables()][-1] == "listings"


def test_every_operation_of_a_dataset_is_known_to_client_settings_and_simulator() -> None:
    for dataset in DATASETS.values():
        assert dataset.operations, dataset.name
        for operation in dataset.operations:
            assert operation in DEFAULT_HASHES and operation in CLIENT_NAMES
            assert operation.value in HASH_VARIABLES
            assert operation_of(request_path(operation, DEFAULT_HASHES[operation])) == (
                operation, DEFAULT_HASHES[operation])
