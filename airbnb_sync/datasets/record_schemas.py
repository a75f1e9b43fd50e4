"""`python -m airbnb_sync.datasets.record_schemas [--check] [FOLDER]`: the JSON Schemas of
parsed records (`warehouse.record_schemas`) of every registered dataset."""

from __future__ import annotations

import airbnb_sync.datasets  # noqa: F401  (registers the datasets' tables)
from airbnb_sync.warehouse.record_schemas import main

if __name__ == "__main__":
    raise SystemExit(main())
