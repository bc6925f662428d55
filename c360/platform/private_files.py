"""Files and directories that hold customer data or secrets are private to the
user running c360: directories 0700, files 0600, whatever the umask says.

The database file is created here before SQLite opens it, because SQLite gives
its ``-wal`` and ``-shm`` files the database file's permissions; the search
index's files sit inside a private directory. A directory or file that already
exists and is open to others is narrowed, since the data inside it is the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner can enter (created with parents)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
    _narrow(path, DIRECTORY_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only its owner can read, created empty if missing;
    its directory made private too."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _narrow(path, FILE_MODE)
    return path


def _narrow(path: Path, mode: int) -> None:
    """Take group and other permissions away from ``path`` if it has any (and
    belongs to this user: someone else's directory is left to its owner)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.getuid():
        path.chmod(stat.S_IMODE(info.st_mode) & mode)
        log.info("made %s private (mode %o)", path, stat.S_IMODE(info.st_mode) & mode)


def close_key_file(path: Path, what: str) -> None:
    """Make a key file that group or others could read 0600, with a warning
    naming ``what`` it holds: its secret may have been read already."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s %s was readable by others (mode %o); now 0600", what, path, mode)
        path.chmod(FILE_MODE)


__all__ = ["DIRECTORY_MODE", "FILE_MODE", "close_key_file", "private_dir", "private_file"]
