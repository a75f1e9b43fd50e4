"""What every command of `airbnb-sync` shares: exit codes, the two expected errors, the
one-line argument parser, how a command plugs into the entry point, and the one line an
error becomes.

Exit codes are a contract (README: Syncing): 0 success, 2 bad input (one line on stderr saying
what is wrong and how to fix it, nothing changed), 1 an operation that failed (an expired
session, an unreachable database). Expected errors never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from airbnb_sync.core.settings import Settings, SettingsError
from airbnb_sync.core.text import escaped

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """Exit 2: the command line cannot be acted upon."""


class Failed(Exception):
    """Exit 1: the command was valid but the operation did not succeed."""


class Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line and lets `main` choose the exit code."""

    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{self.prog}: {message} (see `{self.prog} --help`)")


# What a parsed command line runs: `handler(args, settings)`, with the settings the entry
# point loaded once; or `standalone(args)` for the rare action that must work whatever the
# settings say (generating the key that a broken AIRBNB_SYNC_SECRET_KEY lacks).
Handler = Callable[[argparse.Namespace, Settings], int]
StandaloneHandler = Callable[[argparse.Namespace], int]


def set_handler(parser: argparse.ArgumentParser, handler: Handler) -> None:
    parser.set_defaults(handler=handler, standalone=None)


def set_standalone(parser: argparse.ArgumentParser, handler: StandaloneHandler) -> None:
    parser.set_defaults(handler=None, standalone=handler)


@dataclass(frozen=True)
class Command:
    """A top-level command: its help line and `configure(parser)`, which adds its arguments
    and sets the handler. An `own_parser` command is parsed by a parser of its own, built
    only when it runs: its errors name `airbnb-sync NAME`, and building it may import what
    other commands do not need (export's table and format choices need pyarrow)."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    own_parser: bool = False


@dataclass(frozen=True)
class Passthrough:
    """A command that gets the rest of the command line unparsed and parses it itself."""

    help: str
    run: Callable[[list[str]], int]


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def report_error(exc: Exception) -> int | None:
    """Print the one line an expected error deserves and return its exit code; None for an
    unexpected error, which the caller re-raises with its traceback."""
    from airbnb_sync.accounts.store import (
        AccountUnavailable,
        CredentialsUnreadable,
        InvalidAccountInput,
    )

    if isinstance(exc, BadInput | SettingsError | InvalidAccountInput | AccountUnavailable):
        code, message = EXIT_BAD_INPUT, str(exc)
    elif isinstance(exc, Failed | CredentialsUnreadable):
        code, message = EXIT_FAILED, str(exc)
    elif _not_a_database(exc):  # the settings point at some other file: bad input
        code, message = EXIT_BAD_INPUT, (
            f"the warehouse is not a database ({str(getattr(exc, 'orig', exc)).strip()}): "
            "point AIRBNB_SYNC_DATABASE_URL (or DAGSTER_HOME) at the warehouse, or move that "
            "file away")
    elif (reason := _database_unusable(exc)) is not None:
        code, message = EXIT_FAILED, f"cannot use the warehouse: {reason}"
    else:
        return None
    # Ids, paths and arguments come from outside: a line break or a terminal escape in one
    # must neither split the line nor act on the terminal.
    print(f"error: {escaped(message)}", file=sys.stderr)
    return code


def _database_unusable(exc: Exception) -> str | None:
    """The first line of the database's reason, when it refused or could not be reached."""
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.OperationalError):
        return str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return None


def _not_a_database(exc: Exception) -> bool:
    """The driver's plain DatabaseError, not one of its subclasses that point at a bug
    (ProgrammingError, IntegrityError): SQLite's "file is not a database"."""
    import sqlalchemy as sa

    orig = getattr(exc, "orig", None)
    return isinstance(exc, sa.exc.DatabaseError) and type(orig).__name__ == "DatabaseError"
