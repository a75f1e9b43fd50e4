"""Debian's Chromium for browser tests (never a downloaded build), and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from database_servers import running_in_ci

CHROMIUM = Path("/usr/bin/chromium")
# Root needs --no-sandbox; the rest keeps Chromium from calling home during a test.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def require_chromium() -> str:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if running_in_ci(os.environ):
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    return str(CHROMIUM)


def screenshot_path(name: str) -> Path:
    """Under test-artifacts/ (git-ignored); AIRBNB_SYNC_TEST_SCREENSHOTS picks another folder."""
    folder = Path(os.environ.get("AIRBNB_SYNC_TEST_SCREENSHOTS") or ARTIFACTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
