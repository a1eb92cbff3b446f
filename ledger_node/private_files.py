"""Files that hold secrets or taxpayer data, created readable by their owner only.

Keystores, passwords, the consortium key, API-key files and a gateway's outbox (full records
and their salts) are created ``0600`` in folders created ``0700``. They are created with
those modes from the start (never written first and narrowed afterwards), so there is no
instant at which another account could open them.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def private_directory(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only; an existing folder is left as it is,
    since it may be shared on purpose (a home directory, a temporary folder)."""
    missing = []
    at = path
    while not at.exists():
        missing.append(at)
        at = at.parent
    # One level at a time: mkdir(parents=True) would give the parents the default mode.
    for folder in reversed(missing):
        folder.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
    return path


def write_private(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` as an owner-only file, replacing it atomically.

    The content goes to a new file beside it, created ``0600``, which is then renamed over
    ``path``: a reader never sees half a file, and an existing file's looser mode is not kept.
    """
    private_directory(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def create_private(path: Path) -> bool:
    """Create an empty owner-only file at ``path`` if none exists; True if it was created.

    An existing file that others may read is narrowed to ``0600``: it may hold what this
    module keeps private (an outbox made by an older version).
    """
    private_directory(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
        return False
    os.close(fd)
    return True
