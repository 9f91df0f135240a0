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
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydfuse.sim.clock import Clock
from pydfuse.sim.cortexm.result import RunResult
from pydfuse.sim.profiles import BoardProfile

if TYPE_CHECKING:
    from pydfuse.sim.board import VirtualBoard

__all__ = ["FORMAT", "load_board", "save_board"]

FORMAT = "pydfuse-virtual-board"
VERSION = 1


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


def save_board(board: VirtualBoard, path: Path) -> None:
    text = json.dumps(board_to_dict(board), indent=1, sort_keys=True)
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


def load_board(
    path: Path, *, clock: Clock | None = None, profile: BoardProfile | None = None
) -> VirtualBoard:
    """Restore a board; ``ValueError`` says what is wrong with a damaged or foreign file.

    ``profile`` replaces the registered profile of the saved name (for customised profiles).
    """
    from pydfuse.sim.board import VirtualBoard

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read virtual board state: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not a pydfuse virtual board state file")
    if doc.get("version") != VERSION:
        raise ValueError(f"{path}: unsupported state version {doc.get('version')!r}")
    try:
        chosen: BoardProfile | str = profile if profile is not None else str(doc["profile"])
        board = VirtualBoard(chosen, serial=str(doc["serial"]), clock=clock)
        for memory, sectors in zip(board.memories, doc["memories"], strict=True):
            for address, blob in sectors.items():
                memory.load(int(address, 16), zlib.decompress(base64.b64decode(blob)))
        board.dfu_pin_held = bool(doc["dfu_pin_held"])
        was_in_dfu = doc.get("running", "bootloader") == "bootloader"
        board.stay_in_dfu = bool(doc["stay_in_dfu"]) or was_in_dfu
        run = doc.get("app_run")
        if run is not None:
            board.run_cache = (str(run["digest"]), RunResult.from_dict(run["result"]))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, zlib.error) as exc:
        raise ValueError(f"{path}: damaged virtual board state ({exc})") from exc
    board.stats.enumerations = 0
    board.reset()  # power on with the restored memories and pins
    try:  # armed after the boot, so a "disconnect after N transfers" counts host requests only
        board.faults.load_dict(doc.get("faults") or {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: damaged fault list in virtual board state ({exc})") from exc
    return board
