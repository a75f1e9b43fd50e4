"""Airbnb answers 30 % of requests with 429 and a Retry-After: the run still stores exactly
what an undisturbed run stores, and no request of the account comes before the time it was
told to wait (read from the simulator's own log of when it answered and what it said)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fault_helpers import Reference, Work, compare, failure_text, run_work, snapshot
from pipeline_helpers import HOSTS

from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.faults,
              pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)]

THROTTLED_SHARE = 0.3
RETRY_AFTER_SECONDS = 1


def early_requests(log: list[dict]) -> list[str]:
    """Requests that started before the end of a Retry-After told earlier, described."""
    early = []
    for told in (r for r in log if r["status"] == 429):
        not_before = told["finished"] + told["retry_after"]
        early += [f"{r['operation']} at {r['started']:.3f} < {not_before:.3f}"
                  for r in log if told["started"] < r["started"] < not_before]
    return early


def test_429_with_retry_after_is_honoured_and_loses_nothing(
        pipeline_env: Simulator, today: date, reference: Callable[[Work], Reference]) -> None:
    work = Work.weeks_up_to((HOSTS[0],), today, 2)
    expected = reference(work)
    pipeline_env.configure(throttle_rate=THROTTLED_SHARE,
                           throttle_retry_after=RETRY_AFTER_SECONDS, seed=3)

    result = run_work(work)

    assert result.success, failure_text(result)
    log = pipeline_env.requests(HOSTS[0])
    throttled = [r for r in log if r["status"] == 429]
    # The storm happened: about 30 % of the requests were refused, each saying how long.
    assert len(throttled) >= 0.15 * len(log) and len(throttled) >= 3, log
    assert {r["retry_after"] for r in throttled} == {RETRY_AFTER_SECONDS}
    assert early_requests(log) == []
    assert pipeline_env.stats()["retry_after_violations"] == 0
    comparison = compare(expected.snapshot, snapshot())
    assert comparison.identical, str(comparison)
