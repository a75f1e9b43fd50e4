"""`airbnb-sync report [--account ID] [--from DATE --to DATE] --output FOLDER`: the insights
report's pages (index.html and one page per account), written from whichever warehouse
AIRBNB_SYNC_DATABASE_URL names, the same pages the `insights_report` asset writes.

Arguments, the output folder, the warehouse and the account are all checked before a page is
written; matplotlib is imported only when the command runs.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from airbnb_sync.cli.common import EXIT_OK, BadInput, Command, set_handler
from airbnb_sync.cli.export import check_account, iso_date, open_warehouse
from airbnb_sync.core.settings import Settings


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", required=True, metavar="FOLDER",
                        help="the folder to write index.html and the account pages into "
                             "(created if missing; its parent must exist)")
    parser.add_argument("--account", metavar="ID", help="only this host account")
    parser.add_argument("--from", dest="date_from", type=iso_date, metavar="YYYY-MM-DD",
                        help="first stay date (default: the Sunday 7 weeks before this week's)")
    parser.add_argument("--to", dest="date_to", type=iso_date, metavar="YYYY-MM-DD",
                        help="last stay date (default: the last one with figures, at least "
                             "the end of this week)")
    set_handler(parser, run)


COMMAND = Command("write the insights report (offline HTML pages) from the warehouse",
                  configure, own_parser=True)


def output_folder(text: str) -> Path:
    """The output folder, refused when it is a file or its parent does not exist."""
    folder = Path(text).expanduser()
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"--output {text} is a file: give a folder for index.html and the "
                       "account pages")
    if not folder.exists() and not folder.absolute().parent.is_dir():
        raise BadInput(f"--output {text}: its parent folder {folder.absolute().parent} does "
                       "not exist; create it first")
    return folder


def run(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.accounts.store import validate_account_id
    from airbnb_sync.report.build import build_report
    from airbnb_sync.report.data import ReportRange, default_range, last_stay_date

    accounts = [validate_account_id(args.account)] if args.account is not None else None
    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise BadInput(f"--from {args.date_from} is after --to {args.date_to}: the range is "
                       "inclusive, so give --from <= --to")
    folder = output_folder(args.output)
    engine = open_warehouse(settings.database_url)
    check_account(engine, args.account)
    now = datetime.now(UTC)
    default = default_range(now.date(), last_stay_date(engine, accounts))
    span = ReportRange(start=args.date_from or default.start, end=args.date_to or default.end,
                       today=now.date())
    if span.start > span.end:
        raise BadInput(f"the range {span.start} to {span.end} is empty: give --from and --to "
                       "with --from <= --to")
    result = build_report(engine, folder, span, accounts, built_at=now)
    print(f"wrote the insights report for stay dates {span.start} to {span.end}: "
          f"{len(result.pages)} account page(s), {result.size_bytes / 1024:.0f} KiB, "
          f"in {result.seconds:.1f} s")
    print(result.index.absolute())
    return EXIT_OK
