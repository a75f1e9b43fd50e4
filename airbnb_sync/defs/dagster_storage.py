"""Deprecated: the name profiles written before the local profile used Dagster's own SQLite
storage give their `storage: custom:` block (see `airbnb_sync.instance.legacy_storage`)."""

import warnings

from airbnb_sync.instance.legacy_storage import DEPRECATION, LocalDagsterStorage

warnings.warn(DEPRECATION, FutureWarning, stacklevel=2)

__all__ = ["LocalDagsterStorage"]
