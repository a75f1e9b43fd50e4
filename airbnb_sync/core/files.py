"""Files and folders that hold secrets or state: created readable by their owner only, and
refused at once, in one line, when they cannot be created.

The warehouse, the key file and Dagster's storage hold sessions and business data, so they are
created 0600 in 0700 folders whatever the umask says. A folder that cannot be written (read
only, a file in the way, no permission) must fail at the first attempt with the path and the
reason: `filelock` would otherwise treat some of these errors as a lock held by someone else
and wait for its whole timeout before reporting a misleading "timeout".
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from airbnb_sync.core.settings import SettingsError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


class UnusablePath(SettingsError):
    """A file or folder airbnb-sync must create or open cannot be (bad input, exit 2)."""


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def kind_of(path: Path, what: str) -> str:
    """"folder", "file" (anything else that is there) or "missing". Unlike Path.exists(), a
    path the system refuses to look at (name too long, no permission) is an UnusablePath."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "file" if path.is_symlink() else "missing"
    except OSError as exc:
        raise UnusablePath(f"cannot use {what} {path} ({_reason(exc)}): choose another "
                           "path") from None
    return "folder" if stat.S_ISDIR(mode) else "file"


def private_dir(path: Path, what: str) -> Path:
    """Create `path` (and missing parents) 0700 if it is not there; it must be a folder."""
    kind = kind_of(path, what)
    if kind == "folder":
        return path
    if kind == "file":
        raise UnusablePath(f"{what} {path} is not a folder: remove what is there, or point "
                           "the setting at a folder")
    try:
        with owner_only():
            path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    except OSError as exc:
        raise UnusablePath(f"cannot create {what} {path} ({_reason(exc)}): choose a folder you "
                           "can write to, or fix its permissions") from None
    return path


def private_file(path: Path, what: str) -> Path:
    """Create `path` empty and 0600 if it is not there (an empty file is a new SQLite
    database), so that it is never readable by others, even for an instant."""
    private_dir(path.parent, f"the folder of {what}")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path
    except OSError as exc:
        raise UnusablePath(f"cannot create {what} {path} ({_reason(exc)}): choose a folder you "
                           "can write to, or fix its permissions") from None
    os.close(descriptor)
    return path


def usable_lock_file(path: Path, what: str) -> Path:
    """Make sure the lock file can be created and opened for writing, before anyone waits on
    it: a lock held by another process is worth waiting for, a folder we cannot write is not."""
    private_dir(path.parent, f"the folder of {what}")
    if kind_of(path, f"the lock file of {what}") == "folder":
        raise UnusablePath(f"the lock file of {what}, {path}, is a folder: remove it")
    try:
        # O_NOFOLLOW as filelock opens it: a symlink in the lock's place is refused here too.
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)
    except OSError as exc:
        raise UnusablePath(f"cannot create the lock file of {what}, {path} ({_reason(exc)}): "
                           "its folder must be writable by this user") from None
    os.close(descriptor)
    return path


def private_process() -> None:
    """From now on, files and folders this process (and the processes it starts) creates are
    the owner's only: what Dagster writes (per-run event databases, compute logs) and what we
    write, whatever umask the process was started with. For processes that exist to run
    airbnb-sync's Dagster code (the local storage and the code location call it)."""
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


# Dagster's folders under DAGSTER_HOME: run and event databases, schedules, compute logs.
DAGSTER_FOLDERS = ("history", "history/runs", "schedules", "storage")


def close_dagster_home(home: Path) -> None:
    """Close DAGSTER_HOME's Dagster folders to others. Dagster's own storage creates its
    databases before any code of ours runs in a process, with the process's umask; once the
    folders are the owner's only, nobody else can open what is inside, whatever its mode."""
    for folder in ("", *DAGSTER_FOLDERS):
        tighten(home / folder)


def tighten(path: Path) -> bool:
    """Take group's and others' permissions off `path` itself (0755 becomes 0700, 0644
    0600; the owner's bits stay as they are). A symlink is left alone, never followed: the file
    is opened with O_NOFOLLOW and changed through its descriptor; anything but a file or a folder
    (a device, a FIFO) is never even opened. True when changed."""
    try:
        if not (stat.S_ISDIR(mode := path.lstat().st_mode) or stat.S_ISREG(mode)):
            return False
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except (FileNotFoundError, PermissionError):
        return False
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink
            return False
        raise
    try:
        info = os.fstat(descriptor)
        if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
            return False
        wanted = stat.S_IMODE(info.st_mode) & ~PRIVATE_UMASK
        if stat.S_IMODE(info.st_mode) == wanted:
            return False
        os.fchmod(descriptor, wanted)
        return True
    finally:
        os.close(descriptor)


def tighten_tree(root: Path) -> int:
    """`tighten` `root` and everything below it, without following links (a link planted in
    the tree cannot make us change a file elsewhere). Returns how many were changed."""
    changed = int(tighten(root))
    if not root.is_dir() or root.is_symlink():
        return changed
    for folder, folders, files in os.walk(root, followlinks=False):
        for name in (*folders, *files):
            changed += tighten(Path(folder) / name)
    return changed


@contextlib.contextmanager
def owner_only() -> Iterator[None]:
    """Within the block, files and folders this process (and its children) create are the
    owner's only. The umask is process-wide: use it around creation, in a command's process."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)
