"""The simulator's knobs that the fault suite relies on, over real loopback HTTP: scripted
faults, per-account expiry, what the request log records, and request hooks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import requests

from airbnb_sync.airbnb.operations import (
    DEFAULT_HASHES,
    Operation,
    chart_body,
    listings_section_body,
    request_path,
)
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.simulator.cli import build_parser, config_from_args
from airbnb_sync.simulator.data import listings_for
from airbnb_sync.simulator.state import RequestRecord

pytestmark = pytest.mark.faults

TODAY = date(2026, 6, 17)
HOST, OTHER = "41234567", "58765432"
KEY = "sim-api-key"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(api_key=KEY, today=TODAY)) as simulator:
        yield simulator


def ask(sim: Simulator, account: str = HOST, operation: Operation = Operation.CHART,
        start: int = -6, end: int = 0, base: str | None = None) -> requests.Response:
    sha = DEFAULT_HASHES[operation]
    body = (listings_section_body(sha) if operation is Operation.LISTINGS_SECTION else
            chart_body(sha, listings_for(account)[0].id, "p3_impressions", start, end))
    return requests.post((base or sim.url) + request_path(operation, sha), data=json.dumps(body),
                         headers={"X-Airbnb-API-Key": KEY, "Cookie": make_cookie(account),
                                  "Content-Type": "application/json"}, timeout=10)


def test_a_fault_script_plays_each_accounts_first_requests_in_order(sim: Simulator) -> None:
    sim.configure(fault_script=[None, "error", "", "throttle", "malformed", "drift"],
                  throttle_retry_after=0)
    for _ in range(7):
        ask(sim)
    ask(sim, OTHER)
    assert [r["fault"] for r in sim.requests(HOST)] == [
        None, "error", None, "throttle", "malformed", "drift", None]
    statuses = [r["status"] for r in sim.requests(HOST)]
    assert statuses[0] == 200 and statuses[1] in (500, 502, 503) and statuses[2:4] == [200, 429]
    assert sim.requests(OTHER)[0]["fault"] is None  # its own script, at its first request
    assert sim.stats()["faults"] == {"error": 1, "throttle": 1, "malformed": 1, "drift": 1}


def test_the_request_log_says_what_was_asked_and_what_a_drift_changed(sim: Simulator) -> None:
    sim.configure(fault_script=["drift"])
    answer = ask(sim, start=-13, end=-7)
    anchor = TODAY - timedelta(days=3)
    [drifted] = sim.requests(HOST)
    assert drifted["listing_id"] == listings_for(HOST)[0].id
    assert (drifted["first_day"], drifted["last_day"]) == (
        (anchor - timedelta(days=13)).isoformat(), (anchor - timedelta(days=7)).isoformat())
    path = drifted["detail"]
    assert path == "data.porygon.getPerformanceComponents.components[0].metricLineCharts"
    component = answer.json()["data"]["porygon"]["getPerformanceComponents"]["components"][0]
    assert "metricLineCharts" not in component and "metricLineChartsV2" in component


def test_a_throttled_request_logs_its_retry_after(sim: Simulator) -> None:
    sim.configure(fault_script=["throttle"], throttle_retry_after=3)
    answer = ask(sim)
    [record] = sim.requests(HOST)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
    assert record["retry_after"] == 3 and record["listing_id"] == listings_for(HOST)[0].id


def test_expire_after_for_expires_only_that_account(sim: Simulator) -> None:
    sim.configure(expire_after_for={HOST: 2})
    statuses = [ask(sim).status_code for _ in range(3)]
    others = [ask(sim, OTHER).status_code for _ in range(3)]
    assert statuses == [200, 200, 401] and others == [200, 200, 200]
    assert sim.stats()["accounts"][HOST]["expired"] is True
    sim.restore(HOST)
    assert ask(sim).status_code == 200


@pytest.mark.parametrize(("knobs", "message"), [
    ({"fault_script": ["boom"]}, "fault_script has unknown fault(s) ['boom']"),
    ({"fault_script": "error"}, "fault_script must be a list"),
    ({"expire_after_for": {HOST: -1}}, f"expire_after_for['{HOST}'] must be a non-negative"),
    ({"expire_after_for": [HOST]}, "expire_after_for must map account ids"),
])
def test_bad_knobs_are_refused_with_the_reason(sim: Simulator, knobs: dict,
                                               message: str) -> None:
    with pytest.raises(ValueError) as refused:
        sim.configure(**knobs)
    assert message in str(refused.value)
    answer = requests.post(sim.url + "/_sim/config", json=knobs, timeout=10)
    assert answer.status_code == 400 and message in answer.text


def test_the_command_line_sets_the_script_and_per_account_expiry() -> None:
    args = build_parser().parse_args(["--fault-script", ",error,,truncated",
                                      "--expire-after-for", f"{HOST}=5"])
    config = config_from_args(args)
    assert config.fault_script == (None, "error", None, "truncated")
    assert config.expire_after_for == {HOST: 5}


def test_a_hook_runs_before_the_answer_and_may_take_the_simulator_down(sim: Simulator) -> None:
    seen: list[tuple[str | None, int | None]] = []

    def hook(simulator: Simulator, record: RequestRecord) -> None:
        seen.append((record.operation, record.status))
        if len(simulator.requests(HOST)) == 2:
            simulator.stop()

    sim.on_request(hook)
    url = sim.url
    assert ask(sim).status_code == 200
    with pytest.raises(requests.ConnectionError):
        ask(sim)  # the connection is dropped unanswered
    assert seen == [("ChartQuery", None), ("ChartQuery", None)]  # before the answers
    assert not sim.serving
    with pytest.raises(requests.ConnectionError):
        ask(sim, base=url)  # and nothing listens any more
