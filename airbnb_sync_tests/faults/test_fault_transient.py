"""Bursts of 5xx, malformed JSON and truncated bodies, scripted at exact requests of the run:
the client rides them out, nothing broken is stored, and the warehouse ends up exactly as an
undisturbed run leaves it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fault_helpers import Reference, Work, compare, failure_text, run_work, snapshot
from pipeline_helpers import HOSTS

from airbnb_sync.simulator import Simulator

# HTTP faults do not depend on the database: SQLite only, as the retries take their time.
pytestmark = [pytest.mark.faults,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

# Each burst is two faults in a row, then a normal answer: within what the client retries
# (urllib3 for statuses, two more attempts for a broken body). The positions count the
# requests of the disturbed run: 1 is ListingsSectionQuery, 2-4 the first ChartQuery and its
# retries, 5-7 the next request, 8-10 the one after.
BURSTS = {2: "error", 5: "malformed", 8: "truncated"}
BURST_LENGTH = 2


def script() -> list[str | None]:
    faults: list[str | None] = [None] * (max(BURSTS) + BURST_LENGTH)
    for start, fault in BURSTS.items():
        faults[start - 1:start - 1 + BURST_LENGTH] = [fault] * BURST_LENGTH
    return faults


def test_bursts_of_5xx_malformed_and_truncated_answers_lose_nothing(
        pipeline_env: Simulator, today: date, reference: Callable[[Work], Reference]) -> None:
    work = Work.weeks_up_to((HOSTS[0],), today, 2)
    expected = reference(work)
    assert len(expected.requests[HOSTS[0]]) > 1 + len(BURSTS)
    pipeline_env.configure(fault_script=script())

    result = run_work(work)

    assert result.success, failure_text(result)
    log = pipeline_env.requests(HOSTS[0])
    faults = [r["fault"] for r in log]
    assert faults[:len(script())] == script(), log
    assert {r["status"] for r in log if r["fault"] == "error"} <= {500, 502, 503}
    # Every faulty answer was asked again: one more request per fault, nothing else.
    assert len(log) == len(expected.requests[HOSTS[0]]) + BURST_LENGTH * len(BURSTS)
    comparison = compare(expected.snapshot, snapshot())
    assert comparison.identical, str(comparison)
