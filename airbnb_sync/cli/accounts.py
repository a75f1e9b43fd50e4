"""`airbnb-sync accounts ...`: register host accounts and manage their sessions.

The account store (and with it SQLAlchemy and cryptography) is imported when an action
runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from airbnb_sync.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    BadInput,
    Command,
    Failed,
    Handler,
    print_json,
    set_handler,
    set_standalone,
)
from airbnb_sync.cli.installation import creates_installation
from airbnb_sync.core.settings import Settings
from airbnb_sync.core.text import escaped

if TYPE_CHECKING:
    from airbnb_sync.accounts.paste import PastedSession
    from airbnb_sync.accounts.register import Overrides
    from airbnb_sync.accounts.store import AccountRecord, AccountStore
    from airbnb_sync.airbnb.cookies import SessionCookies

MAX_COOKIE_BYTES = 1 << 20
# A HAR holds every request of the page, bodies included (accounts.register.MAX_HAR_BYTES).
MAX_HAR_BYTES = 256 << 20
# How a refusal of a paste names the flags that stand in for what it lacks.
FLAG_NAMES = {"account_id": "--account-id", "x_client_version": "--x-client-version",
              "user_agent": "--user-agent"}
# `check` waits this long for a running sync of the same account to release its lease.
CHECK_LEASE_TIMEOUT = 120.0


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="accounts_command", required=True, metavar="ACTION")

    def action(name: str, handler: Handler, help_text: str,
               with_id: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if with_id:
            sub.add_argument("account_id", metavar="ID", help="the host's Airbnb user id")
        set_handler(sub, handler)
        return sub

    add = action("add", _add, "register a host account, best from one paste (--from-curl or "
                 "--from-har)", with_id=False)
    creates_installation(add)
    add.add_argument("--account-id",
                     help="the host's Airbnb user id (digits); a paste tells it")
    _credential_arguments(add, required=False)
    _detail_arguments(add)

    update = action("update", _update,
                    "change an account's session or details (a new session resets its auth "
                    "status to 'unknown' until `check` or the next sync confirms it)")
    _credential_arguments(update, required=False)
    _detail_arguments(update, clearable=True)

    listing = action("list", _list, "list accounts (never shows credentials)", with_id=False)
    listing.add_argument("--all", action="store_true", help="include soft-deleted accounts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = action("show", _show, "show one account, with a fingerprint of its session")
    show.add_argument("--json", action="store_true", help="print JSON")
    action("activate", _activate, "sync this account again (also undoes a delete)")
    action("deactivate", _deactivate, "stop syncing this account, keep everything")
    delete = action("delete", _delete,
                    "soft-delete (stop syncing, keep data; asks first, --yes for scripts); "
                    "--purge removes it for good")
    delete.add_argument("--purge", action="store_true",
                        help="remove the account and all its stored metrics")
    delete.add_argument("--yes", action="store_true",
                        help="do not ask (needed when stdin is not a terminal)")
    action("check", _check,
           "test the stored session with one cheap request and record ok/expired")
    action("rotate-key", _rotate_key,
           "re-encrypt every account with the first key of AIRBNB_SYNC_SECRET_KEY", with_id=False)
    generate_help = "print a new Fernet key for AIRBNB_SYNC_SECRET_KEY"
    set_standalone(commands.add_parser("generate-key", help=generate_help,
                                       description=generate_help), _generate_key)


COMMAND = Command("manage host accounts and their sessions", configure)


def _credential_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--from-curl", metavar="FILE",
                        help="the browser's 'Copy as cURL (bash)' of a request to /api/v3/ on "
                             "the Insights page: cookies, User-Agent, X-Client-Version and API "
                             "key in one paste; - reads stdin")
    source.add_argument("--from-har", metavar="FILE",
                        help="a HAR export of the Network tab (Chrome: Export HAR (with "
                             "sensitive data)); its newest /api/v3/ request is used")
    source.add_argument("--cookie-file", required=required, metavar="FILE",
                        help="file with the Cookie header (or a JSON cookie export) of a request "
                             "to airbnb.com/api/v3/; - reads stdin")
    parser.add_argument("--x-client-version", required=required, metavar="V",
                        help="the X-Client-Version header of the same request (40 hex digits); "
                             "overrides a paste's")
    parser.add_argument("--user-agent", required=required, metavar="UA",
                        help="the browser's User-Agent header; overrides a paste's")


def _detail_arguments(parser: argparse.ArgumentParser, clearable: bool = False) -> None:
    suffix = " ('' clears it)" if clearable else ""
    parser.add_argument("--customer-id", metavar="UUID",
                        help=f"your own customer id for this host{suffix}")
    parser.add_argument("--label", metavar="TEXT", help=f"a name for people{suffix}")


def _read_cookie_text(source: str, option: str = "--cookie-file",
                      limit: int = MAX_COOKIE_BYTES) -> str:
    """The text of a file or of stdin (`-`), read the same way: at most `limit` bytes, which
    must be UTF-8 (a byte-order mark is dropped)."""
    where = "stdin" if source == "-" else escaped(source)
    if source == "-":
        data = _read_stdin(option, limit)
    else:
        try:
            with open(source, "rb") as handle:
                data = handle.read(limit + 1)
        except OSError as exc:
            raise BadInput(f"cannot read {option} {where}: {exc.strerror or exc}; give a "
                           "file holding what the browser copied, or - to read it from "
                           "stdin") from None
    if len(data) > limit:
        raise BadInput(f"{option} {where} is larger than {limit} bytes: give only one request "
                       "(a HAR of the Insights page alone is much smaller)")
    if isinstance(data, str):  # a text stream without bytes beneath (tests, embedding)
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{option} {where} is not UTF-8 text: save or pipe what the browser "
                       "copied as plain text") from None


def _read_paste(args: argparse.Namespace, settings: Settings) -> PastedSession | None:
    """The session of --from-curl or --from-har, None when neither is given. The paste is
    parsed in memory only: never logged, never stored as it is."""
    from airbnb_sync.accounts.register import read_paste

    if args.from_curl is not None:
        return read_paste(_read_cookie_text(args.from_curl, "--from-curl"), settings, "curl")
    if args.from_har is not None:
        if args.from_har == "-":
            raise BadInput("--from-har needs a file: save the HAR and give its path")
        return read_paste(_read_cookie_text(args.from_har, "--from-har", MAX_HAR_BYTES),
                          settings, "har")
    return None


def _overrides(args: argparse.Namespace, with_account: bool) -> Overrides:
    from airbnb_sync.accounts.register import Overrides

    names = {key: flag for key, flag in FLAG_NAMES.items()
             if with_account or key != "account_id"}
    return Overrides(args.account_id, args.x_client_version, args.user_agent, names)


def _read_stdin(option: str, limit: int) -> bytes | str:
    """The cookie or paste piped in, as bytes (decoded like a file's by the caller); Python
    leaves sys.stdin None when the process has no stdin."""
    if sys.stdin is None or sys.stdin.closed:
        raise BadInput(f"{option} - reads from stdin, but stdin is closed: pipe the text in, or "
                       "give a file")
    stream = getattr(sys.stdin, "buffer", None)
    try:
        return (stream if stream is not None else sys.stdin).read(limit + 1)
    except UnicodeDecodeError:
        raise BadInput(f"{option} stdin is not UTF-8 text: pipe what the browser copied as "
                       "plain text") from None
    except OSError as exc:
        raise BadInput(f"{option} - cannot read stdin ({exc.strerror or exc}): pipe the text in, "
                       "or give a file") from None


def _store(settings: Settings) -> AccountStore:
    from airbnb_sync.accounts.store import open_store

    return open_store(settings)


# --- add and update, also used by `airbnb-sync demo` ---------------------------------------


def _cookie_file(account_id: str, source: str) -> SessionCookies:
    """The session of --cookie-file, parsed once; the account id is checked before the
    cookie, so that a typo in it is what a refusal names."""
    from airbnb_sync.accounts.store import read_cookies, validate_account_id

    text = _read_cookie_text(source)
    return read_cookies(validate_account_id(account_id), text)


def add_account(settings: Settings, account_id: str, cookies: SessionCookies,
                x_client_version: str, user_agent: str, *, customer_id: str | None = None,
                label: str | None = None, api_key: str | None = None,
                expires: Mapping[str, datetime] | None = None) -> None:
    """Register an account and make its weeks syncable at once; bad input is refused before
    the warehouse is opened (and possibly created or migrated)."""
    from airbnb_sync.accounts.register import SessionInput, register
    from airbnb_sync.accounts.store import validate_account_input

    validate_account_input(account_id, cookies=cookies,
                           x_client_version=x_client_version, user_agent=user_agent,
                           customer_id=customer_id, label=label)
    record = register(_store(settings),
                      SessionInput(account_id, cookies, x_client_version, user_agent,
                                   api_key, dict(expires or {})),
                      customer_id=customer_id, label=label)
    print(f"added account {record.account_id}{_label(record)}; auth status is 'unknown' until "
          f"`airbnb-sync accounts check {record.account_id}` or the next sync")
    _register_partition(settings, record.account_id)


def update_account(settings: Settings, account_id: str, *,
                   cookies: SessionCookies | None = None,
                   x_client_version: str | None = None, user_agent: str | None = None,
                   customer_id: str | None = None, label: str | None = None,
                   api_key: str | None = None,
                   expires: Mapping[str, datetime] | None = None) -> None:
    """Change what is given (None keeps it); validated before the warehouse is opened."""
    from airbnb_sync.accounts.store import validate_account_input

    validate_account_input(account_id, cookies=cookies,
                           x_client_version=x_client_version, user_agent=user_agent,
                           customer_id=customer_id, label=label)
    record = _store(settings).update(
        account_id, cookies=cookies, x_client_version=x_client_version,
        user_agent=user_agent, customer_id=customer_id, label=label, api_key=api_key,
        expires=expires,
    )
    print(f"updated account {record.account_id}{_label(record)}; auth status: "
          f"{record.auth_status}")


def _add(args: argparse.Namespace, settings: Settings) -> int:
    paste = _read_paste(args, settings)
    if paste is not None:
        from airbnb_sync.accounts.register import session_input

        # Explicit flags win over what the paste says.
        session = session_input(paste, _overrides(args, with_account=True))
        add_account(settings, session.account_id, session.cookies,
                    session.x_client_version, session.user_agent,
                    customer_id=args.customer_id, label=args.label, api_key=session.api_key,
                    expires=session.expires)
        return EXIT_OK
    missing = [option for option, value in (
        ("--account-id", args.account_id), ("--cookie-file", args.cookie_file),
        ("--x-client-version", args.x_client_version), ("--user-agent", args.user_agent))
        if value is None]
    if missing:
        raise BadInput(f"give --from-curl FILE or --from-har FILE (one paste from the browser), "
                       f"or else {', '.join(missing)} too")
    add_account(settings, args.account_id, _cookie_file(args.account_id, args.cookie_file),
                args.x_client_version, args.user_agent, customer_id=args.customer_id,
                label=args.label)
    return EXIT_OK


def _update(args: argparse.Namespace, settings: Settings) -> int:
    paste = _read_paste(args, settings)
    if paste is not None:
        from airbnb_sync.accounts.register import replace_session, session_input

        session = session_input(paste, _overrides(args, with_account=False),
                                require_headers=False)
        record = replace_session(_store(settings), session, customer_id=args.customer_id,
                                 label=args.label)
        print(f"updated account {record.account_id}{_label(record)}; auth status: "
              f"{record.auth_status}")
        return EXIT_OK
    cookies = (None if args.cookie_file is None
               else _cookie_file(args.account_id, args.cookie_file))
    update_account(settings, args.account_id, cookies=cookies,
                   x_client_version=args.x_client_version, user_agent=args.user_agent,
                   customer_id=args.customer_id, label=args.label)
    return EXIT_OK


# --- the other actions -------------------------------------------------------------------


def _list(args: argparse.Namespace, settings: Settings) -> int:
    records = _store(settings).list(include_deleted=args.all)
    if args.json:
        print_json([record.as_dict() for record in records])
        return EXIT_OK
    if not records:
        print("no accounts; register one with `airbnb-sync accounts add`")
        return EXIT_OK
    from airbnb_sync.accounts.session_times import expires_in, session_age

    now = datetime.now(UTC)
    print(f"{'account':<20} {'state':<11} {'auth':<8} {'last sync (UTC)':<17} "
          f"{'session age':<11} {'rotated (UTC)':<16} {'expires in':<10} "
          f"{'customer':<36} label")
    for record in records:
        last_sync = record.last_sync_at.strftime("%Y-%m-%d %H:%M") if record.last_sync_at else "-"
        rotated = (record.session_rotated_at.strftime("%Y-%m-%d %H:%M")
                   if record.session_rotated_at else "-")
        print(f"{record.account_id:<20} {_state(record):<11} {record.auth_status:<8} "
              f"{last_sync:<17} {session_age(record, now):<11} {rotated:<16} "
              f"{expires_in(record, now):<10} {record.customer_id or '-':<36} "
              f"{record.label or ''}")
    return EXIT_OK


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.accounts.session_times import session_details
    from airbnb_sync.accounts.store import CredentialsUnreadable

    store = _store(settings)
    record = store.get(args.account_id)
    details: dict[str, object] = {**record.as_dict(), "state": _state(record),
                                  **session_details(record, datetime.now(UTC))}
    try:
        summary = store.credentials_summary(args.account_id)
        details.update(cookies=f"{summary.cookie_count} (sha256 {summary.cookie_sha256_prefix})",
                       x_client_version=summary.x_client_version, user_agent=summary.user_agent,
                       api_key="captured with the paste" if summary.has_api_key
                       else "from AIRBNB_API_KEY")
    except CredentialsUnreadable:
        details["cookies"] = "unreadable with the configured keys"
    if args.json:
        print_json(details)
    else:
        for name, value in details.items():
            print(f"{name + ':':<19} {'-' if value is None else value}")
    return EXIT_OK


def _activate(args: argparse.Namespace, settings: Settings) -> int:
    record = _store(settings).activate(args.account_id)
    print(f"account {record.account_id} is active")
    _register_partition(settings, record.account_id)
    return EXIT_OK


def _deactivate(args: argparse.Namespace, settings: Settings) -> int:
    record = _store(settings).deactivate(args.account_id)
    print(f"account {record.account_id} is inactive: it is not synced until "
          f"`airbnb-sync accounts activate {record.account_id}`")
    return EXIT_OK


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    """Asks first on a terminal; a script says --yes (without it, stdin that is not a
    terminal is refused rather than read as an answer)."""
    from airbnb_sync.accounts.store import validate_account_id

    validate_account_id(args.account_id)
    if not args.yes and not sys.stdin.isatty():
        what = (f"--purge removes account {args.account_id} and all its stored metrics for good"
                if args.purge else f"delete stops syncing account {args.account_id}")
        raise BadInput(f"{what}: add --yes to confirm (there is no terminal to ask on), or "
                       + ("drop --purge to only soft-delete it" if args.purge else
                          "run it in a terminal to be asked"))
    store = _store(settings)
    record = store.get(args.account_id)  # an unknown account is refused before asking
    if not args.yes and not _confirmed(record, args.purge):
        print(f"nothing deleted: account {args.account_id} is as it was")
        return EXIT_FAILED
    if not args.purge:
        store.soft_delete(args.account_id)
        print(f"account {args.account_id} is deleted (soft: its data is kept; "
              f"`airbnb-sync accounts activate {args.account_id}` restores it)")
        return EXIT_OK
    removed = store.purge(args.account_id)
    summary = ", ".join(f"{count} {table}" for table, count in removed.items() if count)
    print(f"account {args.account_id} purged (removed {summary or 'no stored rows'})")
    _remove_partition(settings, args.account_id)
    return EXIT_OK


def _confirmed(record: AccountRecord, purge: bool) -> bool:
    """A soft delete takes y/yes; a purge, which cannot be undone, takes the account id."""
    name = record.account_id + (f" ({record.label})" if record.label else "")
    if purge:
        question = (f"Purge account {name} and every metric stored for it, for good? "
                    f"Type its id ({record.account_id}) to confirm: ")
    else:
        question = (f"Delete account {name}? It is no longer synced; its data is kept and "
                    f"`accounts activate` restores it. [y/N] ")
    try:
        answer = input(question).strip()
    except EOFError:
        print()
        return False
    return answer == record.account_id if purge else answer.lower() in {"y", "yes"}


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.accounts.store import validate_account_id
    from airbnb_sync.airbnb.errors import AuthExpired
    from airbnb_sync.sync.session_check import CheckFailed, check_session

    validate_account_id(args.account_id)
    try:
        check_session(_store(settings), settings, args.account_id, CHECK_LEASE_TIMEOUT)
    except AuthExpired as exc:
        raise Failed(str(exc)) from None
    except CheckFailed as exc:
        raise Failed(str(exc)) from None
    print(f"account {args.account_id}: session ok")
    return EXIT_OK


def _rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    count = _store(settings).rotate_key()
    print(f"re-encrypted {count} accounts with the first key; keys after it can now be removed "
          "from AIRBNB_SYNC_SECRET_KEY")
    return EXIT_OK


def _generate_key(args: argparse.Namespace) -> int:
    from airbnb_sync.accounts.secrets import generate_key

    print(generate_key())
    return EXIT_OK


def _label(record: AccountRecord) -> str:
    return f" ({record.label})" if record.label else ""


def _state(record: AccountRecord) -> str:
    if record.is_deleted:
        return "deleted"
    return "active" if record.is_active else "inactive"


# --- Dagster's side of an account ------------------------------------------------------------


def _register_partition(settings: Settings, account_id: str) -> None:
    from airbnb_sync.instance.access import add_account_partition

    try:
        add_account_partition(settings.dagster_home, account_id)
    except Exception as exc:  # the account is stored; only Dagster's side is missing
        raise Failed(f"account {account_id} is stored, but adding it to the Dagster instance in "
                     f"DAGSTER_HOME failed ({type(exc).__name__}: {exc}); the accounts sensor "
                     "adds it on its next tick") from None


def _remove_partition(settings: Settings, account_id: str) -> None:
    from airbnb_sync.instance.access import remove_account_partition

    try:
        remove_account_partition(settings.dagster_home, account_id)
    except Exception as exc:
        raise Failed(f"account {account_id} is purged, but removing it from the Dagster "
                     f"instance failed ({type(exc).__name__}: {exc})") from None
