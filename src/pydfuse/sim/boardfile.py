"""A ``--sim-state`` file is a board on the desk: one command at a time, truthful after a crash
(layer: sim; imports sibling sim modules and the ``filelock`` package).

:func:`open_board` holds ``.FILE.lock`` (an OS file lock, released by the kernel even when the
process is killed) from loading the board to saving it, so two commands on one file run one
after the other instead of each saving over the other's work; ``on_wait`` is called once when
another command holds it.

While the board is open, every change to its memories is appended to ``.FILE.journal`` the
moment it is made (an erased sector, the bytes a write left), each record with a CRC, in one
``write`` call, so a command killed with SIGKILL or SIGTERM mid-flash leaves a file that shows
what the board holds: the sectors erased and the blocks written so far. The journal names the
revision of the state file it continues; loading replays a journal of the same revision and
ignores an older one (left when a save completed but the journal could not yet be removed).
A normal end saves the whole board (a new revision) and removes the journal.

A state file reached through a symbolic link is the link's target: its lock, journal and
saves are those of the target, so the link stays a link and both names are one board.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from pydfuse.sim.clock import Clock
from pydfuse.sim.profiles import BoardProfile
from pydfuse.sim.state import board_from_state, read_state, save_board

if TYPE_CHECKING:
    from pydfuse.sim.board import VirtualBoard

__all__ = [
    "MAX_JOURNAL_BYTES",
    "BoardNotSaved",
    "journal_path",
    "load_board_file",
    "lock_path",
    "open_board",
    "save_open_board",
]

_MAGIC = b"pydfuse-board-journal 1 "
_RECORD = struct.Struct("<cBII")  # kind (W/E), alternate, address, length
_CRC = struct.Struct("<I")
MAX_JOURNAL_BYTES = 1024 * 1024 * 1024  # far more than any command writes (40x the largest board)
_OPEN: dict[Path, _Journal] = {}  # the journals of the boards open in this process


class BoardNotSaved(OSError):
    """The board could not be written back to its state file at the end (a full disk, a
    directory made read-only or removed meanwhile); what the command did is in the journal as
    far as that could be written. ``filename`` is the state file."""


def lock_path(path: Path) -> Path:
    """``.NAME.lock`` beside the state file ``NAME`` (it stays: removing a lock file races)."""
    return path.with_name(f".{path.name}.lock")


def journal_path(path: Path) -> Path:
    """``.NAME.journal`` beside the state file ``NAME`` (there only while a command runs, or
    after one was killed)."""
    return path.with_name(f".{path.name}.journal")


@contextmanager
def open_board(
    path: Path,
    make: Callable[[], VirtualBoard],
    *,
    clock: Clock | None = None,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[VirtualBoard]:
    """The board kept in ``path`` (``make()`` when there is none yet), locked and journaled
    for as long as the ``with`` block runs, and saved at its end — also after an exception."""
    path = _target(path)
    lock = FileLock(str(lock_path(path)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait()
        lock.acquire()
    try:
        board, doc = _load(path, make, clock)
        journal = _Journal(path, doc, board)
        _OPEN[path] = journal
        try:
            yield board
        finally:
            del _OPEN[path]
            journal.close()
            _save_at_end(board, path, journal.doc)
            journal.remove()
    finally:
        lock.release()


def _save_at_end(board: VirtualBoard, path: Path, previous: dict[str, Any]) -> None:
    try:
        save_board(board, path, previous=previous)
    except OSError as error:
        raise BoardNotSaved(
            error.errno,
            f"the virtual board could not be saved ({error.strerror or error}); what this command "
            f"did is kept in {journal_path(path).name} as far as it could be written, and the "
            "next command using the file replays it",
            str(path),
        ) from error


def save_open_board(board: VirtualBoard, path: Path) -> None:
    """Save ``board`` to ``path``; if it is the board open there, the journal starts afresh
    after the save (it continues the new revision)."""
    path = _target(path)
    journal = _OPEN.get(path)
    if journal is not None and journal.board is board:
        journal.checkpoint()
    else:
        save_board(board, path)


def _target(path: Path) -> Path:
    """The file ``path`` names: symbolic links followed (a save must not replace the link)."""
    return Path(os.path.realpath(path))


def _load(
    path: Path, make: Callable[[], VirtualBoard], clock: Clock | None
) -> tuple[VirtualBoard, dict[str, Any]]:
    """The board and the document in its file, with a crashed command's journal replayed. A
    new board is saved at once, so that a journal always continues a file."""
    _remove_stale_temporaries(path)
    if not path.exists():
        board = make()
        return board, save_board(board, path)
    doc = read_state(path)
    revision = str(doc.get("revision", ""))
    board = board_from_state(
        doc, path, clock=clock, before_boot=lambda b: _replay(journal_path(path), revision, b)
    )
    return board, doc


def load_board_file(
    path: Path, *, clock: Clock | None = None, profile: BoardProfile | None = None
) -> VirtualBoard:
    """The board in ``path`` as it is now: with the journal of a command that was killed (or
    is still running) replayed. No lock is taken: for looking, not for changing."""
    path = _target(path)
    doc = read_state(path)
    revision = str(doc.get("revision", ""))
    return board_from_state(
        doc,
        path,
        clock=clock,
        profile=profile,
        before_boot=lambda b: _replay(journal_path(path), revision, b),
    )


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files of a save that a kill interrupted (sim.state writes ``.NAME.*.tmp``)."""
    directory = path.parent if str(path.parent) else Path(".")
    for stale in directory.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


class _Journal:
    """Appends every memory change of ``board`` to the journal of the state file ``state``
    until :meth:`close`."""

    def __init__(self, state: Path, doc: dict[str, Any], board: VirtualBoard) -> None:
        self.state = state
        self.doc = doc  # what the state file holds
        self.path = journal_path(state)
        self.board = board
        self.guard = threading.Lock()  # a worker thread may record while the owner closes
        header = _header(str(doc.get("revision", "")))
        continuing = self.path.exists() and _header_of(self.path, len(header)) == header
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if continuing else os.O_TRUNC)
        self.fd: int | None = os.open(self.path, flags, 0o644)
        if not continuing:
            _write_all(self.fd, header)
        for alt, memory in enumerate(board.memories):
            memory.on_change = self._recorder(alt)

    def checkpoint(self) -> None:
        """Save the whole board now and continue the journal from the new revision."""
        self.doc = save_board(self.board, self.state, previous=self.doc)
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            _write_all(self.fd, _header(str(self.doc.get("revision", ""))))

    def _recorder(self, alt: int) -> Callable[[str, int, bytes | int], None]:
        def record(kind: str, address: int, what: bytes | int) -> None:
            payload = what if isinstance(what, bytes) else b""
            length = len(what) if isinstance(what, bytes) else what
            head = _RECORD.pack(kind.encode("ascii"), alt, address, length)
            with self.guard:  # never into a closed descriptor's number (another file's now)
                if self.fd is not None:
                    _write_all(self.fd, head + payload + _CRC.pack(zlib.crc32(head + payload)))

        return record

    def close(self) -> None:
        for memory in self.board.memories:
            memory.on_change = None
        with self.guard:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _header(revision: str) -> bytes:
    return _MAGIC + revision.encode("ascii", "replace") + b"\n"


def _header_of(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        return handle.readline(size)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` (a nearly full disk may take part of it and return its length:
    the rest must follow, or the next record would land after half of this one)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _replay(path: Path, revision: str, board: VirtualBoard) -> bool:
    """Apply the records of a journal that continues ``revision`` (True if there were any);
    ValueError if it is damaged."""
    if not path.exists():
        return False
    size = path.stat().st_size
    if size > MAX_JOURNAL_BYTES:
        raise ValueError(f"{path}: the crash journal is {size} bytes, more than any board takes")
    data = path.read_bytes()
    header = _header(revision)
    if not data.startswith(header):
        return False  # a journal of an older revision: the file already holds what it says
    offset = len(header)
    replayed = False
    while offset + _RECORD.size + _CRC.size <= len(data):
        kind, alt, address, length = _RECORD.unpack_from(data, offset)
        body = length if kind == b"W" else 0
        end = offset + _RECORD.size + body
        if end + _CRC.size > len(data):
            break  # the last record was cut by the kill: it never happened as far as we know
        (crc,) = _CRC.unpack_from(data, end)
        if crc != zlib.crc32(data[offset:end]):
            raise ValueError(f"{path}: damaged crash journal record at byte {offset}")
        _apply(path, board, kind, alt, address, length, data[offset + _RECORD.size : end])
        offset = end + _CRC.size
        replayed = True
    return replayed


def _apply(
    path: Path, board: VirtualBoard, kind: bytes, alt: int, address: int, length: int, data: bytes
) -> None:
    if alt >= len(board.memories) or kind not in (b"W", b"E"):
        raise ValueError(f"{path}: crash journal record for alternate {alt} ({kind!r})")
    memory = board.memories[alt]
    if not memory.contains(address, length):
        raise ValueError(f"{path}: crash journal record outside alternate {alt}")
    memory.load(address, data if kind == b"W" else b"\xff" * length)
