"""`airbnb-sync simulator ...`: the simulator's own command line, run in the foreground.

It parses its arguments itself and needs no settings: it stands in for Airbnb, not for
airbnb-sync.
"""

from __future__ import annotations

from airbnb_sync.cli.common import Passthrough


def run(argv: list[str]) -> int:
    from airbnb_sync.simulator import main

    return main(argv)


PASSTHROUGH = Passthrough("run the local stand-in for Airbnb's host API (--port P ...)", run)
