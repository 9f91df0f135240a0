"""Does a DfuSe target's name fit the memory of the alternate it is packed for? (layer: checks)

May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and ``pydfuse.errors``.
Pure.

A file's target named "NOR Flash" but packed for alternate 1 (the SPI flash on the
STM3210E-EVAL) is most likely packed for the wrong alternate: the bytes would land in another
memory than the one their author meant. Names are compared by the part before " : " (the chip),
ignoring case and spaces; tools' default names ("ST...") and names that say nothing about a
memory are not judged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydfuse.checks.findings import Finding, TargetImage
from pydfuse.layout import MemoryMap

_GENERIC = frozenset({"", "st...", "st", "target", "image", "firmware", "default"})
_MEMORY_WORDS = re.compile(
    r"\b(flash|nor|nand|spi|qspi|otp|option|eeprom|e2prom|ram|sram|feature|memory|emmc|sd)\b"
)


def _short(name: str) -> str:
    """``nor flash`` for ``NOR Flash : M29W128F`` (lower case, single spaces, no chip)."""
    return " ".join(name.split(" : ", 1)[0].split(":", 1)[0].lower().split())


def _same(a: str, b: str) -> bool:
    return a == b or a in b or b in a


def name_mismatch(
    target: TargetImage, memory: MemoryMap, memories: Mapping[int, MemoryMap]
) -> Finding | None:
    """A warning when ``target.target_name`` names another memory than its alternate's."""
    if target.target_name is None:
        return None
    key = _short(target.target_name)
    own = _short(memory.label)
    if key in _GENERIC or _same(key, own):
        return None
    others = [
        a for a, m in sorted(memories.items()) if a != target.alt and _same(key, _short(m.label))
    ]
    if others:
        alt = others[0]
        where = f"; {memories[alt].label} is alternate {alt} — was it packed for the wrong one?"
    elif _MEMORY_WORDS.search(key):
        where = "; is this the memory it was made for?"
    else:
        return None
    return Finding(
        "warning",
        "target.name-mismatch",
        f"target {target.alt} is named {target.target_name!r} but alternate {target.alt} of "
        f"this device is {memory.label}{where}",
        target.image.start if target.image else None,
    )
