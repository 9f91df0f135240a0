"""Atomic file writing (layer: formats; imports the standard library and pydfuse.errors only).

Output files are written to a temporary file in the destination directory and moved into place
with :func:`os.replace`, so a failure (bad input found late, disk full, Ctrl-C) never leaves a
half-written file behind and never clobbers an existing good one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from pydfuse.errors import DfuseError

__all__ = ["Chunks", "atomic_write", "check_writable"]


def check_writable(path: str | os.PathLike[str], *, what: str = "write") -> None:
    """Refuse early an output path :func:`atomic_write` could not write: a directory, a missing
    or non-directory parent, a directory without write permission.

    Commands call this before slow work (reading a device, building a file), so a typo in the
    output path costs nothing. Raises :class:`~pydfuse.errors.DfuseError` naming the path.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise DfuseError(
            f"cannot {what} {target}: it is a directory", hint="give a file name, not a directory"
        )
    if not directory.is_dir():
        reason = "does not exist" if not directory.exists() else "is not a directory"
        raise DfuseError(
            f"cannot {what} {target}: directory {directory} {reason}",
            hint="create the directory first, or choose another path",
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DfuseError(
            f"cannot {what} {target}: directory {directory} is not writable",
            hint="choose a directory you can write to",
        )


Chunks = bytes | bytearray | memoryview | Iterable[bytes]
"""File contents: one bytes-like object, or pieces written one after the other (streamed, so a
large output need not be held in memory whole)."""


def atomic_write(path: str | os.PathLike[str], data: Chunks) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory + ``os.replace``).

    Raises :class:`~pydfuse.errors.DfuseError` (with the OS reason) if the file cannot be written.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        import tempfile  # on use: commands that write nothing start without it

        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise DfuseError(
            f"cannot write {target}: {error.strerror or error}",
            hint="check that the directory exists and is writable",
        ) from error
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, (bytes, bytearray, memoryview)):
                handle.write(data)
            else:
                for piece in data:
                    handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600 files: keep the mode of the file we replace, else rw-r--r--.
        try:
            mode = target.stat().st_mode & 0o7777
        except OSError:
            mode = 0o644
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(error, OSError):
            raise DfuseError(f"cannot write {target}: {error.strerror or error}") from error
        raise
