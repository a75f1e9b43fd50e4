"""`airbnb-sync api ...`: serve the REST API, and manage its bearer tokens.

`api token create` prints the token alone on the last line of its output, once: only its
SHA-256 is stored (api/tokens.py), so it cannot be shown again; `list` shows everything else.
"""

from __future__ import annotations

import argparse

from airbnb_sync.cli.api_invite import configure_invite
from airbnb_sync.cli.common import EXIT_OK, BadInput, Command, print_json, set_handler
from airbnb_sync.cli.installation import creates_installation
from airbnb_sync.core.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1 to 65535)")
    return port


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="api_command", required=True, metavar="ACTION")
    serve_help = "serve the REST API under /api/v1 in the foreground"
    serve = commands.add_parser("serve", help=serve_help, description=serve_help)
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 for all)")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT,
                       help=f"port to listen on (default {DEFAULT_PORT})")
    set_handler(serve, _serve)
    # The API is a way in of its own (owners register through it): serving it, or making its
    # first token, may create the installation, as `accounts add` does.
    creates_installation(serve)

    token_help = "create, list and revoke the API's bearer tokens"
    token = commands.add_parser("token", help=token_help, description=token_help)
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create_help = ("create a token and print it, alone on the last line, once (only its hash "
                   "is stored)")
    create = actions.add_parser("create", help=create_help, description=create_help)
    create.add_argument("--name", required=True, help="a unique name for people and logs")
    create.add_argument("--account", metavar="ID",
                        help="limit the token to this account (others answer 404)")
    create.add_argument("--read-only", action="store_true",
                        help="the token can read but not change anything (writes answer 403)")
    set_handler(create, _create)
    creates_installation(create)
    list_help = "list tokens: name, scope, read-only, created, last used, revoked (never a token)"
    listing = actions.add_parser("list", help=list_help, description=list_help)
    listing.add_argument("--json", action="store_true", help="print JSON")
    set_handler(listing, _list)
    revoke_help = "revoke a token for good: it answers 401 from now on"
    revoke = actions.add_parser("revoke", help=revoke_help, description=revoke_help)
    revoke.add_argument("name", metavar="NAME")
    set_handler(revoke, _revoke)
    configure_invite(commands)


COMMAND = Command("the REST API: serve it, manage its tokens, invite owners", configure)


def _tokens(settings: Settings):  # type: ignore[no-untyped-def]
    from airbnb_sync.accounts.store import open_store
    from airbnb_sync.api.tokens import TokenStore

    return TokenStore(open_store(settings).engine)


def _check_address(host: str, port: int) -> None:
    """Refuse at once, in one line, an address this process cannot listen on (uvicorn would
    log it and exit with 1 after building the app)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        raise BadInput(f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another "
                       "--port, or a --host of this machine") from None


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from airbnb_sync.api.serve import serve

    _check_address(args.host, args.port)
    logging.getLogger("airbnb_sync.api").info(
        "serving the REST API on http://%s:%d/api/v1 (docs: /api/v1/docs)", args.host, args.port)
    serve(settings, args.host, args.port)
    return EXIT_OK


def _create(args: argparse.Namespace, settings: Settings) -> int:
    record, token = _tokens(settings).create(args.name, args.account, args.read_only)
    access = "read-only" if record.read_only else "read-write"
    print(f"created token {record.name} ({access}, {record.scope}); it is shown once, below: "
          "keep it somewhere safe, and send it as Authorization: Bearer <token>")
    print(token)
    return EXIT_OK


def _list(args: argparse.Namespace, settings: Settings) -> int:
    records = _tokens(settings).list()
    if args.json:
        print_json([record.as_dict() for record in records])
        return EXIT_OK
    if not records:
        print("no tokens; create one with `airbnb-sync api token create --name NAME`")
        return EXIT_OK

    def moment(value) -> str:  # type: ignore[no-untyped-def]
        return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")

    print(f"{'name':<24} {'scope':<28} {'read-only':<9} {'created (UTC)':<16} "
          f"{'last used (UTC)':<16} revoked (UTC)")
    for record in records:
        print(f"{record.name:<24} {record.scope:<28} {'yes' if record.read_only else 'no':<9} "
              f"{moment(record.created_at):<16} {moment(record.last_used_at):<16} "
              f"{moment(record.revoked_at)}")
    return EXIT_OK


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    record = _tokens(settings).revoke(args.name)
    print(f"token {record.name} is revoked (since {record.revoked_at:%Y-%m-%d %H:%M} UTC); "
          "requests with it answer 401")
    return EXIT_OK
