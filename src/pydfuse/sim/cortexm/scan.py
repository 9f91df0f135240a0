"""The few Thumb instructions a run must see: sleep, branch-to-self, interrupt unmasking
(layer: sim; imports nothing from pydfuse).

The core runs at full speed with no per-instruction callback; instead these instructions are
found in the code beforehand (by their encodings, ARMv7-M A7) and only their addresses are
hooked. A match inside data is harmless: its hook fires only if the core executes it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Literal

__all__ = ["Special", "classify", "find_specials"]

Special = Literal["wfi", "loop", "cpsie", "cpsid", "msr-primask"]

_SHORT: dict[int, Special] = {
    0xBF30: "wfi",  # WFI
    0xBF20: "wfi",  # WFE: sleeps as well
    0xE7FE: "loop",  # B . (T2)
    0xB662: "cpsie",  # CPSIE i
    0xB663: "cpsie",  # CPSIE if
    0xB672: "cpsid",  # CPSID i
    0xB673: "cpsid",  # CPSID if
}
_LONG: dict[tuple[int, int], Special] = {
    (0xF3AF, 0x8003): "wfi",  # WFI.W
    (0xF3AF, 0x8002): "wfi",  # WFE.W
    (0xF7FF, 0xBFFE): "loop",  # B.W . (T4)
}


def classify(first: int, second: int | None) -> Special | None:
    """What the instruction starting with half-words ``first``, ``second`` is, if special."""
    special = _SHORT.get(first)
    if special is not None or second is None:
        return special
    if first & 0xFFF0 == 0xF380 and second == 0x8810:  # MSR PRIMASK, Rn
        return "msr-primask"
    return _LONG.get((first, second))


def find_specials(address: int, code: bytes) -> Iterator[tuple[int, Special]]:
    """Every half-word-aligned place in ``code`` (loaded at ``address``) holding one."""
    patterns = [struct.pack("<H", hw) for hw in _SHORT]
    patterns += [struct.pack("<HH", a, b) for a, b in _LONG]
    patterns.append(struct.pack("<H", 0x8810))
    offsets: set[int] = set()
    for pattern in patterns:
        start = code.find(pattern)
        while start >= 0:
            offsets.add(start - 2 if pattern == b"\x10\x88" else start)
            start = code.find(pattern, start + 1)
    for offset in sorted(offsets):
        if offset < 0 or (address + offset) % 2:
            continue
        first, second = struct.unpack_from("<HH", code + b"\0\0", offset)
        special = classify(first, second)
        if special is not None:
            yield address + offset, special
