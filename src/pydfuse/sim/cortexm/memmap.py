"""The memory map a running application sees, built from a board profile (layer: sim).

Imports only sibling sim modules. Memories of the profile that the core can address (internal
flash, NOR on the external bus, option bytes, OTP, feature registers) become regions holding the
board's contents; the serial flash behind SPI does not. SRAM comes from the profile; system
memory with the unique ID and flash-size registers from the chip model. Address 0 aliases the
memory the chip booted from: the start of flash after a reset, system memory after a jump from
a ROM bootloader (it booted with BOOT0 held and the remap stays, AN2606).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydfuse.sim.cortexm.chips import Chip, get_chip
from pydfuse.sim.profiles import BoardProfile

__all__ = ["MachineSpec", "Region", "machine_for_profile"]

# sram: read/write/execute; data: read/write only (the F4's CCM RAM is on the data bus only)
RegionKind = Literal["flash", "sram", "data", "rom"]
Contents = Iterable[tuple[int, bytes]]
_MAPPED_KINDS = ("internal", "nor", "option", "otp", "feature")
PAGE = 0x1000  # unicorn maps whole pages


@dataclass(frozen=True, slots=True)
class Region:
    """``size`` bytes from ``start``; ``data`` are (address, bytes) runs inside it, the rest
    reads as ``fill`` (0xFF: erased flash, 0x00: SRAM)."""

    name: str
    start: int
    size: int
    kind: RegionKind
    data: tuple[tuple[int, bytes], ...] = ()
    fill: int = 0xFF

    @property
    def end(self) -> int:
        return self.start + self.size

    def contains(self, address: int) -> bool:
        return self.start <= address < self.end


@dataclass(frozen=True, slots=True)
class MachineSpec:
    """Everything the core needs besides the application: regions, SRAM, the chip model, what
    address 0 aliases and where the bootloader lives (its flash area, its vector table)."""

    chip: Chip
    regions: tuple[Region, ...]
    flash: tuple[int, int]  # main flash [start, end)
    flash_sectors: tuple[tuple[int, int], ...]  # (address, size) of each erasable unit
    sram: tuple[int, int]
    alias_of: int  # start of the region that address 0 aliases
    system_memory: int  # start of the chip's system memory (the ROM bootloader, F0 remap 01)
    bootloader_area: tuple[int, int] | None  # [start, end) of the bootloader in main flash
    bootloader_table: int
    ccm: tuple[int, int] | None = None  # core-coupled data RAM [start, end): a stack may be there

    def in_ram(self, address: int) -> bool:
        """``address`` (a stack pointer: the top is included) lies in SRAM or CCM RAM."""
        return any(lo <= address <= hi for lo, hi in (self.sram, self.ccm or self.sram))

    def ram_text(self) -> str:
        """``SRAM 0x20000000..0x2001FFFF`` (and the CCM RAM where the part has it)."""
        text = f"SRAM 0x{self.sram[0]:08X}..0x{self.sram[1] - 1:08X}"
        if self.ccm is not None:
            text += f" or CCM RAM 0x{self.ccm[0]:08X}..0x{self.ccm[1] - 1:08X}"
        return text

    def region_at(self, address: int) -> Region | None:
        for region in self.regions:
            if region.contains(address):
                return region
        return None


def _span(profile_sectors: Sequence[tuple[int, int]]) -> tuple[int, int]:
    return min(a for a, _ in profile_sectors), max(a + s for a, s in profile_sectors)


def _id_registers(chip: Chip, profile: BoardProfile, flash_bytes: int) -> list[tuple[int, bytes]]:
    """The unique ID (96 bits) and the flash size in KB where the chip keeps them."""
    return [
        (chip.uid_address, struct.pack("<III", *profile.uid)),
        (chip.flash_size_address, struct.pack("<H", flash_bytes // 1024)),
    ]


def machine_for_profile(
    profile: BoardProfile,
    contents: Mapping[int, Contents],
    *,
    started_by_rom_jump: bool = False,
) -> MachineSpec:
    """The memory map of ``profile`` holding ``contents`` (alternate -> (address, bytes) runs).

    ``started_by_rom_jump``: the application was entered by a ROM bootloader's jump (DfuSe
    leave on a system-memory bootloader), so address 0 still aliases system memory.
    """
    chip = get_chip(profile.chip)
    regions: list[Region] = []
    flash = _span([(g.address, g.count * g.size) for g in profile.alternates[0].sectors])
    sys_lo, sys_hi = chip.system_area
    system_data = _id_registers(chip, profile, flash[1] - flash[0])
    for alt, memory in enumerate(profile.alternates):
        if memory.memory_kind not in _MAPPED_KINDS:
            continue
        lo, hi = _span([(g.address, g.count * g.size) for g in memory.sectors])
        runs = tuple(
            (max(a, lo), bytes(d[max(lo - a, 0) : max(min(len(d), hi - a), 0)]))
            for a, d in contents.get(alt, ())
            if a < hi and a + len(d) > lo
        )
        if sys_lo <= lo and hi <= sys_hi:
            system_data.extend(runs)  # OTP inside system memory: one region
            continue
        kind: RegionKind = "flash" if memory.memory_kind in ("internal", "nor") else "rom"
        regions.append(
            Region(memory.layout.strip("@").split("/")[0].strip(), lo, hi - lo, kind, runs)
        )
    regions.append(Region("system memory", sys_lo, sys_hi - sys_lo, "rom", tuple(system_data)))
    regions.append(
        Region("SRAM", profile.sram_start, profile.sram_end - profile.sram_start, "sram", fill=0)
    )
    ccm = getattr(profile, "ccm", None)
    if ccm is not None:
        regions.append(Region("CCM RAM", ccm[0], ccm[1] - ccm[0], "data", fill=0))
    rom_loader = profile.dfuse and profile.protected_until == 0
    system_memory = profile.system_memory if profile.system_memory is not None else sys_lo
    area = None
    if profile.protected_until > flash[0]:
        area = (flash[0], profile.protected_until)
    return MachineSpec(
        chip=chip,
        regions=tuple(sorted(regions, key=lambda r: r.start)),
        flash=flash,
        flash_sectors=tuple(
            (g.address + i * g.size, g.size)
            for g in profile.alternates[0].sectors
            for i in range(g.count)
        ),
        sram=(profile.sram_start, profile.sram_end),
        alias_of=system_memory if started_by_rom_jump else flash[0],
        system_memory=system_memory,
        bootloader_area=area,
        bootloader_table=system_memory if rom_loader else flash[0],
        ccm=None if ccm is None else (ccm[0], ccm[1]),
    )
