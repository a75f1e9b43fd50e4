"""Parse and validate: microseconds per row from Airbnb's answers to validated frames.

The answers of a 51-week first sync of a host with 20 listings are recorded once from the
simulator (over HTTP, not timed). Then, repeatedly, in stages:
- decode: `json.loads` of every body, as the HTTP client does (reported on its own);
- parse: the functions the assets run (`fetch_listings`/`fetch_conversion`/`fetch_visibility`
  over a client that replays the decoded answers): raw JSON Schema check, parsing, date
  calibration, records;
- to_frame and validate: typed frames (`warehouse.frames.to_frame`) through the Pandera
  schemas (`warehouse.frames.validate_frame`).
Goal: parse + validation under 20 µs per stored row, the three tables together; the figure
with JSON decoding is given next to it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common import (
    CLIENT_VERSION,
    SIMULATOR_API_KEY,
    USER_AGENT,
    bench_listings,
    emit,
    first_sync_weeks,
    log,
    machine,
    summary,
)

from airbnb_sync.airbnb.client import AirbnbClient, HostSession
from airbnb_sync.airbnb.windows import RequestPlan, plan_requests, reachable_horizon
from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.datasets.fetch import (
    FetchOutcome,
    fetch_conversion,
    fetch_listings,
    fetch_visibility,
    listings_by_week,
)
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.warehouse.frames import to_frame, validate_frame

ACCOUNT = "74000001"
GOAL_MICROSECONDS = 20.0
KINDS = ("listings", "conversion_metrics", "visibility_metrics")


class Recorder:
    """Wraps the real client and keeps every answer's body as JSON text, in call order."""

    def __init__(self, client: AirbnbClient) -> None:
        self.client = client
        self.bodies: dict[str, list[str]] = defaultdict(list)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        def call(*args: Any) -> Any:
            answer = method(*args)
            self.bodies[name].append(json.dumps(answer))
            return answer

        return call


class Replay:
    """Answers the same calls in the same order with the decoded answers, no network."""

    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self._queues = {name: deque(decoded) for name, decoded in answers.items()}

    def __getattr__(self, name: str) -> Callable[..., Any]:
        queue = self._queues[name]
        return lambda *_args: queue.popleft()


def record(settings: Settings, plan: RequestPlan, listing_ids: list[str],
           scraped_at: datetime) -> dict[str, list[str]]:
    session = HostSession.from_cookie_text(ACCOUNT, make_cookie(ACCOUNT), CLIENT_VERSION,
                                           USER_AGENT)
    with AirbnbClient(session, settings) as client:
        recorder = Recorder(client)
        fetch_listings(recorder)
        conversion = fetch_conversion(recorder, ACCOUNT, listing_ids, plan, scraped_at)
        assert conversion.anchor is not None
        fetch_visibility(recorder, ACCOUNT, listing_ids, plan, scraped_at, conversion.anchor)
    return dict(recorder.bodies)


def pipeline(bodies: dict[str, list[str]], plan: RequestPlan, listing_ids: list[str],
             scraped_at: datetime) -> tuple[dict[str, int], dict[str, float]]:
    """One pass over every answer, as the three assets make it: rows and seconds per stage."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    answers = {name: [json.loads(text) for text in texts] for name, texts in bodies.items()}
    seconds["decode"] = time.perf_counter() - started
    replay = Replay(answers)
    started = time.perf_counter()
    records = {"listings": listings_by_week(ACCOUNT, fetch_listings(replay), plan.weeks,
                                            scraped_at)}
    conversion = fetch_conversion(replay, ACCOUNT, listing_ids, plan, scraped_at)
    assert conversion.anchor is not None
    visibility: FetchOutcome = fetch_visibility(replay, ACCOUNT, listing_ids, plan, scraped_at,
                                                conversion.anchor)
    records["conversion_metrics"] = conversion.records
    records["visibility_metrics"] = visibility.records
    seconds["parse"] = time.perf_counter() - started
    frames = {}
    started = time.perf_counter()
    for kind in KINDS:
        frames[kind] = to_frame(kind, records[kind])  # type: ignore[arg-type]
    seconds["to_frame"] = time.perf_counter() - started
    started = time.perf_counter()
    for kind in KINDS:
        validate_frame(kind, frames[kind])  # type: ignore[arg-type]
    seconds["validate"] = time.perf_counter() - started
    seconds["parse_and_validate"] = seconds["parse"] + seconds["to_frame"] + seconds["validate"]
    seconds["with_decode"] = seconds["parse_and_validate"] + seconds["decode"]
    return {kind: len(records[kind]) for kind in KINDS}, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7, help="timed passes (median reported)")
    args = parser.parse_args()
    accounts = {ACCOUNT: bench_listings(ACCOUNT, args.listings)}
    config = SimulatorConfig(api_key=SIMULATOR_API_KEY, accounts=accounts)
    with Simulator(config) as simulator:
        settings = load_settings({"AIRBNB_BASE_URL": simulator.url,
                                  "AIRBNB_API_KEY": SIMULATOR_API_KEY,
                                  "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "0",
                                  "DAGSTER_HOME": "/nonexistent"})
        now = datetime.now(UTC)
        first, last = first_sync_weeks(now.date())
        weeks = _weeks(first, last)
        plan = plan_requests(weeks, now.date(), reachable_horizon(now.date(),
                                                                  settings.lookahead_weeks),
                             settings.anchor_lag_days)
        listing_ids = [listing.id for listing in accounts[ACCOUNT]]
        log(f"recording the answers for {args.listings} listings x {len(weeks)} weeks")
        bodies = record(settings, plan, listing_ids, now)
    pipeline(bodies, plan, listing_ids, now)  # warm-up: caches, compiled validators
    passes = []
    for index in range(args.repeats):
        rows, seconds = pipeline(bodies, plan, listing_ids, now)
        passes.append(seconds)
        log(f"  pass {index + 1}/{args.repeats}: {seconds['parse_and_validate'] * 1000:.1f} ms"
            f" (+ {seconds['decode'] * 1000:.1f} ms of JSON decoding)")
    total_rows = sum(rows.values())
    stages = ("decode", "parse", "to_frame", "validate", "parse_and_validate", "with_decode")
    per_row = {stage: [run[stage] / total_rows * 1e6 for run in passes] for stage in stages}
    median = statistics.median(per_row["parse_and_validate"])
    emit({
        "benchmark": "parse_validate",
        "setup": {"listings": args.listings, "weeks": len(weeks),
                  "answers": sum(len(texts) for texts in bodies.values())},
        "rows": {**rows, "total": total_rows},
        "microseconds_per_row": {stage: summary(values, 2) for stage, values in per_row.items()},
        "goal_microseconds_per_row": GOAL_MICROSECONDS,
        "meets_goal": median < GOAL_MICROSECONDS,
        "meets_goal_with_decode": statistics.median(per_row["with_decode"]) < GOAL_MICROSECONDS,
        "machine": machine(),
    })


def _weeks(first: date, last: date) -> list[date]:
    return [first + timedelta(weeks=offset) for offset in range((last - first).days // 7 + 1)]


if __name__ == "__main__":
    main()
