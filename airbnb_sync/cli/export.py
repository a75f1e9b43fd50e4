"""`airbnb-sync export --table T --format F --output FILE|- [filters]`.

Everything that can be refused is refused before the output is created: arguments, the
output path, then the warehouse and the account. Only then do rows stream, chunk by chunk,
into a temporary file that replaces FILE at the end (or into stdout). SQLAlchemy and pyarrow
are imported when the command runs, not when another command builds its parser.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from airbnb_sync.cli.common import EXIT_OK, BadInput, Command, Failed, set_handler
from airbnb_sync.core.settings import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa

    from airbnb_sync.admin.export.source import Selection

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(text: str) -> date:
    """argparse type: a calendar day written YYYY-MM-DD, nothing looser."""
    if _ISO_DAY.fullmatch(text):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text)
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2025-06-01")


# Memory follows the chunk size (README: Performance), and the database drivers take it as
# a C int: a million rows is the most that makes sense.
MAX_CHUNK_SIZE = 1_000_000


def chunk_size(text: str) -> int:
    """argparse type: a whole number of rows, at least 1 and at most MAX_CHUNK_SIZE."""
    if text.strip().isdigit() and 1 <= int(text) <= MAX_CHUNK_SIZE:
        return int(text)
    if text.strip().isdigit() and int(text) >= 1:
        raise argparse.ArgumentTypeError(
            f"{text.strip()} rows is too many: give at most {MAX_CHUNK_SIZE} (memory follows "
            "the chunk size)")
    raise argparse.ArgumentTypeError(f"{text!r} is not a number of rows: give a whole number >= 1")


def configure(parser: argparse.ArgumentParser) -> None:
    from airbnb_sync.admin.export.formats import FORMATS
    from airbnb_sync.admin.export.stream import DEFAULT_CHUNK_SIZE
    from airbnb_sync.datasets import dataset_names, date_columns

    days = ", ".join(f"{column} of {table}" for table, column in date_columns().items())
    parser.add_argument("--table", required=True, choices=dataset_names(),
                        help="the table to export")
    parser.add_argument("--format", required=True, choices=FORMATS,
                        help="csv (with header), jsonl (one JSON object per line) or parquet")
    parser.add_argument("--output", required=True, metavar="FILE|-",
                        help="the file to write (its directory must exist; an existing file is "
                             "replaced only once the export is complete), or - for stdout")
    parser.add_argument("--account", metavar="ID", help="only this host account")
    parser.add_argument("--from", dest="date_from", type=iso_date, metavar="YYYY-MM-DD",
                        help=f"first day, inclusive ({days})")
    parser.add_argument("--to", dest="date_to", type=iso_date, metavar="YYYY-MM-DD",
                        help="last day, inclusive (same column as --from)")
    parser.add_argument("--latest", action="store_true",
                        help="only the newest snapshot (scraped_on) of each row; for "
                             "conversion_metrics and visibility_metrics")
    parser.add_argument("--chunk-size", type=chunk_size, default=DEFAULT_CHUNK_SIZE,
                        metavar="ROWS",
                        help="rows read and written at a time: memory follows it, not the size "
                             f"of the table (default {DEFAULT_CHUNK_SIZE})")
    set_handler(parser, run)


COMMAND = Command("stream a warehouse table to CSV, Parquet or JSON Lines", configure,
                  own_parser=True)


def selection_from(args: argparse.Namespace) -> Selection:
    from airbnb_sync.accounts.store import validate_account_id
    from airbnb_sync.admin.export.source import Selection, latest_view_name

    if args.account is not None:
        validate_account_id(args.account)
    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise BadInput(f"--from {args.date_from} is after --to {args.date_to}: the range is "
                       "inclusive, so give --from <= --to")
    if args.latest and latest_view_name(args.table) is None:
        raise BadInput(f"--latest picks the newest scraped_on snapshot, and {args.table} has no "
                       "snapshots (it keeps one row per listing and week, from the newest "
                       f"fetch): drop --latest for --table {args.table}")
    return Selection(args.table, args.account, args.date_from, args.date_to, args.latest)


def open_warehouse(database_url: str) -> sa.Engine:
    """The warehouse's engine, refusing a database that holds no warehouse (without creating
    an empty SQLite file on the way)."""
    import sqlalchemy as sa

    from airbnb_sync.warehouse.engine import create_warehouse_engine
    from airbnb_sync.warehouse.migrate import current_revision

    url = sa.make_url(database_url)
    path = url.database
    if url.get_backend_name() == "sqlite" and path and path != ":memory:" \
            and not path.startswith("file:") and not Path(path).expanduser().is_file():
        raise Failed(f"there is no warehouse at {path}: sync some weeks first, or point "
                     "AIRBNB_SYNC_DATABASE_URL at your warehouse")
    engine = create_warehouse_engine(database_url)
    if current_revision(engine) is None:
        raise Failed(f"the warehouse {url.render_as_string(hide_password=True)} has no tables "
                     "yet: run `airbnb-sync db upgrade`, or sync some weeks first")
    return engine


def check_account(engine: sa.Engine, account_id: str | None) -> None:
    import sqlalchemy as sa

    from airbnb_sync.warehouse.tables import accounts

    if account_id is None:
        return
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(accounts.c.account_id).where(accounts.c.account_id == account_id)
        ).first()
    if found is None:
        raise BadInput(f"account {account_id} is not in the warehouse: see `airbnb-sync accounts "
                       "list` for the registered accounts")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.admin.export.destination import STDOUT, open_output, output_problem
    from airbnb_sync.admin.export.formats import BINARY_FORMATS
    from airbnb_sync.admin.export.stream import export

    selection = selection_from(args)
    problem = output_problem(args.output, args.format in BINARY_FORMATS, args.format)
    if problem is not None:
        raise BadInput(problem)
    engine = open_warehouse(settings.database_url)
    check_account(engine, selection.account_id)
    try:
        with open_output(args.output) as sink:
            result = export(engine, selection, args.format, sink, args.chunk_size)
    except BrokenPipeError:
        _silence_stdout()
        raise Failed("stdout was closed before the export finished (by `head`?): the output "
                     "is incomplete") from None
    where = "stdout" if args.output == STDOUT else args.output
    rows = "1 row" if result.rows == 1 else f"{result.rows} rows"
    print(f"exported {rows} of {selection.table}{selection.describe()} to {where} "
          f"({args.format})", file=sys.stderr)
    return EXIT_OK


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush of a closed pipe does
    not print a second error."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
