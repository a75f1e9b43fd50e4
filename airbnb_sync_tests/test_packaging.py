"""Installing the package prints no deprecation of its own metadata (setuptools warned about
the `project.license` table three times per install)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parents[1]
BUILD = """
import sys
from setuptools import build_meta
print(build_meta.prepare_metadata_for_build_wheel(sys.argv[1]))
"""


def test_the_metadata_builds_without_deprecations_and_names_the_licence(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "airbnb_sync").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPOSITORY / name, project / name)
    (project / "airbnb_sync" / "__init__.py").write_text("")
    out = tmp_path / "metadata"
    out.mkdir()
    built = subprocess.run([sys.executable, "-c", BUILD, str(out)], cwd=project,
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    assert "Deprecat" not in built.stdout + built.stderr, built.stderr[-3000:]
    metadata = (out / built.stdout.strip().splitlines()[-1] / "METADATA").read_text()
    assert "License-Expression: MIT" in metadata
