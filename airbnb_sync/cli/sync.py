"""`airbnb-sync sync ACCOUNT [--weeks N | --from DATE --to DATE] [--dry-run]`.

A host syncs weeks without typing a partition key: the request is checked and turned into a
week range in plain Python (`sync/ranges.py`, one line and exit 2 for a bad one), then run as
the daily schedule's run would be (`instance/launch.py`: through the run queue when a daemon
serves the installation, else in this process). Exit 0 when the run succeeded, 1 when it
failed or was canceled.
"""

from __future__ import annotations

import argparse
import sys
import time

from airbnb_sync.cli.common import EXIT_FAILED, EXIT_OK, BadInput, Command, set_handler
from airbnb_sync.core.settings import Settings

EXIT_INTERRUPTED = 128 + 2  # as a shell reports a command ended by Ctrl-C (SIGINT)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("account", metavar="ACCOUNT",
                        help="the host's account id (see `airbnb-sync accounts list`)")
    parser.add_argument("--weeks", type=int, metavar="N",
                        help="the last N weeks, ending with the current week (UTC)")
    parser.add_argument("--from", dest="first_day", metavar="DATE",
                        help="first day (YYYY-MM-DD); its whole week is synced")
    parser.add_argument("--to", dest="last_day", metavar="DATE",
                        help="last day (YYYY-MM-DD); its whole week is synced")
    parser.add_argument("--dry-run", action="store_true",
                        help="fetch, parse and validate, but change nothing "
                             "(as AIRBNB_SYNC_DRY_RUN=1)")
    set_handler(parser, run)


COMMAND = Command("sync weeks of one account now, as the daily schedule would (without a range: "
                  "the weeks it refreshes daily)", configure)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.accounts.store import open_store
    from airbnb_sync.sync.ranges import SyncRequestError, resolve_sync_range

    try:
        sync_range = resolve_sync_range(settings, open_store(settings), args.account,
                                        weeks=args.weeks, first_day=args.first_day,
                                        last_day=args.last_day)
    except SyncRequestError as exc:
        raise BadInput(str(exc)) from None

    from airbnb_sync.instance.launch import launch_sync

    dry = " (dry run)" if args.dry_run or settings.dry_run else ""
    print(f"syncing {sync_range}{dry}", flush=True)
    started = time.monotonic()
    try:
        outcome = launch_sync(settings, sync_range, _progress, dry_run=args.dry_run)
    except KeyboardInterrupt:
        print(f"error: interrupted: the sync of {sync_range} did not finish here (the "
              f"Dagster UI shows its run: {settings.dagster_url}/runs)", file=sys.stderr)
        return EXIT_INTERRUPTED
    took = f"{time.monotonic() - started:.1f} s"
    if outcome.succeeded:
        print(f"synced {sync_range}{dry} in {took}: run {outcome.run_id} succeeded", flush=True)
        return EXIT_OK
    print(f"error: the sync of {sync_range} failed after {took}: run {outcome.run_id} "
          f"{outcome.status.value.lower()}: {outcome.failure} (the run in the Dagster UI: "
          f"{settings.dagster_url}/runs/{outcome.run_id})",
          file=sys.stderr, flush=True)
    return EXIT_FAILED


def _progress(line: str) -> None:
    print(line, flush=True)
