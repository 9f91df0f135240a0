"""Parse DfuSe memory-layout strings (iInterface text) into :class:`MemoryMap` values.

Layer: layout. May import ``pydfuse.spec``, ``pydfuse.errors`` and sibling layout modules.

Grammar: §3.1 of dfuse-spec.md. Tolerated deviations, all seen on real devices (§3.3, §3.4, §7
item 5): text after the first U+0000 (descriptor padding) is ignored; counts and sizes of any
number of digits; a space, ``B`` or nothing as the byte multiplier (``528e`` is 528 bytes of
type ``e``); groups without a count (``64Kg`` = one sector); upper-case type letters; several
``/0xADDR/`` regions in one string. Anything else raises :class:`FormatError` naming the
character position (0-based) in the string.
"""

from __future__ import annotations

import re

from pydfuse.errors import FormatError
from pydfuse.layout.memory import KIB, MIB, MemoryMap, MemoryRegion, Sector
from pydfuse.spec import MemoryRights

_GROUP = re.compile(r"(?:(\d+)\*)?(\d+)([ BKMbkm]?)([a-gA-G])")
# A bound on sectors per group so that a corrupt string cannot allocate millions of objects;
# the largest real layout (§3.3, STM32L152D) has 1488 sectors in one group.
MAX_SECTORS = 1 << 16
_MULTIPLIERS = {"": 1, " ": 1, "B": 1, "K": KIB, "M": MIB}


def _fail(text: str, position: int, what: str) -> FormatError:
    return FormatError(
        f"malformed memory layout {text!r} at position {position}: {what}",
        hint="a layout looks like '@Internal Flash  /0x08000000/06*002Ka,250*002Kg' (§3.1)",
    )


def _parse_group(text: str, position: int, item: str, address: int) -> tuple[list[Sector], int]:
    match = _GROUP.fullmatch(item)
    if match is None:
        raise _fail(
            text, position, f"bad sector group {item!r} (expected COUNT*SIZE<B|K|M| ><a..g>)"
        )
    count = int(match.group(1)) if match.group(1) is not None else 1
    size = int(match.group(2)) * _MULTIPLIERS[match.group(3).upper()]
    if count == 0 or size == 0:
        raise _fail(text, position, f"sector group {item!r} has a zero count or size")
    # §3.2: the low three bits of the (lower- or upper-case) letter are the rights.
    rights = MemoryRights(ord(match.group(4).lower()) & 7)
    if count > MAX_SECTORS or address + count * size > 1 << 32:
        raise _fail(text, position, f"sector group {item!r} runs past the 32-bit address space")
    sectors = [Sector(address + i * size, size, rights) for i in range(count)]
    return sectors, count


def _parse_region(text: str, position: int, part: str) -> MemoryRegion:
    """``part`` is ``0xADDR/groups`` (the text between two region slashes)."""
    head, slash, body = part.partition("/")
    if not slash or not re.fullmatch(r"0[xX][0-9a-fA-F]{1,8}", head):
        raise _fail(text, position, f"expected '0xADDRESS/' but found {part[:16]!r}")
    address = int(head, 16)
    if not body:
        raise _fail(text, position + len(head) + 1, "region has no sector groups")
    sectors: list[Sector] = []
    counts: list[int] = []
    offset = position + len(head) + 1
    cursor = address
    for item in body.split(","):
        group, count = _parse_group(text, offset, item, cursor)
        sectors.extend(group)
        counts.append(count)
        cursor = group[-1].end
        offset += len(item) + 1
    return MemoryRegion(address, tuple(sectors), tuple(counts))


def parse_layout(text: str) -> MemoryMap:
    """Parse one layout string, e.g. ``@Internal Flash  /0x08000000/06*002Ka,250*002Kg``."""
    text = text.split("\x00", 1)[0].rstrip("\r\n")
    if not text.startswith("@"):
        raise _fail(text, 0, "a layout string starts with '@'")
    slash = text.find("/")
    if slash < 0:
        raise _fail(text, len(text), "no '/0xADDRESS/' after the name")
    name = text[1:slash]
    regions: list[MemoryRegion] = []
    # Regions are "/0xADDR/groups" one after the other; the address part never holds a
    # slash, so each region is the text between every second slash.
    parts = text[slash + 1 :].split("/")
    position = slash + 1
    if len(parts) % 2:
        raise _fail(text, len(text), "region address without sector groups")
    for index in range(0, len(parts), 2):
        part = parts[index] + "/" + parts[index + 1]
        regions.append(_parse_region(text, position, part))
        position += len(part) + 1
    try:
        return MemoryMap(name, tuple(regions))
    except FormatError as error:
        raise _fail(text, slash, str(error)) from error
