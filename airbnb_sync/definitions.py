"""The code location users and scripts name: `dagster ... -m airbnb_sync.definitions`.
Importing it makes the process's new files owner-only (core/files.py `private_process`).

Everything Dagster lives in `airbnb_sync.defs`; this module only keeps the old name working.

It also freezes what is loaded so far out of Python's garbage collector (`gc.freeze`), once
before the definitions load and once after. Every process that loads the code location
(a run, the webserver, the daemon) keeps these objects (modules, classes, the definitions)
for its whole life, and each full collection walked all of them again: in a sync run,
importing Dagster, pandas and the definitions and then writing its frames and events, that
was ~0.7 s of CPU (5 full collections), ~0.3 s after. Objects are only moved, never freed.
"""

import gc

from airbnb_sync.core.files import private_process

# What a process that runs this code location creates (compute logs, reports, files of
# Dagster's instance) is the owner's only, whatever umask it was started with.
private_process()
gc.freeze()  # what loaded this module: Dagster itself, the CLI or the webserver
from airbnb_sync.defs.definitions import defs  # noqa: E402

gc.freeze()  # the definitions and what they import (pandas, Pandera, SQLAlchemy, ...)

__all__ = ["defs"]
