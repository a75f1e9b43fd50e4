"""Loading the code location leaves what it loaded out of Python's full garbage collections
(airbnb_sync/definitions.py says why), in a process of its own, as a run loads it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PROBE = """
import gc, json
import dagster._cli
import airbnb_sync.definitions
print(json.dumps({"frozen": gc.get_freeze_count(), "walked": len(gc.get_objects())}))
"""


def test_a_full_collection_walks_little_of_what_loading_the_code_location_made(
        tmp_path: Path) -> None:
    loaded = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(tmp_path)})
    assert loaded.returncode == 0, loaded.stderr
    counts = json.loads(loaded.stdout.splitlines()[-1])
    assert counts["frozen"] > 100_000  # Dagster, pandas and the definitions
    assert counts["walked"] * 20 < counts["frozen"]
