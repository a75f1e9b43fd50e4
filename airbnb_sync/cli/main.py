"""The `airbnb-sync` entry point: builds the parser from the command groups, loads the
settings once, configures logging with them, and runs the command's handler.

A new command is a module of this package with a `COMMAND` (cli/common.py's `Command`)
and one more entry in `COMMANDS`. Command modules import their heavy dependencies when they
run, so one command's dependencies never slow down or break the others.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from airbnb_sync.cli import accounts, api, db, demo, export, plan, simulator, status
from airbnb_sync.cli import report as report_command
from airbnb_sync.cli import sync as sync_command
from airbnb_sync.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Command,
    Handler,
    Parser,
    Passthrough,
    StandaloneHandler,
    report_error,
)
from airbnb_sync.cli.installation import create_installation, may_create, require_installation
from airbnb_sync.core.files import owner_only
from airbnb_sync.core.logs import configure_logging
from airbnb_sync.core.settings import Settings, load_settings

# 128 + SIGPIPE, what `ls | head -1` leaves in PIPESTATUS: the output was cut short.
EXIT_BROKEN_PIPE = 128 + 13

COMMANDS: dict[str, Command | Passthrough] = {
    "accounts": accounts.COMMAND,
    "db": db.COMMAND,
    "simulator": simulator.PASSTHROUGH,
    "demo": demo.COMMAND,
    "export": export.COMMAND,
    "status": status.COMMAND,
    "plan": plan.COMMAND,
    "report": report_command.COMMAND,
    "sync": sync_command.COMMAND,
    "api": api.COMMAND,
}


def settings_from_environment() -> Settings:
    """Load settings with DAGSTER_HOME defaulting to ./.dagster_home, exported so Dagster and
    the settings agree on it. Nothing is created here: see cli/installation.py."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").expanduser().absolute()
    os.environ["DAGSTER_HOME"] = str(home)
    return load_settings()


def _placeholder(parser: argparse.ArgumentParser) -> None:
    """Listed in the top-level help; the command's real parser is built when it runs."""
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="airbnb-sync",
                    description="Collect Airbnb host performance insights into a warehouse.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        if isinstance(command, Command) and not command.own_parser:
            command.configure(sub)
        else:
            _placeholder(sub)
    return parser


def _parse(name: str, command: Command, argv: list[str]) -> argparse.Namespace:
    parser = Parser(prog=f"airbnb-sync {name}", description=command.help)
    command.configure(parser)
    return parser.parse_args(argv)


def _run(args: argparse.Namespace) -> int:
    """The handler, with the settings loaded here and only here (a bad one exits 2)."""
    standalone: StandaloneHandler | None = args.standalone
    if standalone is not None:
        configure_logging()
        return standalone(args)
    settings = settings_from_environment()
    configure_logging(settings)
    handler: Handler = args.handler
    if may_create(args):  # accounts add, db upgrade, demo, api serve|token create: owner's only
        with owner_only():
            create_installation(settings)
            return handler(args, settings)
    require_installation(settings)  # the others read one, and never create an empty one
    return handler(args, settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it).

    A reader that stops early (`airbnb-sync accounts list | head -3`) ends the command
    quietly, with the exit status a shell gives a command killed by SIGPIPE."""
    try:
        code = _main(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # here, not at exit, where a closed pipe would print a traceback
        return code
    except BrokenPipeError:
        # Nothing more can reach the reader: later writes (and the flush at exit) go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(arguments: list[str]) -> int:
    command = COMMANDS.get(arguments[0]) if arguments else None
    try:
        if isinstance(command, Passthrough):
            configure_logging()  # it loads no settings, and must run whatever they say
            return command.run(arguments[1:])
        if isinstance(command, Command) and command.own_parser:
            return _run(_parse(arguments[0], command, arguments[1:]))
        return _run(build_parser().parse_args(arguments))
    except SystemExit as exc:  # --help, or a passthrough command's own argparse
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED if exc.code else EXIT_OK
    except Exception as exc:
        code = report_error(exc)
        if code is None:
            raise
        return code


if __name__ == "__main__":
    sys.exit(main())
