"""The `airbnb-sync` command: accounts, the warehouse schema, the simulator, the demo.

Exit codes are a contract (DESIGN.md §5): 0 success, 2 bad input (one line on stderr saying
what is wrong and how to fix it, nothing changed), 1 an operation that failed (an expired
session, an unreachable database). Expected errors never print a traceback.

A new command is one more entry in `COMMANDS`: either a `configure_*` function that adds
its arguments and sets a `handler(args) -> int`, or a module with `add_arguments(parser)` and
`run(args) -> int` that is imported only when the command runs (like `demo`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from airbnb_sync.core.logs import configure_logging
from airbnb_sync.core.settings import Settings, SettingsError, load_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
MAX_COOKIE_BYTES = 1 << 20
# `check` waits this long for a running sync of the same account to release its lease.
CHECK_LEASE_TIMEOUT = 120.0


class BadInput(Exception):
    """Exit 2: the command line cannot be acted upon."""


class Failed(Exception):
    """Exit 1: the command was valid but the operation did not succeed."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line and lets `main` choose the exit code."""

    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{self.prog}: {message} (see `{self.prog} --help`)")


Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]


# --- shared helpers ---------------------------------------------------------------------


def settings_from_environment() -> Settings:
    """Load settings with DAGSTER_HOME defaulting to ./.dagster_home (created), exported so
    Dagster and the settings agree on it."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").expanduser().absolute()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return load_settings()


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def _read_cookie_text(source: str) -> str:
    if source == "-":
        text = sys.stdin.read(MAX_COOKIE_BYTES + 1)
    else:
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read(MAX_COOKIE_BYTES + 1)
        except OSError as exc:
            raise BadInput(f"cannot read --cookie-file {source}: {exc.strerror or exc}; give a "
                           "file holding the Cookie header, or - to read it from stdin") from None
        except UnicodeDecodeError:
            raise BadInput(f"--cookie-file {source} is not UTF-8 text: save the Cookie header "
                           "as plain text") from None
    if len(text) > MAX_COOKIE_BYTES:
        raise BadInput(f"--cookie-file {source} is larger than {MAX_COOKIE_BYTES} bytes: give only "
                       "the Cookie header of one request")
    return text


# --- accounts ---------------------------------------------------------------------------


def configure_accounts(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="accounts_command", required=True, metavar="ACTION")

    def action(name: str, handler: Handler, help_text: str,
               with_id: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if with_id:
            sub.add_argument("account_id", metavar="ID", help="the host's Airbnb user id")
        sub.set_defaults(handler=handler)
        return sub

    add = action("add", _accounts_add, "register a host account", with_id=False)
    add.add_argument("--account-id", required=True, help="the host's Airbnb user id (digits)")
    _credential_arguments(add, required=True)
    _detail_arguments(add)

    update = action("update", _accounts_update,
                    "change an account's session or details (a new session resets its auth "
                    "status to 'unknown' until `check` or the next sync confirms it)")
    _credential_arguments(update, required=False)
    _detail_arguments(update, clearable=True)

    listing = action("list", _accounts_list, "list accounts (never shows credentials)",
                     with_id=False)
    listing.add_argument("--all", action="store_true", help="include soft-deleted accounts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = action("show", _accounts_show, "show one account, with a fingerprint of its session")
    show.add_argument("--json", action="store_true", help="print JSON")
    action("activate", _accounts_activate, "sync this account again (also undoes a delete)")
    action("deactivate", _accounts_deactivate, "stop syncing this account, keep everything")
    delete = action("delete", _accounts_delete,
                    "soft-delete (stop syncing, keep data); --purge --yes removes it for good")
    delete.add_argument("--purge", action="store_true",
                        help="remove the account and all its stored metrics")
    delete.add_argument("--yes", action="store_true", help="confirm --purge")
    action("check", _accounts_check,
           "test the stored session with one cheap request and record ok/expired")
    action("rotate-key", _accounts_rotate_key,
           "re-encrypt every account with the first key of AIRBNB_SYNC_SECRET_KEY", with_id=False)
    action("generate-key", _accounts_generate_key,
           "print a new Fernet key for AIRBNB_SYNC_SECRET_KEY", with_id=False)


def _credential_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--cookie-file", required=required, metavar="FILE",
                        help="file with the Cookie header (or a JSON cookie export) of a request "
                             "to airbnb.com/api/v3/; - reads stdin")
    parser.add_argument("--x-client-version", required=required, metavar="V",
                        help="the X-Client-Version header of the same request (40 hex digits)")
    parser.add_argument("--user-agent", required=required, metavar="UA",
                        help="the browser's User-Agent header")


def _detail_arguments(parser: argparse.ArgumentParser, clearable: bool = False) -> None:
    suffix = " ('' clears it)" if clearable else ""
    parser.add_argument("--customer-id", metavar="UUID",
                        help=f"your own customer id for this host{suffix}")
    parser.add_argument("--label", metavar="TEXT", help=f"a name for people{suffix}")


def _store(settings: Settings | None = None) -> Any:
    from airbnb_sync.accounts.store import open_store

    return open_store(settings or settings_from_environment())


def _validate(args: argparse.Namespace, cookie_text: str | None) -> None:
    """Refuse bad input before the warehouse is opened (and possibly created or migrated)."""
    from airbnb_sync.accounts.store import validate_account_input

    validate_account_input(args.account_id, cookie_text=cookie_text,
                           x_client_version=args.x_client_version, user_agent=args.user_agent,
                           customer_id=args.customer_id, label=args.label)


def _accounts_add(args: argparse.Namespace) -> int:
    settings = settings_from_environment()
    cookie_text = _read_cookie_text(args.cookie_file)
    _validate(args, cookie_text)
    store = _store(settings)
    record = store.add(args.account_id, cookie_text, args.x_client_version, args.user_agent,
                       customer_id=args.customer_id, label=args.label)
    print(f"added account {record.account_id}{_label(record)}; auth status is 'unknown' until "
          f"`airbnb-sync accounts check {record.account_id}` or the next sync")
    _register_partition(record.account_id)
    return EXIT_OK


def _accounts_update(args: argparse.Namespace) -> int:
    settings = settings_from_environment()
    cookie_text = None if args.cookie_file is None else _read_cookie_text(args.cookie_file)
    _validate(args, cookie_text)
    record = _store(settings).update(
        args.account_id, cookie_text=cookie_text, x_client_version=args.x_client_version,
        user_agent=args.user_agent, customer_id=args.customer_id, label=args.label,
    )
    print(f"updated account {record.account_id}{_label(record)}; auth status: "
          f"{record.auth_status}")
    return EXIT_OK


def _accounts_list(args: argparse.Namespace) -> int:
    records = _store().list(include_deleted=args.all)
    if args.json:
        _print_json([record.as_dict() for record in records])
        return EXIT_OK
    if not records:
        print("no accounts; register one with `airbnb-sync accounts add`")
        return EXIT_OK
    print(f"{'account':<20} {'state':<11} {'auth':<8} {'last sync (UTC)':<17} "
          f"{'customer':<36} label")
    for record in records:
        last_sync = record.last_sync_at.strftime("%Y-%m-%d %H:%M") if record.last_sync_at else "-"
        print(f"{record.account_id:<20} {_state(record):<11} {record.auth_status:<8} "
              f"{last_sync:<17} {record.customer_id or '-':<36} {record.label or ''}")
    return EXIT_OK


def _accounts_show(args: argparse.Namespace) -> int:
    from airbnb_sync.accounts.store import CredentialsUnreadable

    store = _store()
    record = store.get(args.account_id)
    details: dict[str, Any] = {**record.as_dict(), "state": _state(record)}
    try:
        summary = store.credentials_summary(args.account_id)
        details.update(cookies=f"{summary.cookie_count} (sha256 {summary.cookie_sha256_prefix})",
                       x_client_version=summary.x_client_version, user_agent=summary.user_agent)
    except CredentialsUnreadable:
        details["cookies"] = "unreadable with the configured keys"
    if args.json:
        _print_json(details)
    else:
        for name, value in details.items():
            print(f"{name + ':':<18} {'-' if value is None else value}")
    return EXIT_OK


def _accounts_activate(args: argparse.Namespace) -> int:
    record = _store().activate(args.account_id)
    print(f"account {record.account_id} is active")
    _register_partition(record.account_id)
    return EXIT_OK


def _accounts_deactivate(args: argparse.Namespace) -> int:
    record = _store().deactivate(args.account_id)
    print(f"account {record.account_id} is inactive: it is not synced until "
          f"`airbnb-sync accounts activate {record.account_id}`")
    return EXIT_OK


def _accounts_delete(args: argparse.Namespace) -> int:
    from airbnb_sync.accounts.store import validate_account_id

    validate_account_id(args.account_id)
    if args.purge and not args.yes:
        raise BadInput(f"--purge removes account {args.account_id} and all its stored metrics for "
                       "good: add --yes to confirm, or drop --purge to only soft-delete it")
    if args.yes and not args.purge:
        raise BadInput("--yes only confirms --purge: a plain delete is a soft delete and needs "
                       "no confirmation")
    store = _store()
    if not args.purge:
        store.soft_delete(args.account_id)
        print(f"account {args.account_id} is deleted (soft: its data is kept; "
              f"`airbnb-sync accounts activate {args.account_id}` restores it)")
        return EXIT_OK
    removed = store.purge(args.account_id)
    summary = ", ".join(f"{count} {table}" for table, count in removed.items() if count)
    print(f"account {args.account_id} purged (removed {summary or 'no stored rows'})")
    _remove_partition(args.account_id)
    return EXIT_OK


def _accounts_check(args: argparse.Namespace) -> int:
    from airbnb_sync.accounts.store import validate_account_id
    from airbnb_sync.airbnb.client import AirbnbClient
    from airbnb_sync.airbnb.errors import AirbnbError, AuthExpired
    from airbnb_sync.airbnb.pacing import Pacer
    from airbnb_sync.sync.lease import DatabasePacingStore, LeaseTimeout, account_lease

    validate_account_id(args.account_id)
    settings = settings_from_environment()
    store = _store(settings)
    session = store.session(args.account_id, require_active=False)
    # Like a sync: under the account's lease, and honouring a Retry-After another run saw.
    pacer = Pacer(settings.min_request_interval, store=DatabasePacingStore(store.engine))
    try:
        with account_lease(store.engine, args.account_id, timeout=CHECK_LEASE_TIMEOUT), \
                AirbnbClient(session, settings, pacer=pacer) as client:
            client.listings_section()
    except AuthExpired as exc:
        store.set_auth_status(args.account_id, "expired")
        raise Failed(str(exc)) from None
    except (AirbnbError, LeaseTimeout) as exc:
        raise Failed(f"could not check account {args.account_id}: {exc}") from None
    store.set_auth_status(args.account_id, "ok")
    print(f"account {args.account_id}: session ok")
    return EXIT_OK


def _accounts_rotate_key(args: argparse.Namespace) -> int:
    count = _store().rotate_key()
    print(f"re-encrypted {count} accounts with the first key; keys after it can now be removed "
          "from AIRBNB_SYNC_SECRET_KEY")
    return EXIT_OK


def _accounts_generate_key(args: argparse.Namespace) -> int:
    from airbnb_sync.accounts.secrets import generate_key

    print(generate_key())
    return EXIT_OK


def _label(record: Any) -> str:
    return f" ({record.label})" if record.label else ""


def _state(record: Any) -> str:
    if record.is_deleted:
        return "deleted"
    return "active" if record.is_active else "inactive"


def _register_partition(account_id: str) -> None:
    """Add the account to Dagster's `accounts` partitions so its weeks can be synced now
    (the accounts sensor would otherwise add it on its next tick)."""
    from dagster import DagsterInstance

    from airbnb_sync.defs.partitions import ACCOUNTS

    try:
        with DagsterInstance.get() as instance:
            if not instance.has_dynamic_partition(ACCOUNTS.name, account_id):
                instance.add_dynamic_partitions(ACCOUNTS.name, [account_id])
    except Exception as exc:  # the account is stored; only Dagster's side is missing
        raise Failed(f"account {account_id} is stored, but adding it to the Dagster instance in "
                     f"DAGSTER_HOME failed ({type(exc).__name__}: {exc}); the accounts sensor "
                     "adds it on its next tick") from None


def _remove_partition(account_id: str) -> None:
    from dagster import DagsterInstance

    from airbnb_sync.defs.partitions import ACCOUNTS

    try:
        with DagsterInstance.get() as instance:
            if instance.has_dynamic_partition(ACCOUNTS.name, account_id):
                instance.delete_dynamic_partition(ACCOUNTS.name, account_id)
    except Exception as exc:
        raise Failed(f"account {account_id} is purged, but removing it from the Dagster "
                     f"instance failed ({type(exc).__name__}: {exc})") from None


# --- db ---------------------------------------------------------------------------------


def configure_db(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    commands.add_parser("upgrade", help="bring the warehouse schema to the newest migration",
                        ).set_defaults(handler=_db_upgrade)
    commands.add_parser("status", help="show the warehouse's schema revision",
                        ).set_defaults(handler=_db_status)


def _engine() -> Any:
    from airbnb_sync.warehouse.engine import create_warehouse_engine

    return create_warehouse_engine(settings_from_environment().database_url)


def _db_upgrade(args: argparse.Namespace) -> int:
    from airbnb_sync.warehouse.migrate import status, upgrade_to_head

    engine = _engine()
    upgrade_to_head(engine)
    print(status(engine))
    return EXIT_OK


def _db_status(args: argparse.Namespace) -> int:
    from airbnb_sync.warehouse.migrate import status

    print(status(_engine()))
    return EXIT_OK


# --- commands that live in their own modules ---------------------------------------------


def _run_simulator(argv: list[str]) -> int:
    from airbnb_sync.simulator import main as simulator_main

    return simulator_main(argv)


# These get the rest of the command line unparsed.
PASSTHROUGH: dict[str, Callable[[list[str]], int]] = {"simulator": _run_simulator}


def _placeholder(parser: argparse.ArgumentParser) -> None:
    """Listed in the top-level help; the real parser is built only when the command runs."""
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


@dataclass(frozen=True)
class ModuleCommand:
    """A command whose module has `add_arguments(parser)` and `run(args) -> int`; imported
    only when it runs, so one command's dependencies never break the others."""

    help: str
    module: str


COMMANDS: dict[str, Command | ModuleCommand] = {
    "accounts": Command("manage host accounts and their sessions", configure_accounts),
    "db": Command("manage the warehouse schema", configure_db),
    "simulator": Command("run the local stand-in for Airbnb's host API (--port P ...)",
                         _placeholder),
    "demo": ModuleCommand("sync demo hosts from the simulator into the embedded warehouse",
                          "airbnb_sync.cli.demo"),
    "export": ModuleCommand("stream a warehouse table to CSV, Parquet or JSON Lines",
                            "airbnb_sync.cli.export"),
    "status": ModuleCommand("per-account health for operators; exit 1 when a person must act",
                            "airbnb_sync.cli.status"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="airbnb-sync",
                     description="Collect Airbnb host performance insights into a warehouse.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        if isinstance(command, ModuleCommand):
            _placeholder(sub)
        else:
            command.configure(sub)
    return parser


def _run_module_command(name: str, command: ModuleCommand, argv: list[str]) -> int:
    module = importlib.import_module(command.module)
    parser = _Parser(prog=f"airbnb-sync {name}", description=command.help)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    configure_logging()
    from airbnb_sync.accounts.store import AccountUnavailable, InvalidAccountInput

    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments and arguments[0] in PASSTHROUGH:
            return PASSTHROUGH[arguments[0]](arguments[1:])
        command = COMMANDS.get(arguments[0]) if arguments else None
        if isinstance(command, ModuleCommand):
            return _run_module_command(arguments[0], command, arguments[1:])
        args = build_parser().parse_args(arguments)
        return args.handler(args)
    except SystemExit as exc:  # --help, or a passthrough command's own argparse
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED if exc.code else EXIT_OK
    except (BadInput, SettingsError, InvalidAccountInput, AccountUnavailable) as exc:
        _error(exc)
        return EXIT_BAD_INPUT
    except Failed as exc:
        _error(exc)
        return EXIT_FAILED
    except Exception as exc:
        message = _operational_message(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILED


def _error(exc: BaseException) -> None:
    print(f"error: {exc}", file=sys.stderr)


def _operational_message(exc: Exception) -> str | None:
    """One line for failures that are the environment's, not a bug's, else None."""
    import sqlalchemy as sa

    from airbnb_sync.accounts.store import CredentialsUnreadable

    if isinstance(exc, CredentialsUnreadable):
        return str(exc)
    if isinstance(exc, sa.exc.OperationalError):
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return f"cannot use the warehouse: {reason}"
    return None


if __name__ == "__main__":
    sys.exit(main())
