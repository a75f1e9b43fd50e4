"""The storage that profiles written before Dagster's own SQLite storage became the local
profile's name: `airbnb_sync.defs.dagster_storage.LocalDagsterStorage`.

That class kept Dagster's SQLite files under `base_dir` (DAGSTER_HOME/history and
DAGSTER_HOME/schedules, the same tables and rows), so the name now stands for Dagster's own
class with the same `base_dir`: such an installation keeps working and keeps its history.
Dagster exports no storage class from its top-level package; its documented way to choose
this one is `storage: sqlite: base_dir: ...` in dagster.yaml, which names the same class.
"""

from __future__ import annotations

from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

# What the local profile's storage block says now (README: Running with Docker Compose).
REPLACEMENT = "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME"
DEPRECATION = (
    "dagster.yaml names airbnb_sync.defs.dagster_storage.LocalDagsterStorage, which is now "
    "Dagster's own SQLite storage over the same files; replace the `storage:` block of "
    "$DAGSTER_HOME/dagster.yaml with the repository's (" + REPLACEMENT.replace("\n", " ")
    + "): the history stays. The old name will be removed in a later release.")

LocalDagsterStorage = DagsterSqliteStorage
