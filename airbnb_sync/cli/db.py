"""`airbnb-sync db ...`: the warehouse schema (migrations run when an action does)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from airbnb_sync.cli.common import EXIT_OK, Command, set_handler
from airbnb_sync.cli.installation import creates_installation, tighten_installation
from airbnb_sync.core.settings import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = commands.add_parser(
        "upgrade", help="bring the warehouse schema to the newest migration (creates it) and "
             "make the installation's files readable by their owner only")
    set_handler(upgrade, _upgrade)
    creates_installation(upgrade)
    set_handler(commands.add_parser(
        "status", help="show the warehouse's schema revision"), _status)


COMMAND = Command("manage the warehouse schema", configure)


def _engine(settings: Settings) -> sa.Engine:
    from airbnb_sync.warehouse.engine import create_warehouse_engine

    return create_warehouse_engine(settings.database_url)


def _upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.warehouse.migrate import status, upgrade_to_head

    engine = _engine(settings)
    upgrade_to_head(engine)
    print(status(engine))
    if changed := tighten_installation(settings):
        print(f"tightened {changed} file(s) and folder(s) of the installation: readable by "
              "their owner only")
    return EXIT_OK


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.warehouse.migrate import status

    print(status(_engine(settings)))
    return EXIT_OK
