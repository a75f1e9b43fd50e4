"""Fixtures of the fault suite: the e2e fixtures (simulator, pipeline_env), a pinned calendar
day, and the reference (an undisturbed run of the same work) on the same kind of database.

The e2e helpers live in ../e2e; they are put on sys.path here, and e2e/conftest.py's
fixtures are imported rather than copied, so both suites drive the pipeline the same way.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import pytest

E2E = Path(__file__).resolve().parent.parent / "e2e"
if str(E2E) not in sys.path:
    sys.path.append(str(E2E))


def _load_e2e_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("e2e_fixtures", E2E / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


from database_servers import fresh_server_database  # noqa: E402
from fault_helpers import Reference, Work, build_reference  # noqa: E402

from airbnb_sync.simulator import Simulator  # noqa: E402

_e2e = _load_e2e_fixtures()
simulator = _e2e.simulator
pipeline_env = _e2e.pipeline_env


@pytest.fixture
def today(pipeline_env: Simulator) -> date:
    """The day every run of the test counts as today: the simulator and the resource agree,
    so a test that crosses midnight still compares one scraped_on with one."""
    day = datetime.now(UTC).date()
    pipeline_env.configure(today=day)
    return day


def _backend(request: pytest.FixtureRequest) -> str:
    params = request.node.callspec.params
    return params.get("database_url") or params["server_database_url"]


@pytest.fixture
def reference_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty warehouse of its own for the reference run, on the test's kind of database."""
    backend = _backend(request)
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'reference' / 'warehouse.db'}"
        return
    with fresh_server_database(backend) as url:
        yield url


@pytest.fixture
def reference(reference_url: str, tmp_path: Path) -> Callable[[Work], Reference]:
    """`reference(work)`: what an undisturbed run of `work` stores (run once per test)."""
    return lambda work: build_reference(work, reference_url, tmp_path / "reference")
