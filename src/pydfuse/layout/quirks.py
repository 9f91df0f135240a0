"""Known lies in device layout strings, corrected before planning (§3.1, §3.2, §7 item 5).

Layer: layout. May import sibling layout modules, ``pydfuse.spec`` and ``pydfuse.errors``.

Several ST ROM bootloaders mark memories ``g`` (read/erase/write) that cannot be erased by page:
dfu-util forces type ``e`` for "Device Feature" (§3.1); OTP memory is one-time programmable by
definition; option bytes are written in place without a separate erase (§3.2: "``e`` option
bytes / RAM-like areas"). :func:`apply_quirks` drops the erase right of those memories so that a
plan writes them without an erase command, which such devices refuse.
"""

from __future__ import annotations

from pydfuse.layout.memory import MemoryMap, MemoryRegion, Sector
from pydfuse.spec import MemoryRights

# Memory-name prefixes (case-insensitive, after stripping) written without erase.
WRITE_IN_PLACE_NAMES = ("device feature", "otp", "option bytes")


def writes_in_place(memory: MemoryMap) -> bool:
    """True for memories that take writes without an erase whatever their letters say."""
    return memory.label.lower().startswith(WRITE_IN_PLACE_NAMES)


def apply_quirks(memory: MemoryMap) -> MemoryMap:
    """``memory`` with the corrections of the module docstring (the same object when none
    applies)."""
    if not writes_in_place(memory) or not any(s.erasable for s in memory.sectors):
        return memory
    regions = tuple(
        MemoryRegion(
            region.address,
            tuple(
                Sector(s.address, s.size, s.rights & ~MemoryRights.ERASABLE) for s in region.sectors
            ),
            region.group_counts,
        )
        for region in memory.regions
    )
    return MemoryMap(memory.name, regions, notes=memory.notes)
