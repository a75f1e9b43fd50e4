"""`airbnb-sync api invite [--account ID | --new] [--expires 7d]`: a one-time link for an owner.

The owner opens it, pastes their browser's "Copy as cURL" and submits; the API stores the
session as `accounts update --from-curl` (with --account: the paste must be that account's
user) or registers the account as `accounts add --from-curl` (--new). The link is printed
alone on the last line, once: only its token's SHA-256 is stored (api/invites.py).
"""

from __future__ import annotations

import argparse

from airbnb_sync.cli.common import EXIT_OK, set_handler
from airbnb_sync.core.settings import Settings


def configure_invite(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    invite_help = ("print a one-time link to a page where an owner pastes their browser's "
                   "Copy as cURL: it refreshes an account's session (--account) or registers "
                   "a new account (--new)")
    invite = commands.add_parser("invite", help=invite_help, description=invite_help)
    target = invite.add_mutually_exclusive_group(required=True)
    target.add_argument("--account", metavar="ID",
                        help="the account whose session the link refreshes; the paste must be "
                             "that Airbnb user's")
    target.add_argument("--new", action="store_true",
                        help="the link registers the account of whoever pastes")
    invite.add_argument("--expires", default="7d", metavar="DURATION",
                        help="how long the link works: 7d (default), 12h, 90m; at most 30d")
    invite.add_argument("--label", metavar="TEXT",
                        help="a name for people, shown on the page (with --new: the new "
                             "account's label)")
    set_handler(invite, _invite)


def _invite(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.accounts.store import open_store, validate_account_id, validate_label
    from airbnb_sync.api.invites import InviteStore, invite_url, parse_expiry

    expires_in = parse_expiry(args.expires)
    if args.account is not None:
        validate_account_id(args.account)
    if args.label is not None:
        validate_label(args.label)
    store = open_store(settings)
    if args.account is not None:
        store.get(args.account)  # an unknown account fails here, before a link exists
    invite, token = InviteStore(store.engine).create(args.account, expires_in, args.label)
    what = (f"refreshes the Airbnb session of account {args.account}" if args.account
            else "registers the Airbnb host account of whoever uses it")
    print(f"invite link created: it {what}, works once, and expires "
          f"{invite.expires_at:%Y-%m-%d %H:%M} UTC. It is shown once, below; send it to the "
          "owner (the part after # is the key: share it privately)")
    print(invite_url(settings.api_url, token))
    return EXIT_OK
