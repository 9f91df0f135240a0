"""DfuSe memory-layout strings <-> typed memory maps, and where an image falls in them.

Layer: layout. May import ``pydfuse.formats``, ``pydfuse.spec`` and ``pydfuse.errors`` only.
Pure: no I/O. ``pydfuse.plan`` and ``pydfuse.checks`` build on it.
"""

from __future__ import annotations

from pydfuse.layout.memory import (
    MemoryMap,
    MemoryRegion,
    Sector,
    SectorGroup,
    describe_rights,
    rights_letter,
)
from pydfuse.layout.parse import parse_layout
from pydfuse.layout.quirks import apply_quirks, writes_in_place

__all__ = [
    "MemoryMap",
    "MemoryRegion",
    "Sector",
    "SectorGroup",
    "apply_quirks",
    "describe_rights",
    "parse_layout",
    "rights_letter",
    "writes_in_place",
]
