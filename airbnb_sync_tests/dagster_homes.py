"""The Dagster instance profiles the suite writes into a DAGSTER_HOME.

"local" is the repository's local profile's storage block (`dagster.yaml`, as `make demo` and
`make ui` install it: Dagster's SQLite storage under DAGSTER_HOME, named explicitly),
"dagster" is no storage block at all (Dagster's default); both with telemetry off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from airbnb_sync.cli.demo import LOCAL_PROFILE


def write_profile(home: Path, storage: str = "local") -> None:
    """Write `home/dagster.yaml` with the chosen storage ("local" or "dagster")."""
    config: dict[str, Any] = {"telemetry": {"enabled": False}}
    if storage == "local":
        config["storage"] = yaml.safe_load(LOCAL_PROFILE.read_text())["storage"]
    elif storage != "dagster":
        raise ValueError(f"unknown storage {storage!r}: 'local' or 'dagster'")
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
