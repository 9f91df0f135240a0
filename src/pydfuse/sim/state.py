"""Saving and restoring a virtual board (layer: sim; imports nothing outside sim).

The file is JSON: profile name, serial, pins, the 'stay in DFU' flag, what was running, the
memories and any armed faults (so ``dfuse sim fault`` can rehearse a failure for a later
command). Loading models a board that stayed powered between two host sessions: one that was in
DFU mode (e.g. after a download without leave, §7.27) comes back in DFU mode — as a fresh boot of
the bootloader, so the demo profiles report dfuERROR/errFIRMWARE again — and one that ran the
application runs it again. Memories are sparse: only sectors holding something other than 0xFF
are stored, each zlib-compressed and base64-encoded, so an 8 MB SPI flash with one sector of
data costs a few hundred bytes. Writes go to a temporary file in the same directory and are
renamed over the target (atomic on POSIX and Windows), so a crash never leaves a half-written
state file.

The application's last run on the Cortex-M core is kept too, with a digest of the memories it
ran from, so a restored board with the same contents does not run it again.

A state file is untrusted input: it may be at most :data:`MAX_STATE_BYTES`; every sector must
start at a sector of its memory and decompress to at most that sector's size (decompression is
bounded, so a small file cannot expand to gigabytes); anything else is a ``ValueError`` naming
what is wrong. Each save gets a new ``revision``, which the crash journal of
:mod:`pydfuse.sim.boardfile` refers to.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tempfile
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydfuse.sim.clock import Clock
from pydfuse.sim.cortexm.result import RunResult
from pydfuse.sim.profiles import BoardProfile

if TYPE_CHECKING:
    from pydfuse.sim.board import VirtualBoard
    from pydfuse.sim.flash import Memory

__all__ = [
    "FORMAT",
    "MAX_STATE_BYTES",
    "board_from_state",
    "load_board",
    "read_state",
    "save_board",
]

FORMAT = "pydfuse-virtual-board"
VERSION = 1
# The largest profile keeps 24.5 MB of memories; base64 of incompressible data adds a third.
MAX_STATE_BYTES = 64 * 1024 * 1024
_ADDRESS = re.compile(r"0x[0-9A-Fa-f]{1,8}")
_DAMAGE = (KeyError, TypeError, ValueError, AttributeError, IndexError, zlib.error, binascii.Error)


def board_to_dict(board: VirtualBoard) -> dict[str, Any]:
    memories = []
    for memory in board.memories:
        sectors = {
            f"0x{address:08X}": base64.b64encode(zlib.compress(data, 9)).decode("ascii")
            for address, data in memory.used_sectors()
        }
        memories.append(sectors)
    return {
        "format": FORMAT,
        "version": VERSION,
        "revision": uuid.uuid4().hex,
        "profile": board.profile.name,
        "serial": board.serial,
        "dfu_pin_held": board.dfu_pin_held,
        "stay_in_dfu": board.stay_in_dfu,
        "running": board.running,
        "memories": memories,
        "faults": board.faults.to_dict(),
        "app_run": None
        if board.run_cache is None
        else {"digest": board.run_cache[0], "result": board.run_cache[1].to_dict()},
    }


def save_board(
    board: VirtualBoard, path: Path, *, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write the board to ``path`` atomically and return the document now in the file; when it
    would only differ from ``previous`` (what the file holds) by its revision, nothing is
    written and ``previous`` is returned."""
    doc = board_to_dict(board)
    if previous is not None and {**doc, "revision": None} == {**previous, "revision": None}:
        return previous
    text = json.dumps(doc, indent=1, sort_keys=True)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return doc


def read_state(path: Path) -> dict[str, Any]:
    """The JSON document of a state file, size-bounded; ``ValueError`` if it is none."""
    try:
        size = path.stat().st_size
        if size <= MAX_STATE_BYTES:
            doc = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: JSON, UTF-8, huge numbers
        what = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ValueError(f"{path}: cannot read virtual board state: {what}") from exc
    if size > MAX_STATE_BYTES:
        raise ValueError(
            f"{path}: {size} bytes is too large for a virtual board state "
            f"(at most {MAX_STATE_BYTES // (1024 * 1024)} MiB)"
        )
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not a pydfuse virtual board state file")
    if doc.get("version") != VERSION:
        raise ValueError(f"{path}: unsupported state version {doc.get('version')!r}")
    return doc


def _sector(memory: Memory, key: object, blob: object) -> tuple[int, bytes]:
    """One stored sector: its address and contents, checked and decompressed with a bound."""
    if not isinstance(key, str) or not _ADDRESS.fullmatch(key) or not isinstance(blob, str):
        raise ValueError(f"bad sector entry {str(key)[:20]!r}")
    address = int(key, 16)
    sector = memory.sector_at(address)
    if sector is None or sector.address != address:
        raise ValueError(f"0x{address:08X} is not the start of a sector of {memory.alt.layout!r}")
    inflate = zlib.decompressobj()
    data = inflate.decompress(base64.b64decode(blob, validate=True), sector.size + 1)
    if len(data) > sector.size:
        raise ValueError(f"the sector at 0x{address:08X} expands past its {sector.size} bytes")
    if not inflate.eof:
        raise ValueError(f"the sector at 0x{address:08X} is truncated")
    return address, data


def load_board(
    path: Path, *, clock: Clock | None = None, profile: BoardProfile | None = None
) -> VirtualBoard:
    """Restore a board; ``ValueError`` says what is wrong with a damaged or foreign file.

    ``profile`` replaces the registered profile of the saved name (for customised profiles).
    """
    return board_from_state(read_state(path), path, clock=clock, profile=profile)


def board_from_state(
    doc: dict[str, Any],
    path: Path,
    *,
    clock: Clock | None = None,
    profile: BoardProfile | None = None,
    before_boot: Callable[[VirtualBoard], bool] | None = None,
) -> VirtualBoard:
    """The board of a document :func:`read_state` returned (``path`` names it in errors).

    ``before_boot`` may change the memories before the board powers on (a crash journal's
    replay); when it returns True a command was writing to the board in DFU mode, so it comes
    back in DFU mode."""
    from pydfuse.sim.board import VirtualBoard

    try:
        chosen: BoardProfile | str = profile if profile is not None else str(doc["profile"])
        serial = doc["serial"]
        if not isinstance(serial, str) or not 0 < len(serial) <= 126:
            raise ValueError(f"bad serial number {str(serial)[:20]!r}")
        board = VirtualBoard(chosen, serial=serial, clock=clock)
        for memory, sectors in zip(board.memories, doc["memories"], strict=True):
            for key, blob in sectors.items():
                memory.load(*_sector(memory, key, blob))
        board.dfu_pin_held = bool(doc["dfu_pin_held"])
        was_in_dfu = doc.get("running", "bootloader") == "bootloader"
        board.stay_in_dfu = bool(doc["stay_in_dfu"]) or was_in_dfu
        run = doc.get("app_run")
        if run is not None:
            board.run_cache = (str(run["digest"]), RunResult.from_dict(run["result"]))
    except _DAMAGE as exc:
        raise ValueError(f"{path}: damaged virtual board state ({exc})") from exc
    if before_boot is not None and before_boot(board):
        board.stay_in_dfu = True
    board.stats.enumerations = 0
    board.reset()  # power on with the restored memories and pins
    try:  # armed after the boot, so a "disconnect after N transfers" counts host requests only
        board.faults.load_dict(doc.get("faults") or {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: damaged fault list in virtual board state ({exc})") from exc
    return board
