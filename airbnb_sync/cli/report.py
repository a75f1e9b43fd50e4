"""`airbnb-sync report [--account ID] [--from DATE --to DATE] --output FOLDER`: the insights
report's pages (index.html and one page per account), written from whichever warehouse
AIRBNB_SYNC_DATABASE_URL names, the same pages the `insights_report` asset writes.

Arguments, the output folder, the warehouse and the account are all checked before a page is
written; matplotlib is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys
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
                        help="first stay date (default: the first week with figures, at most "
                             "AIRBNB_SYNC_HORIZON_DAYS back)")
    parser.add_argument("--to", dest="date_to", type=iso_date, metavar="YYYY-MM-DD",
                        help="last stay date (default: the last one with figures, at least "
                             "the end of this week, at most AIRBNB_SYNC_HORIZON_DAYS ahead)")
    set_handler(parser, run)


COMMAND = Command("write the insights report (offline HTML pages) from the warehouse",
                  configure, own_parser=True)


def output_folder(text: str) -> Path:
    """The output folder, refused when it is a file, its parent does not exist, or pages
    cannot be written into it (read only, a pseudo-filesystem, a folder named index.html in
    it): one line, before the warehouse is read."""
    from airbnb_sync.report.build import ReportError, prepare_folder

    folder = Path(text).expanduser()
    try:
        if folder.exists() and not folder.is_dir():
            raise BadInput(f"--output {text} is a file: give a folder for index.html and the "
                           "account pages")
        if not folder.exists() and not folder.absolute().parent.is_dir():
            raise BadInput(f"--output {text}: its parent folder {folder.absolute().parent} "
                           "does not exist; create it first")
        return prepare_folder(folder)
    except OSError as exc:  # a path the system refuses to look at (too long, no permission)
        raise BadInput(f"--output {text}: cannot use it ({exc.strerror or exc}); choose a "
                       "folder you can write to") from None
    except ReportError as exc:
        raise BadInput(f"--output {text}: {exc}") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.accounts.store import validate_account_id
    from airbnb_sync.report.build import ReportError, build_report
    from airbnb_sync.report.data import ReportRange, data_days, default_range

    accounts = [validate_account_id(args.account)] if args.account is not None else None
    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise BadInput(f"--from {args.date_from} is after --to {args.date_to}: the range is "
                       "inclusive, so give --from <= --to")
    engine = open_warehouse(settings.database_url)
    check_account(engine, args.account)
    now = datetime.now(UTC)
    default = default_range(now.date(), *data_days(engine, accounts), settings.horizon_days)
    span = ReportRange(start=args.date_from or default.start, end=args.date_to or default.end,
                       today=now.date())
    if span.start > span.end:
        raise BadInput(f"the range {span.start} to {span.end} is empty: give --from and --to "
                       "with --from <= --to")
    folder = output_folder(args.output)
    try:
        result = build_report(engine, folder, span, accounts, built_at=now)
    except ReportError as exc:
        raise BadInput(str(exc)) from None
    if (skipped := result.skipped_message()) is not None:
        print(f"warning: {skipped}", file=sys.stderr)
    print(f"wrote the insights report for stay dates {span.start} to {span.end}: "
          f"{len(result.pages)} account page(s), {result.size_bytes / 1024:.0f} KiB, "
          f"in {result.seconds:.1f} s")
    print(result.index.absolute())
    return EXIT_OK
