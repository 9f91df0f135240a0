"""What makes a project DFU-loadable: the GNU ld MEMORY block and the vector-table setting for
an application behind a bootloader, and a patch of an existing linker script (layer: layout).

May import ``pydfuse.errors`` only. Pure: text in, text out. The patch touches only the ORIGIN
and LENGTH values of the flash region in the MEMORY block; every other byte of the script stays
as it was (comments, spacing, the RAM region, the sections).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydfuse.errors import FormatError

__all__ = ["LinkPlan", "ScriptPatch", "patch_linker_script", "size_text"]

_MEMORY = re.compile(r"\bMEMORY\s*\{(?P<body>[^}]*)\}", re.S)
_REGION = re.compile(
    r"^(?P<lead>[ \t]*)(?P<name>[A-Za-z_][\w.]*)\s*(?:\((?P<attrs>[^)]*)\))?\s*:\s*"
    r"(?P<okey>ORIGIN|org|o)\s*=\s*(?P<origin>[^,\n]+?)\s*,\s*"
    r"(?P<lkey>LENGTH|len|l)\s*=\s*(?P<length>[^\n/;]+?)\s*(?=$|/\*|;)",
    re.M,
)
_NUMBER = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)\s*([kKmM]?)\s*$")
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_FLASH_NAME = re.compile(r"flash|rom", re.I)


def _without_comments(text: str) -> str:
    """``text`` with every ``/* ... */`` comment blanked (line breaks kept), so that offsets
    found in it are offsets in ``text`` and nothing inside a comment is taken for a region."""
    return _COMMENT.sub(lambda m: re.sub(r"[^\r\n]", " ", m.group()), text)


def size_text(size: int) -> str:
    """``500K``, ``1M`` or hex: how linker scripts write lengths."""
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)}M"
    if size % 1024 == 0:
        return f"{size // 1024}K"
    return f"0x{size:X}"


def _value(text: str) -> int | None:
    """A linker-script number: ``0x8000000``, ``512K``, ``1M``, sums of those."""
    total = 0
    for part in text.split("+"):
        match = _NUMBER.match(part)
        if match is None:
            return None
        number = int(match.group(1), 0)
        total += number * {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2).lower()]
    return total


@dataclass(frozen=True, slots=True)
class LinkPlan:
    """Where a DFU-loadable application goes on one board."""

    board: str
    flash_start: int  # the chip's flash
    flash_end: int
    app_address: int  # FLASH ORIGIN: behind the bootloader
    ram_start: int
    ram_end: int
    bootloader: tuple[int, int] | None  # the bootloader's own flash, if it lives there
    rom_bootloader: bool = False  # a system-memory bootloader that jumps to the application
    cortex_m0: bool = False  # no VTOR: the vector table is relocated by remapping address 0

    @property
    def offset(self) -> int:
        """The application's offset in flash (VECT_TAB_OFFSET)."""
        return self.app_address - self.flash_start

    def memory_block(self) -> str:
        """The MEMORY block of a GNU ld script for the application."""
        flash = size_text(self.flash_end - self.app_address)
        ram = size_text(self.ram_end - self.ram_start)
        return (
            "MEMORY\n{\n"
            f"  RAM    (xrw)    : ORIGIN = 0x{self.ram_start:08X},   LENGTH = {ram}\n"
            f"  FLASH  (rx)     : ORIGIN = 0x{self.app_address:08X},   LENGTH = {flash}\n"
            "}\n"
        )

    def vector_table_recipe(self) -> tuple[tuple[str, str], ...]:
        """(framework, what to set) pairs that point the interrupts at the application's table."""
        a, o = self.app_address, self.offset
        if self.cortex_m0:
            return (
                (
                    "Cortex-M0 (no VTOR)",
                    "copy the vector table to the start of SRAM and map SRAM at address 0: "
                    "SYSCFG->CFGR1 MEM_MODE = 0b11 (HAL: __HAL_SYSCFG_REMAPMEMORY_SRAM()), "
                    "before enabling interrupts; reserve the table's size at the start of RAM",
                ),
                (
                    "application at the start of flash",
                    "map main flash at address 0: MEM_MODE = 0b00 "
                    "(HAL: __HAL_SYSCFG_REMAPMEMORY_FLASH())",
                ),
            )
        return (
            (
                "STM32Cube HAL",
                "in system_stm32xxxx.c uncomment #define USER_VECT_TAB_ADDRESS and set "
                f"VECT_TAB_OFFSET to 0x{o:08X}U (SystemInit then sets SCB->VTOR)",
            ),
            (
                "StdPeriph library",
                f"NVIC_SetVectorTable(NVIC_VectTab_FLASH, 0x{o:X}); first thing in main()",
            ),
            ("libopencm3", f"SCB_VTOR = 0x{a:08X}; before enabling any interrupt"),
            (
                "Zephyr",
                f"CONFIG_USE_DT_CODE_PARTITION=n and CONFIG_FLASH_LOAD_OFFSET=0x{o:X} "
                "(Zephyr points VTOR at its own table)",
            ),
            ("CMSIS, bare metal", f"SCB->VTOR = 0x{a:08X}; in SystemInit(), before interrupts"),
        )

    def why(self) -> str:
        """One sentence on why the vector table must be set on this board."""
        if self.bootloader is not None:
            lo, hi = self.bootloader
            return (
                f"the bootloader's vector table is at 0x{lo:08X} (its code up to "
                f"0x{hi - 1:08X}); until the application points VTOR at its own table at "
                f"0x{self.app_address:08X}, every interrupt runs the bootloader's handler"
            )
        if self.rom_bootloader:
            return (
                "after a jump from the ROM bootloader address 0 still maps system memory, so "
                "interrupts go to the ROM's vector table until the application sets its own"
            )
        return "the application starts at the start of flash: the default table is its own"


@dataclass(frozen=True, slots=True)
class ScriptPatch:
    """The patched script and what changed (empty ``changes``: nothing to do)."""

    text: str
    changes: tuple[str, ...]
    notes: tuple[str, ...]


def _format_like(old: str, value: int) -> str:
    """``value`` in the style of the number ``old`` (hex digits and case, K/M suffix)."""
    old = old.strip()
    if old[-1:] in "kKmM" and _value(old) is not None:
        text = size_text(value)
        return text.lower() if old[-1:].islower() and not text.startswith("0x") else text
    if old.lower().startswith("0x"):
        digits = len(old) - 2
        text = f"{value:0{digits}x}" if old[2:].islower() else f"{value:0{digits}X}"
        return old[:2] + text
    return str(value)


def patch_linker_script(text: str, plan: LinkPlan) -> ScriptPatch:
    """Move the flash region of ``text``'s MEMORY block to ``plan.app_address``, keeping its
    end (or the board's flash end, if the script claims more flash than the board has)."""
    memory = _MEMORY.search(_without_comments(text))
    if memory is None:
        raise FormatError(
            "no MEMORY block in this linker script",
            hint="is it the script the project links with (the one with MEMORY { FLASH ... })?",
        )
    body_start = memory.start("body")
    regions = list(_REGION.finditer(memory.group("body")))
    flash = _flash_region(regions, plan)
    origin = _value(flash.group("origin"))
    length = _value(flash.group("length"))
    if origin is None or length is None:
        raise _unreadable(flash)
    notes: list[str] = []
    end = min(origin + length, plan.flash_end)
    if origin + length > plan.flash_end:
        notes.append(
            f"the script's {flash.group('name')} ends at 0x{origin + length:08X}, past the "
            f"board's flash (0x{plan.flash_end:08X}); the new length ends at the board's"
        )
    notes.extend(_ram_notes(regions, plan))
    new_length = end - plan.app_address
    if new_length <= 0:
        raise FormatError(f"the {flash.group('name')} region ends before 0x{plan.app_address:08X}")
    if origin == plan.app_address and length == new_length:
        return ScriptPatch(text, (), tuple(notes))
    o_lo, o_hi = flash.span("origin")
    l_lo, l_hi = flash.span("length")
    new_origin = _format_like(flash.group("origin"), plan.app_address)
    new_len = _format_like(flash.group("length"), new_length)
    patched = (
        text[: body_start + o_lo]
        + new_origin
        + text[body_start + o_hi : body_start + l_lo]
        + new_len
        + text[body_start + l_hi :]
    )
    name = flash.group("name")
    changes = (
        f"{name} ORIGIN {flash.group('origin').strip()} -> {new_origin}",
        f"{name} LENGTH {flash.group('length').strip()} -> {new_len}",
    )
    return ScriptPatch(patched, changes, tuple(notes))


def _unreadable(region: re.Match[str]) -> FormatError:
    return FormatError(
        f"cannot read the {region.group('name')} region's ORIGIN/LENGTH "
        f"({region.group('origin').strip()}, {region.group('length').strip()})",
        hint="write them as numbers (0x08000000, 512K) or change them by hand",
    )


def _flash_region(regions: list[re.Match[str]], plan: LinkPlan) -> re.Match[str]:
    """The region that holds the application's code: in the board's flash, named like flash
    (FLASH, ROM) where several are, the lowest one otherwise."""
    candidates = []
    for region in regions:
        origin = _value(region.group("origin"))
        if origin is not None and plan.flash_start <= origin < plan.flash_end:
            candidates.append((origin, region))
    if not candidates:
        unreadable = [
            r
            for r in regions
            if _FLASH_NAME.search(r.group("name"))
            and (_value(r.group("origin")) is None or _value(r.group("length")) is None)
        ]
        if unreadable:
            raise _unreadable(unreadable[0])
        names = ", ".join(r.group("name") for r in regions) or "none"
        raise FormatError(
            f"no region of the MEMORY block ({names}) lies in the board's flash "
            f"0x{plan.flash_start:08X}..0x{plan.flash_end - 1:08X}",
            hint="check --profile: the script may be for another chip",
        )
    named = [c for c in candidates if _FLASH_NAME.search(c[1].group("name"))]
    return min(named or candidates, key=lambda c: c[0])[1]


def _ram_notes(regions: list[re.Match[str]], plan: LinkPlan) -> list[str]:
    notes = []
    for region in regions:
        origin, length = _value(region.group("origin")), _value(region.group("length"))
        if origin is None or length is None or not plan.ram_start <= origin < plan.ram_end:
            continue
        if origin + length > plan.ram_end:
            notes.append(
                f"{region.group('name')} ends at 0x{origin + length:08X}, past the board's SRAM "
                f"(0x{plan.ram_end:08X}): the initial stack pointer would be outside SRAM "
                "(not changed: only the flash region is patched)"
            )
    return notes
