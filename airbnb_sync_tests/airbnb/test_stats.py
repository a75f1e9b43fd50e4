"""Per-run request statistics: counting from threads, merging, flat metadata."""

from __future__ import annotations

import json
import threading

import pytest

from airbnb_sync.airbnb.stats import RequestStats


def test_counts_from_many_threads_add_up() -> None:
    stats = RequestStats()

    def work() -> None:
        for _ in range(1000):
            stats.count_request("ChartQuery")
            stats.add_bytes(3)
            stats.add_wait(0.001)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stats.requests["ChartQuery"] == 8000
    assert stats.bytes_received == 24000
    assert stats.seconds_waiting == pytest.approx(8.0)


def test_merge_adds_every_counter() -> None:
    run, account = RequestStats(), RequestStats()
    run.count_request("ChartQuery")
    account.count_request("ChartQuery")
    account.count_request("ListingsSectionQuery")
    account.count_retry()
    account.count_rate_limited()
    account.count_auth_error()
    account.add_bytes(10)
    account.add_wait(1.5)
    assert run.merge(account) is run
    assert run.as_metadata() == {
        "requests": 3, "requests_ChartQuery": 2, "requests_ListingsSectionQuery": 1,
        "retries": 1, "rate_limited": 1, "bytes_received": 10, "seconds_waiting": 1.5,
        "auth_errors": 1,
    }
    assert account.total_requests == 2  # the merged-in statistics are left alone


def test_metadata_is_flat_and_json_friendly() -> None:
    stats = RequestStats()
    stats.count_request("ListOfMetricsQuery")
    stats.add_wait(0.123456)
    metadata = stats.as_metadata()
    assert json.loads(json.dumps(metadata)) == metadata
    assert all(isinstance(value, int | float) for value in metadata.values())
    assert metadata["seconds_waiting"] == 0.123


def test_negative_waits_are_ignored_and_self_merge_is_refused() -> None:
    stats = RequestStats()
    stats.add_wait(-1.0)
    assert stats.seconds_waiting == 0
    with pytest.raises(ValueError):
        stats.merge(stats)
