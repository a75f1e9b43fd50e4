"""What a Dagster run leaves in DAGSTER_HOME is the owner's only, whatever the umask of the
process that ran it and whatever the folder's mode: the run's event database, the index, the
compute logs, the reports. Run here as a user would run it without our CLI: `dagster asset
materialize` started with umask 022 in a DAGSTER_HOME that is 0755. And `airbnb-sync db
upgrade` tightens an installation made before (0755 folders, 0644 files), without following a
link planted in it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_helpers import HOSTS, weeks_ending_now

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.partitions import partition_key

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"],
                                                        indirect=True)]
BIN = Path(sys.executable).parent


def _open_to_others(root: Path) -> list[str]:
    """Every file or folder below `root` (not `root` itself) that group or others may use,
    but the instance's profile (dagster.yaml: the user's own copy of a public file)."""
    found = []
    for path in root.rglob("*"):
        if path.is_symlink() or path == root / "dagster.yaml":
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(root)} {mode:o}")
    return found


def _with_umask_022() -> None:
    os.umask(0o022)


def _dagster(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "dagster"), *args], env=os.environ.copy(),
                          capture_output=True, text=True, timeout=600,
                          preexec_fn=_with_umask_022)


def test_a_run_started_with_umask_022_leaves_owner_only_files(pipeline_env,
                                                              dagster_home: Path) -> None:
    dagster_home.chmod(0o755)
    first, last = weeks_ending_now(1)
    synced = _dagster("asset", "materialize", "-m", "airbnb_sync.definitions",
                      "--select", "listings,conversion_metrics,visibility_metrics",
                      "--partition-range", f"{partition_key(HOSTS[0], first)}..."
                      f"{partition_key(HOSTS[0], last)}")
    assert synced.returncode == 0, synced.stdout[-3000:] + synced.stderr[-3000:]
    reported = _dagster("asset", "materialize", "-m", "airbnb_sync.definitions",
                        "--select", "insights_report")
    assert reported.returncode == 0, reported.stdout[-3000:] + reported.stderr[-3000:]
    made = {str(path.relative_to(dagster_home)) for path in dagster_home.rglob("*")}
    assert "history/runs/index.db" in made and "history/runs.db" in made
    assert len([name for name in made if name.startswith("history/runs/")
                and name.endswith(".db")]) >= 3  # the index and each run's events
    assert "reports/index.html" in made
    assert any(name.startswith("storage/") and name.endswith(".out") for name in made)  # logs
    assert load_settings().reports_dir == dagster_home / "reports"
    assert _open_to_others(dagster_home) == []


def test_db_upgrade_tightens_an_existing_installation(pipeline_env, dagster_home: Path,
                                                      tmp_path: Path) -> None:
    for folder in ("history/runs", "schedules", "storage/abc/compute_logs", "reports"):
        (dagster_home / folder).mkdir(parents=True, exist_ok=True)
    for name in ("history/runs.db", "history/runs/abc.db", "schedules/schedules.db",
                 "storage/abc/compute_logs/step.out", "reports/index.html"):
        (dagster_home / name).write_text("x")
    outside = tmp_path / "shared.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (dagster_home / "reports" / "link.html").symlink_to(outside)
    for path in [dagster_home, *dagster_home.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert _open_to_others(dagster_home)
    upgraded = subprocess.run([str(BIN / "airbnb-sync"), "db", "upgrade"], env=os.environ.copy(),
                              capture_output=True, text=True, timeout=300,
                              preexec_fn=_with_umask_022)
    assert upgraded.returncode == 0, upgraded.stderr
    assert _open_to_others(dagster_home) == []
    assert stat.S_IMODE(dagster_home.stat().st_mode) == 0o700
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644  # the link was not followed
    assert "tightened" in upgraded.stdout
