"""Atomic file writing, and reading input files with one-line errors (layer: formats; imports
the standard library and pydfuse.errors only).

Output files are written to a temporary file in the destination directory and moved into place
with :func:`os.replace`, so a failure (bad input found late, disk full, Ctrl-C) never leaves a
half-written file behind and never clobbers an existing good one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from pydfuse.errors import DfuseError, FormatError

__all__ = [
    "Chunks",
    "atomic_write",
    "check_writable",
    "open_input",
    "read_file_bytes",
    "write_all",
]


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
    temp: Path | None = None
    try:
        temp = _temp_file(target, data)
        os.replace(temp, target)
    except OSError as error:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink()
        raise DfuseError(
            f"cannot write {target}: {error.strerror or error}",
            hint="check that the directory exists and is writable",
        ) from error


def _temp_file(target: Path, data: Chunks) -> Path:
    """``data`` written and synced to a temporary file beside ``target`` (mode as ``target``'s,
    else rw-r--r--); its path. Raises OSError."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, (bytes, bytearray, memoryview)):
                handle.write(data)
            else:
                for piece in data:
                    handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            mode = target.stat().st_mode & 0o7777
        except OSError:
            mode = 0o644
        os.chmod(name, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def write_all(files: list[tuple[Path, Chunks]]) -> list[bool]:
    """Write every file or none: all contents go to temporary files first, then each is moved
    into place, an existing file kept aside until all are in; on any failure the new files are
    removed and the old ones put back. Returns, per file, whether it replaced one.

    Raises :class:`~pydfuse.errors.DfuseError` naming the file that could not be written.
    """
    for target, _ in files:  # a directory in the way, a missing folder: before anything
        try:
            check_writable(target)
        except DfuseError as error:
            raise DfuseError(f"{error}; nothing was written", hint=error.hint) from None
    temps: list[Path] = []
    placed: list[tuple[Path, Path | None]] = []  # (target, its old file kept aside)
    current = files[0][0] if files else Path(".")
    try:
        for current, data in files:
            temps.append(_temp_file(current, data))
        for (current, _), temp in zip(files, temps, strict=True):
            old: Path | None = None
            if current.exists():
                old = current.with_name(f".{current.name}.{os.getpid()}.old")
                os.replace(current, old)
            placed.append((current, old))
            os.replace(temp, current)
    except BaseException as error:
        for target, old in reversed(placed):
            with contextlib.suppress(OSError):
                if old is not None:
                    os.replace(old, target)
                elif target.exists():
                    target.unlink()
        for temp in temps:
            with contextlib.suppress(OSError):
                temp.unlink()
        if isinstance(error, OSError):
            raise DfuseError(
                f"cannot write {current}: {error.strerror or error}; nothing was written"
            ) from error
        raise
    for _, old in placed:
        if old is not None:
            with contextlib.suppress(OSError):
                old.unlink()
    return [old is not None for _, old in placed]


def read_file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The contents of ``path``; a missing or unreadable file is a one-line DfuseError."""
    with open_input(path) as file:
        try:
            return file.read()
        except OSError as error:
            raise DfuseError(f"cannot read {path}: {error.strerror or error}") from error


def open_input(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading (binary); a missing or unreadable file is a one-line
    DfuseError, as in :func:`read_file_bytes` (for files read piece by piece)."""
    try:
        return Path(path).open("rb")
    except FileNotFoundError:
        raise FormatError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise FormatError("is a directory, expected a file", path=str(path)) from None
    except OSError as error:
        raise DfuseError(f"cannot read {path}: {error.strerror or error}") from error
