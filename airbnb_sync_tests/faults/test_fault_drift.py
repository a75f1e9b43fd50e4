"""One response of a run comes back in a changed shape (a renamed container key): nothing
from it is written, the error names the JSON path that changed, and once Airbnb answers in
the known shape again a re-run completes the warehouse exactly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
import pytest
from fault_helpers import (
    ASSETS,
    Reference,
    Work,
    compare,
    partially_materialized,
    run_work,
    snapshot,
    step_failures,
)
from pipeline_helpers import HOSTS, table

from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.faults,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

ACCOUNT = HOSTS[1]  # four listings: the drift hits the second one's chart


def test_a_drifted_response_writes_nothing_from_it_and_names_the_path(
        pipeline_env: Simulator, today: date, reference: Callable[[Work], Reference]) -> None:
    work = Work.weeks_up_to((ACCOUNT,), today, 2)
    expected = reference(work)
    log = expected.requests[ACCOUNT]
    charted = list(dict.fromkeys(r["listing_id"] for r in log if r["operation"] == "ChartQuery"))
    drift_at = next(i for i, r in enumerate(log, 1) if r["listing_id"] == charted[1])
    pipeline_env.configure(fault_script=[None] * (drift_at - 1) + ["drift"])

    result = run_work(work)

    assert not result.success
    drifted = [r for r in pipeline_env.requests(ACCOUNT) if r["fault"] == "drift"]
    assert len(drifted) == 1 and drifted[0]["listing_id"] == charted[1], drifted
    path = drifted[0]["detail"]
    failures = step_failures(result)
    assert f"ChartQuery response changed shape at {path}" in failures["conversion_metrics"]
    # Nothing from the drifted response: none of its listing's days in its window.
    conversion = table("conversion_metrics")
    days = pd.to_datetime(conversion["metric_date"]).dt.date.astype(str)
    from_it = conversion[(conversion.listing_id == drifted[0]["listing_id"])
                         & days.between(drifted[0]["first_day"], drifted[0]["last_day"])]
    assert from_it.empty, from_it
    # And what was stored is the reference's, only less of it.
    stored = compare(expected.snapshot, snapshot())
    assert stored.nothing_changed_or_duplicated, str(stored)
    assert stored.lost.get("conversion_metrics"), str(stored)
    # The drift stopped the asset that got it, for this account only; the other assets
    # finished, and no partition Dagster counts as materialized lacks a row.
    assert set(failures) == {"conversion_metrics"}, failures
    assert partially_materialized(expected.snapshot) == {asset: [] for asset in ASSETS}

    pipeline_env.configure(fault_script=[])
    rerun = run_work(work)

    assert rerun.success, step_failures(rerun)
    comparison = compare(expected.snapshot, snapshot())
    assert comparison.identical, str(comparison)
