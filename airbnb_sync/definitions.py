"""The code location users and scripts name: `dagster ... -m airbnb_sync.definitions`.
Importing it makes the process's new files owner-only and closes Dagster's folders to others
(core/files.py `private_process`, `close_dagster_home`).

Everything Dagster lives in `airbnb_sync.defs`; this module only keeps the old name working.

It also freezes what is loaded so far out of Python's garbage collector (`gc.freeze`), once
before the definitions load and once after. Every process that loads the code location
(a run, the webserver, the daemon) keeps these objects (modules, classes, the definitions)
for its whole life, and each full collection of a run walked all of them again (its CPU
cost: README, Performance). Objects are only moved, never freed.
"""

import gc
import os
from pathlib import Path

from airbnb_sync.core.files import close_dagster_home, private_process

# What a process that runs this code location creates (compute logs, reports, files of
# Dagster's instance) is the owner's only, whatever umask it was started with; what Dagster
# created before this import sits in folders closed to others.
private_process()
if os.environ.get("DAGSTER_HOME"):
    close_dagster_home(Path(os.environ["DAGSTER_HOME"]))
gc.freeze()  # what loaded this module: Dagster itself, the CLI or the webserver
from airbnb_sync.defs.definitions import defs  # noqa: E402

gc.freeze()  # the definitions and what they import (pandas, Pandera, SQLAlchemy, ...)

__all__ = ["defs"]
