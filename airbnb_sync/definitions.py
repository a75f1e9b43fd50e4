"""The code location users and scripts name: `dagster ... -m airbnb_sync.definitions`.

Everything Dagster lives in `airbnb_sync.defs`; this module only keeps the old name working.

It also freezes what is loaded so far out of Python's garbage collector (`gc.freeze`), once
before the definitions load and once after. Every process that loads the code location
(a run, the webserver, the daemon) keeps these objects (modules, classes, the definitions)
for its whole life, and each full collection of a run walked all of them again (its CPU
cost: README, Performance). Objects are only moved, never freed.
"""

import gc

gc.freeze()  # what loaded this module: Dagster itself, the CLI or the webserver
from airbnb_sync.defs.definitions import defs  # noqa: E402

gc.freeze()  # the definitions and what they import (pandas, Pandera, SQLAlchemy, ...)

__all__ = ["defs"]
