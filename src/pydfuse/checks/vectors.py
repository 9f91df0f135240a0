"""Vector-table checks of an application image (§5.1–§5.3 of dfuse-spec.md).

Layer: checks. May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and
``pydfuse.errors``. Pure.
"""

from __future__ import annotations

import struct

from pydfuse.checks.findings import Finding
from pydfuse.formats.image import Image
from pydfuse.layout import MemoryMap

# §5.2: the ST USB-FS demo, Cube DFU examples and dapboot accept an application when
# (SP & 0x2FFE0000) == 0x20000000, i.e. an initial SP in 0x20000000..0x2001FFFF.
ST_SP_MASK = 0x2FFE0000
ST_SP_VALUE = 0x20000000
ERASED_WORD = 0xFFFFFFFF
# §5.1: the 16 Cortex-M system entries; device IRQs follow but their number depends on the part,
# and words past the real table are code, so only this much is checked unless told otherwise.
SYSTEM_TABLE_SIZE = 0x40
# §5.1: names of the system entries, by offset; 0x1C..0x28 and 0x34 are reserved.
VECTOR_NAMES = {
    0x08: "NMI",
    0x0C: "HardFault",
    0x10: "MemManage",
    0x14: "BusFault",
    0x18: "UsageFault",
    0x2C: "SVCall",
    0x30: "DebugMonitor",
    0x38: "PendSV",
    0x3C: "SysTick",
}
FLASH_BASE = 0x08000000  # §5.4


def _word(image: Image, address: int) -> int | None:
    """The little-endian word at ``address``, or None when any byte is not in the image."""
    for segment in image:
        if segment.address <= address and address + 4 <= segment.end:
            offset = address - segment.address
            value: int = struct.unpack_from("<I", segment.data, offset)[0]
            return value
    return None


def _in_image(image: Image, address: int) -> bool:
    return any(s.address <= address < s.end for s in image)


def _stack_findings(
    sp: int, sram_start: int, sram_end: int, table: int, *, sp_mask_note: bool = True
) -> list[Finding]:
    if sp == ERASED_WORD:
        return [
            Finding(
                "error",
                "vector.erased",
                f"word 0 at 0x{table:08x} is 0xffffffff (erased flash): there is no vector "
                "table here",
                table,
            )
        ]
    if not sram_start <= sp <= sram_end:
        return [
            Finding(
                "error",
                "vector.stack",
                f"initial stack pointer 0x{sp:08x} (word 0 at 0x{table:08x}) is outside SRAM "
                f"0x{sram_start:08x}..0x{sram_end - 1:08x}; it must be the top of the stack, "
                f"at most 0x{sram_end:08x} — check the image's load address and linker script",
                table,
            )
        ]
    out: list[Finding] = []
    if sp % 4:
        out.append(
            Finding(
                "warning",
                "vector.stack-align",
                f"initial stack pointer 0x{sp:08x} is not word aligned (AAPCS wants 8 bytes)",
                table,
            )
        )
    if sp_mask_note and sp & ST_SP_MASK != ST_SP_VALUE:
        out.append(
            Finding(
                "info",
                "vector.stack-mask",
                f"initial stack pointer 0x{sp:08x} fails the (SP & 0x2FFE0000) == 0x20000000 "
                "test of ST's USB-FS demo, Cube DFU and dapboot bootloaders (§5.2), which then "
                "stay in DFU mode; with such a bootloader keep the stack top below 0x20020000 "
                "or change its mask to 0x2FFC0000",
                table,
            )
        )
    return out


def _relocation_finding(
    table: int, base: int, entries: list[tuple[str, int]], image: Image
) -> Finding | None:
    """One finding in the user's terms when every stray vector sits exactly ``table - base``
    below a place inside the image: the image was linked for ``base`` (§5.3)."""
    delta = table - base
    if delta <= 0 or not entries:
        return None
    for _, value in entries:
        target = value & ~1
        if not (base <= target < table and _in_image(image, target + delta)):
            return None
    shown = entries[0][1] & ~1
    return Finding(
        "error",
        "vector.linked-elsewhere",
        f"this image's vectors point at 0x{shown:08x}: it was linked for 0x{base:08x} but is "
        f"being loaded at 0x{table:08x}; move FLASH ORIGIN in your linker script to "
        f"0x{table:08x} and set VTOR to 0x{delta:x} (SCB->VTOR = 0x{table:08x}, or "
        f"VECT_TAB_OFFSET 0x{delta:x} in system_stm32f10x.c)",
        table,
    )


def _handler_entries(image: Image, table: int, table_size: int) -> list[tuple[str, int]]:
    entries: list[tuple[str, int]] = []
    for offset in range(0x08, table_size, 4):
        value = _word(image, table + offset)
        if value is None or value in (0, ERASED_WORD):
            continue
        name = VECTOR_NAMES.get(offset, f"vector at +0x{offset:02x}")
        if offset in VECTOR_NAMES or offset >= SYSTEM_TABLE_SIZE:
            entries.append((name, value))
    return entries


def _stray_finding(name: str, target: int, image: Image, flash: MemoryMap | None) -> Finding:
    image_range = f"0x{image.start:08x}..0x{image.end - 1:08x}"
    if name != "Reset" and flash is not None and flash.contains(target):
        return Finding(
            "warning",
            "vector.outside",
            f"{name} vector points at 0x{target:08x}, inside {flash.label} but outside this "
            f"image ({image_range}); a handler there belongs to other code",
            target,
        )
    region = f"this image ({image_range})" if name == "Reset" or flash is None else flash.label
    return Finding(
        "error",
        "vector.outside",
        f"{name} vector points at 0x{target:08x}, outside {region}",
        target,
    )


def _vector_findings(
    image: Image, table: int, flash: MemoryMap | None, entries: list[tuple[str, int]]
) -> list[Finding]:
    """Thumb bit and destination of the reset vector (first entry) and the handlers."""
    out: list[Finding] = []
    stray: list[tuple[str, int]] = []
    for name, value in entries:
        target = value & ~1
        if not value & 1:
            out.append(
                Finding(
                    "error" if name == "Reset" else "warning",
                    "vector.thumb",
                    f"{name} vector 0x{value:08x} has bit 0 clear: Cortex-M only runs Thumb "
                    "code, so this entry would fault (is this really a vector table?)",
                    target,
                )
            )
        inside = _in_image(image, target)
        if not inside:
            stray.append((name, value))
    if not stray:
        return out
    base = flash.start if flash is not None else FLASH_BASE
    relocation = _relocation_finding(table, base, stray, image)
    if relocation is not None:
        return [*out, relocation]
    for name, value in stray:
        out.append(_stray_finding(name, value & ~1, image, flash))
    return out


def check_vector_table(
    image: Image,
    *,
    load_address: int,
    sram_start: int,
    sram_end: int,
    flash: MemoryMap | None,
    table_size: int = SYSTEM_TABLE_SIZE,
    sp_mask_note: bool = True,
) -> list[Finding]:
    """Check the vector table at ``load_address`` (§5.1, §5.2).

    ``sp_mask_note`` adds the info about ST's demo bootloaders' stack-pointer mask test; pass
    False for a bootloader known not to make it (a ROM bootloader jumps without that test).

    ``sram_end`` is exclusive; a stack top equal to it is valid. Word 0 must be a stack pointer
    in SRAM; the reset vector must be a Thumb address inside the image; the other non-zero
    entries up to ``table_size`` bytes must point into ``flash`` (or the image when no flash map
    is known). Vectors that all point exactly ``load_address - flash.start`` too low are
    reported once, as an image linked for the start of flash (§5.3).
    """
    sp = _word(image, load_address)
    reset = _word(image, load_address + 4)
    if sp is None or reset is None:
        return [
            Finding(
                "error",
                "vector.missing",
                f"the image has no vector table at 0x{load_address:08x} (its data starts at "
                f"0x{image.start:08x}); an application must begin with one there",
                load_address,
            )
        ]
    out = _stack_findings(sp, sram_start, sram_end, load_address, sp_mask_note=sp_mask_note)
    if sp == ERASED_WORD:
        return out
    entries = [("Reset", reset), *_handler_entries(image, load_address, table_size)]
    rest = _vector_findings(image, load_address, flash, entries)
    wrong = list(dict.fromkeys(f.message.split(" vector", 1)[0] for f in rest))
    if len(wrong) > 1 and any(f.code == "vector.stack" and f.severity == "error" for f in out):
        return [*out, _not_a_table(rest, wrong, load_address)]
    return out + rest


def _not_a_table(rest: list[Finding], wrong: list[str], load_address: int) -> Finding:
    """One finding for the entries (``wrong``: their names) of a "table" whose word 0 is no
    stack pointer either: most likely no vector table at all (a wrong load address, a data
    file), and a line per entry (up to 14 of them) would bury the one that matters."""
    names = ", ".join(wrong[:4])
    more = f" and {len(wrong) - 4} more" if len(wrong) > 4 else ""
    return Finding(
        "error" if any(f.severity == "error" for f in rest) else "warning",
        "vector.not-a-table",
        f"{len(wrong)} vector entries look wrong as well ({names}{more}): the data at "
        f"0x{load_address:08x} is most likely not a vector table — is the load address right?",
        load_address,
    )
