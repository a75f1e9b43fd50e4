"""The registry of datasets (`registry.DATASETS`): one module per synced table, each declaring
its table, its fetch from Airbnb, its completeness rule and its export's date column once.

Importing the package registers this project's datasets, in the order below: `listings`
first, since the others read it (their assets take it as input).
"""

from airbnb_sync.datasets import conversion_metrics, listings, visibility_metrics
from airbnb_sync.datasets.dataset import Dataset
from airbnb_sync.datasets.registry import (
    DATASETS,
    dataset_names,
    date_columns,
    purge_tables,
    register,
    sql_table,
    unregister,
)

for _dataset in (listings.DATASET, conversion_metrics.DATASET, visibility_metrics.DATASET):
    register(_dataset)

__all__ = ["DATASETS", "Dataset", "dataset_names", "date_columns", "purge_tables", "register",
           "sql_table", "unregister"]
