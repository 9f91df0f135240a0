"""What the checks know about a board beyond its layout strings: where a stack may live and
where the application starts (layer: checks).

May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and ``pydfuse.errors``.
Pure.

A board profile (``--profile``, a ``--sim`` board) tells the exact SRAM and the bootloader's
fixed application address. A real board pydfuse has no profile for tells only its memory
layouts, so the checks fall back on what holds for every Cortex-M part and on the layout:

* the initial stack pointer must lie in the architectural SRAM region 0x20000000–0x3FFFFFFF or
  in the core-coupled RAM at 0x10000000–0x1000FFFF (STM32F405/407 and others; a stack there is
  legitimate);
* the application starts at the first writable sector after the read-only ('a') run at the
  start of the internal flash (0x08003000 behind the 12 KB ST demo loader, 0x08000000 on a ROM
  bootloader, which has no such run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydfuse.layout import MemoryMap
from pydfuse.spec import MemoryRights

RamRange = tuple[int, int]  # [start, end): a stack top equal to ``end`` is valid (§5.2)

ARCH_SRAM: RamRange = (0x20000000, 0x40000000)  # Cortex-M "SRAM" region, 0x20000000-0x3FFFFFFF
ARCH_CCM: RamRange = (0x10000000, 0x10010000)  # 64 KB CCM data RAM of the F405/407 (§5.5)
ARCHITECTURAL_RAM: tuple[RamRange, ...] = (ARCH_SRAM, ARCH_CCM)

# Regions of the Cortex-M default memory map that never hold code (execute never): the
# peripheral region and the device/system regions. Code, SRAM and external RAM/flash (FSMC NOR
# at 0x64000000, QSPI at 0x90000000) may.
_EXECUTE_NEVER: tuple[RamRange, ...] = ((0x40000000, 0x60000000), (0xA0000000, 0x1_0000_0000))


def is_executable(address: int) -> bool:
    """Whether code may run at ``address`` in the Cortex-M default memory map."""
    return not any(lo <= address < hi for lo, hi in _EXECUTE_NEVER)


@dataclass(frozen=True, slots=True)
class BoardFacts:
    """A board's RAM ranges (where the initial stack pointer may point) and its bootloader's
    fixed application address (None: the bootloader jumps where it is told, as ROM loaders do);
    a profile also knows the layout strings its bootloader reports (``layouts``), which a
    device running its application does not show.

    ``ram`` empty means "unknown": the architectural regions are used instead.
    """

    ram: tuple[RamRange, ...] = ()
    app_address: int | None = None
    name: str | None = None
    layouts: tuple[str, ...] = ()  # the alternates' layout strings, by alternate number

    @property
    def known_ram(self) -> bool:
        return bool(self.ram)

    def stack_ranges(self) -> tuple[RamRange, ...]:
        """The ranges a stack pointer is checked against."""
        return self.ram or ARCHITECTURAL_RAM

    def describe_ram(self) -> str:
        """``SRAM 0x20000000..0x2000ffff`` or the architectural regions, for messages."""
        if not self.ram:
            return (
                "the Cortex-M SRAM region 0x20000000..0x3fffffff and the CCM RAM "
                "0x10000000..0x1000ffff (this board's SRAM is not known)"
            )
        return " and ".join(f"{_ram_name(lo)} 0x{lo:08x}..0x{hi - 1:08x}" for lo, hi in self.ram)


def _ram_name(start: int) -> str:
    return "CCM RAM" if ARCH_CCM[0] <= start < ARCH_CCM[1] else "SRAM"


def ram_ranges(sram: RamRange | Sequence[RamRange] | None) -> tuple[RamRange, ...]:
    """``sram`` as a tuple of ranges: one ``(start, end)`` pair, several, or None (unknown)."""
    if sram is None:
        return ()
    first = sram[0]
    if isinstance(first, int):
        end = sram[1]
        assert isinstance(end, int)
        return ((first, end),)
    pairs: list[RamRange] = []
    for item in sram:
        assert not isinstance(item, int)
        pairs.append((item[0], item[1]))
    return tuple(pairs)


def in_ranges(value: int, ranges: Sequence[RamRange]) -> bool:
    """Whether ``value`` lies in one of ``ranges``, the exclusive end included (a stack top)."""
    return any(lo <= value <= hi for lo, hi in ranges)


def application_alt(memories: Mapping[int, MemoryMap]) -> int | None:
    """The alternate of the internal flash, where the application lives: the memory named
    "Internal Flash", else alternate 0 (internal flash on every ST device, §4.9)."""
    for alt, memory in sorted(memories.items()):
        if memory.label.lower().startswith("internal flash"):
            return alt
    return 0 if 0 in memories else None


def inferred_app_address(memory: MemoryMap) -> int | None:
    """The first writable sector after the read-only ('a') run at the start of ``memory``
    (the run may be empty: then the first writable sector)."""
    for sector in memory.sectors:
        if sector.rights == MemoryRights.READABLE:
            continue
        if sector.writable:
            return sector.address
    return None
