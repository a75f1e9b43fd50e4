"""`POST /api/v1/accounts/{id}/sync` before Dagster: the weeks of `from`..`to` (the rules and
sentences of `airbnb-sync sync`, sync/ranges.py) and the refusals, on every warehouse. The
launch itself goes to a recorder here (api/test_api_dagster.py launches for real)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from api_helpers import Api, assert_problem

from airbnb_sync.airbnb.windows import week_start_of

HOST = "58765432"


@pytest.fixture
def host(api: Api) -> Api:
    api.add_account(HOST)
    return api


def _post(api: Api, body: dict) -> object:
    return api.call("POST", f"/api/v1/accounts/{HOST}/sync", api.token("s"), json=body)


def test_the_weeks_holding_from_and_to_are_launched(host: Api) -> None:
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=30), today - timedelta(days=3)
    response = _post(host, {"from": str(start), "to": str(end)})
    assert response.status_code == 202, response.text
    body = response.json()
    first, last = week_start_of(start), week_start_of(end)
    assert (body["first_week"], body["last_week"]) == (str(first), str(last))
    assert body["partition_range"] == f"{HOST}|{first}...{HOST}|{last}"
    assert host.launched == [(HOST, first, last)] and body["run_id"]


@pytest.mark.parametrize("change, status, phrase", [
    (lambda today: {"from": str(today), "to": str(today - timedelta(days=8))}, 422,
     "is after to"),
    (lambda today: {"from": "2001-01-01", "to": str(today)}, 422, "Airbnb serves"),
    (lambda today: {"from": str(today), "to": str(today + timedelta(days=400))}, 422,
     "Airbnb serves"),
    (lambda today: {"from": str(today)}, 422, "to is required"),
    (lambda today: {"from": "yesterday", "to": str(today)}, 422, "from is invalid"),
    (lambda today: {"from": str(today), "to": str(today), "weeks": 3}, 422, "weeks"),
])
def test_bad_ranges_are_refused_before_dagster(host: Api, change, status: int,
                                               phrase: str) -> None:
    response = _post(host, change(datetime.now(UTC).date()))
    problem = assert_problem(response, status, phrase)
    assert "--" not in problem["detail"]
    assert host.launched == []


@pytest.mark.parametrize("state, phrase", [
    ("expired", f"POST /api/v1/accounts/{HOST}/session"),
    ("inactive", "inactive"), ("deleted", "deleted"),
])
def test_an_account_that_cannot_sync_is_a_conflict(host: Api, state: str, phrase: str) -> None:
    {"expired": lambda: host.store.set_auth_status(HOST, "expired"),
     "inactive": lambda: host.store.deactivate(HOST),
     "deleted": lambda: host.store.soft_delete(HOST)}[state]()
    today: date = datetime.now(UTC).date()
    assert_problem(_post(host, {"from": str(today), "to": str(today)}), 409, phrase)
    assert host.launched == []
