"""The data folder and the files in it (the SQLite database, its WAL and shared memory,
the development encryption key) belong to the service's user alone: created owner-only,
and tightened at start when an older run or a copy left them readable by others."""

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("gql_portal.files")

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def tighten(path: Path, allowed: int) -> None:
    """Drop every permission bit beyond ``allowed``; say so, since a wider mode means
    someone else may have read the file already."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(info.st_mode)
    if not mode & ~allowed:
        return
    if stat.S_ISDIR(info.st_mode) and mode & stat.S_ISVTX:
        # A shared sticky folder (/tmp) is not the service's to close.
        log.warning("data folder %s is shared (mode %o): use a folder of its own", path, mode)
        return
    try:
        os.chmod(path, mode & allowed)
    except PermissionError:
        log.warning("%s is readable by others (mode %o) and not ours to tighten", path, mode)
        return
    log.warning("tightened %s from mode %o to %o", path, mode, mode & allowed)


def private_dir(path: Path) -> None:
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    tighten(path, PRIVATE_DIR)


def create_private_file(path: Path) -> bool:
    """Create an empty owner-only file unless one exists; True if this call created it.
    O_EXCL: two processes starting at once must not both think they created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except (FileExistsError, FileNotFoundError):
        return False  # there already, or no folder for it: the opener reports that
    os.close(fd)
    return True
