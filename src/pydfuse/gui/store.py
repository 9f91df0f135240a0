"""Files the page has uploaded or built, kept in memory for the server's lifetime
(layer: gui; standard library only).

Bounded: one file may be at most ``max_file_bytes``; when the total would pass
``max_total_bytes`` the least recently used files are dropped (the page then gets a 404 for
them and asks the user to choose the file again). Thread-safe: device jobs read files from the
worker thread while requests add others.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass

from pydfuse.errors import DfuseError


class TooLarge(DfuseError):
    """An upload is larger than the server accepts."""


class UnknownFile(DfuseError, LookupError):
    """No stored file has this id (never uploaded, or dropped to make room)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One file: its id, the name the user gave it, its bytes and where it came from."""

    id: str
    name: str
    data: bytes
    origin: str = "upload"  # "upload", "built" (File panel) or "backup" (read from a device)

    @property
    def size(self) -> int:
        return len(self.data)


class FileStore:
    """Uploaded and generated files by id, least recently used dropped first."""

    def __init__(self, *, max_file_bytes: int, max_total_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max(max_total_bytes, max_file_bytes)
        self._files: OrderedDict[str, StoredFile] = OrderedDict()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, name: str, data: bytes, *, origin: str = "upload") -> StoredFile:
        """Keep ``data`` under a new id; TooLarge past ``max_file_bytes``."""
        if len(data) > self.max_file_bytes:
            raise TooLarge(
                f"{name}: {len(data)} bytes is more than this server accepts "
                f"({self.max_file_bytes} bytes)",
                hint="start dfuse gui with a larger --max-upload",
            )
        with self._lock:
            stored = StoredFile(f"f{next(self._ids)}", name, data, origin)
            self._files[stored.id] = stored
            total = sum(f.size for f in self._files.values())
            while total > self.max_total_bytes and len(self._files) > 1:
                _, dropped = self._files.popitem(last=False)
                total -= dropped.size
            return stored

    def get(self, file_id: str) -> StoredFile:
        """The file ``file_id`` (marked as recently used); UnknownFile if it is not kept."""
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None:
                raise UnknownFile(
                    f"file {file_id!r} is not on the server (it may have been dropped to make "
                    "room for newer ones)",
                    hint="choose the file again",
                )
            self._files.move_to_end(file_id)
            return stored
