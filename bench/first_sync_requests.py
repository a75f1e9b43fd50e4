"""Requests per listing of a host's first sync, counted by the simulator.

A first sync covers AIRBNB_SYNC_FIRST_SYNC_WEEKS before the current week through the
lookahead end (the range the accounts sensor asks for, refresh.py). Hosts with different
numbers of listings are synced through Dagster's command line, one run each, and the
simulator counts what each host sent: requests per listing, and by operation. The earlier
tool sent 128 requests per listing for its first sync (and 66 per listing and day daily).
Latency and pacing do not change the counts, so both are 0 here to keep the run short.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from common import (
    SyncBench,
    emit,
    first_sync_weeks,
    log,
    machine,
    materialize_command,
)

EARLIER_TOOL_FIRST_SYNC = 128
FIRST_ACCOUNT = 73000001


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", default="1,4,10",
                        help="comma-separated listing counts, one host each (default 1,4,10)")
    args = parser.parse_args()
    counts = [int(count) for count in args.listings.split(",")]
    accounts = {str(FIRST_ACCOUNT + index): count for index, count in enumerate(counts)}
    hosts: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="airbnb-sync-bench-") as folder:
        bench = SyncBench(Path(folder), None, latency_ms=0.0, min_request_interval=0.0,
                          accounts=accounts)
        try:
            first, last = first_sync_weeks()
            for account, listings in accounts.items():
                log(f"first sync of a host with {listings} listing(s), {first}..{last}")
                [outcome] = bench.run_all({account: materialize_command(account, first, last)})
                if outcome.exit_code != 0:
                    raise SystemExit(f"the run failed (exit code {outcome.exit_code}):\n"
                                     f"{outcome.output_tail}")
                entry = bench.simulator.stats()["accounts"][account]
                hosts.append({
                    "listings": listings,
                    "requests": entry["requests"],
                    "requests_per_listing": round(entry["requests"] / listings, 2),
                    "by_operation": entry["by_operation"],
                    "by_status": entry["by_status"],
                })
        finally:
            bench.close()
    emit({
        "benchmark": "first_sync_requests",
        "weeks": (last - first).days // 7 + 1,
        "first_week": first.isoformat(),
        "last_week": last.isoformat(),
        "hosts": hosts,
        "earlier_tool_requests_per_listing": EARLIER_TOOL_FIRST_SYNC,
        "machine": machine(),
    })


if __name__ == "__main__":
    main()
