"""A session expires in the middle of a run of two accounts: the expiring account sends at
most one request after Airbnb's first authentication error and is marked expired; the other
account finishes with exactly the reference's rows; after the cookie is refreshed, a re-run
completes the warehouse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from fault_helpers import Reference, Work, compare, failure_text, rows_of, run_work, snapshot
from pipeline_helpers import HOSTS, write_cookie_file

from airbnb_sync.accounts.store import open_store
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.faults,
              pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)]

EXPIRING, OTHER = HOSTS  # the expiring account is synced first in each asset


def auth_status(account_id: str) -> str:
    return open_store(load_settings()).get(account_id).auth_status


def test_a_session_expiring_mid_run_stops_its_account_and_the_other_finishes(
        pipeline_env: Simulator, today: date, reference: Callable[[Work], Reference],
        tmp_path: Path) -> None:
    work = Work.weeks_up_to((EXPIRING, OTHER), today, 2)
    expected = reference(work)
    # Halfway through the expiring account's requests of an undisturbed run.
    expire_after = len(expected.requests[EXPIRING]) // 2
    assert expire_after >= 2
    pipeline_env.configure(expire_after_for={EXPIRING: expire_after})

    result = run_work(work)

    assert not result.success
    log = pipeline_env.requests(EXPIRING)
    first_refusal = next(i for i, r in enumerate(log) if r["status"] == 401)
    assert first_refusal == expire_after, log
    assert len(log) - first_refusal - 1 <= 1, log[first_refusal:]
    assert auth_status(EXPIRING) == "expired"
    assert f"airbnb-sync accounts update {EXPIRING} --cookie-file -" in failure_text(result)
    assert auth_status(OTHER) == "ok"
    assert f"account {OTHER}" not in failure_text(result)
    stored = snapshot()
    other = compare(rows_of(expected.snapshot, {OTHER}), rows_of(stored, {OTHER}))
    assert other.identical, str(other)
    # Its rows: some missing, none changed or duplicated (its account row says expired).
    expiring = compare(rows_of(expected.snapshot, {EXPIRING}, data_only=True),
                       rows_of(stored, {EXPIRING}, data_only=True))
    assert expiring.nothing_changed_or_duplicated, str(expiring)
    assert expiring.lost, "the session expired before anything was missing"

    pipeline_env.restore(EXPIRING)
    pipeline_env.configure(expire_after_for={})
    cookie = write_cookie_file(tmp_path, EXPIRING)
    assert cli(["accounts", "update", EXPIRING, "--cookie-file", str(cookie)]) == 0
    rerun = run_work(work.only(EXPIRING))

    assert rerun.success, failure_text(rerun)
    comparison = compare(expected.snapshot, snapshot())
    assert comparison.identical, str(comparison)
