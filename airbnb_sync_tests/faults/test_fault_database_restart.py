"""The warehouse's PostgreSQL restarts in the middle of a run (while the run talks to Airbnb
under the account's lease): the run either fails with an error that says the database went
away, or Dagster retries the step and it succeeds; either way a later run leaves exactly
what an undisturbed run stores. On a private cluster, so the shared servers stay up."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from fault_helpers import (
    ASSETS,
    Reference,
    Work,
    compare,
    failure_text,
    partially_materialized,
    run_work,
    snapshot,
    step_failures,
)
from pipeline_helpers import HOSTS
from private_postgres import PrivateCluster, private_cluster

from airbnb_sync.simulator import Simulator
from airbnb_sync.simulator.state import RequestRecord

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

ACCOUNT = HOSTS[1]  # four listings: the restart comes while the third one is fetched


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with private_cluster() as started:
        yield started


@pytest.fixture
def database_url(cluster: PrivateCluster) -> Iterator[str]:
    """The warehouse on the private cluster (overrides the root conftest's fixture)."""
    with cluster.database(f"airbnb_sync_fault_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture
def reference_url(cluster: PrivateCluster) -> Iterator[str]:
    with cluster.database(f"airbnb_sync_reference_{uuid.uuid4().hex[:12]}") as url:
        yield url


class RestartAt:
    """A simulator hook: restart the database while the account's n-th request waits."""

    def __init__(self, cluster: PrivateCluster, account: str, position: int) -> None:
        self.cluster, self.account, self.position = cluster, account, position
        self.restarts: list[int] = []

    def __call__(self, simulator: Simulator, record: RequestRecord) -> None:
        if (record.account_id == self.account
                and len(simulator.requests(self.account)) == self.position):
            self.cluster.restart()
            self.restarts.append(self.position)


@pytest.mark.parametrize("dagster_retries", [0, 1], ids=["fails", "retried"])
def test_a_database_restart_mid_run_fails_clearly_or_retries_and_loses_nothing(
        pipeline_env: Simulator, today: date, reference: Callable[[Work], Reference],
        cluster: PrivateCluster, dagster_retries: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_RUN_RETRIES", str(dagster_retries))
    monkeypatch.setenv("AIRBNB_SYNC_RUN_RETRY_DELAY", "0")
    work = Work.weeks_up_to((ACCOUNT,), today, 2)
    expected = reference(work)
    log = expected.requests[ACCOUNT]
    charted = list(dict.fromkeys(r["listing_id"] for r in log if r["operation"] == "ChartQuery"))
    position = next(i for i, r in enumerate(log, 1) if r["listing_id"] == charted[2])
    hook = RestartAt(cluster, ACCOUNT, position)
    pipeline_env.on_request(hook)

    result = run_work(work)

    assert hook.restarts == [position]
    assert partially_materialized(expected.snapshot) == {asset: [] for asset in ASSETS}
    stored = compare(expected.snapshot, snapshot())
    assert stored.nothing_changed_or_duplicated, str(stored)
    if dagster_retries:
        assert result.success, failure_text(result)
        assert stored.identical, str(stored)
        return
    assert not result.success
    error = step_failures(result)["conversion_metrics"]
    assert f"LeaseLost: account {ACCOUNT}: lost its lease" in error, error
    assert "Did the database restart?" in error
    # The lease was gone: the step sent nothing more (the charts still due were not asked).
    after = pipeline_env.requests(ACCOUNT)[position:]
    assert not [r for r in after
                if r["operation"] == "ChartQuery" and r["listing_id"] in charted[2:]], after

    rerun = run_work(work)

    assert rerun.success, failure_text(rerun)
    comparison = compare(expected.snapshot, snapshot())
    assert comparison.identical, str(comparison)
