"""A step process dies with its run's process, so that nothing keeps talking to Airbnb.

Dagster's multiprocess executor (which run config may still pick) runs each step in a child
process that nothing ties to the run's process: after a SIGKILL of `dagster asset
materialize` the child, reparented to init, would go on fetching and writing to the end of
its step. Linux's `prctl(PR_SET_PDEATHSIG)` asks the kernel to kill the child when its parent
dies. It was chosen over a thread that polls the parent: the kernel acts at once and for
certain, even while the step blocks in a request, and nothing polls. It is hand-written with
ctypes because the standard library has no binding and no dependency is needed for one call.
SIGKILL is safe here: the account's lease and any open transaction die with the connection.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_run_process() -> bool:
    """In a step child process (started by multiprocessing), have the kernel kill it when its
    parent, the run's process, dies; if the parent is already gone, exit now. Returns whether
    the tie was made (False in the run's own process, and off Linux)."""
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent.pid:  # it died before the tie was made
        os.kill(os.getpid(), signal.SIGKILL)
    return True
