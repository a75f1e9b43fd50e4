"""Where an export goes: a file that appears only when complete, or stdout.

A file is written next to its target under a hidden temporary name and renamed over the
target at the end, so a failed or interrupted export never leaves a half file (and never
damages an earlier export of the same name).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

STDOUT = "-"


def output_problem(output: str, binary: bool, format_name: str) -> str | None:
    """Why `output` cannot receive the export (a message saying what to do), else None."""
    if output == STDOUT:
        if binary and sys.stdout.isatty():
            return (f"{format_name} is binary and stdout is a terminal: redirect stdout to a "
                    "file or a pipe, or give --output FILE")
        return None
    target = Path(output)
    if not target.name or target.is_dir():
        return f"--output {output} is a directory: give a file name, e.g. {target / 'export'}"
    if target.exists() and not target.is_file():
        return (f"--output {output} exists and is not a regular file (a device or a pipe?): "
                "use --output - for stdout, or give a file name")
    parent = target.parent
    if not parent.is_dir():
        return (f"the directory of --output {output} ({parent}) does not exist: create it "
                "first or choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot write to directory {parent}: choose another --output"
    return None


def _file_mode() -> int:
    """What `open()` would have created (0666 less the umask): mkstemp's 0600 is not that."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def open_output(output: str) -> Iterator[BinaryIO]:
    """A binary stream to `output` (a path, or - for stdout); the file is complete and in
    place when the block ends without an error, and absent when it raises."""
    if output == STDOUT:
        sys.stdout.flush()
        stream = sys.stdout.buffer
        yield stream
        stream.flush()
        return
    target = Path(output)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _file_mode())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
