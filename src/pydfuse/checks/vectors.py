"""Vector-table checks of an application image (§5.1–§5.3 of dfuse-spec.md).

Layer: checks. May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and
``pydfuse.errors``. Pure.

The rule needs no board profile: the reset handler and every other non-zero exception handler
of a table must point inside the image that holds it, as Thumb addresses. An application linked
for another address than the one it is loaded at fails that at any offset, on any board. The
initial stack pointer is checked against the board's RAM when it is known, else against the
Cortex-M architectural SRAM and CCM regions (:mod:`pydfuse.checks.board`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pydfuse.checks.board import (
    ARCHITECTURAL_RAM,
    BoardFacts,
    in_ranges,
    is_executable,
)
from pydfuse.checks.findings import Finding
from pydfuse.checks.stubs import (
    LINK_STEP,
    MAX_SHIFT,
    handler_uses,
    higher_link_base,
    likeliest_base,
)
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


def word_at(image: Image, address: int) -> int | None:
    """The little-endian word at ``address``, or None when any byte is not in the image."""
    for segment in image:
        if segment.address <= address and address + 4 <= segment.end:
            offset = address - segment.address
            value: int = struct.unpack_from("<I", segment.data, offset)[0]
            return value
    return None


def _in_image(image: Image, address: int) -> bool:
    return any(s.address <= address < s.end for s in image)


def _handler_like(value: int | None) -> bool:
    """Zero (unused) or a Thumb address where code may run."""
    return value == 0 or (value is not None and bool(value & 1) and is_executable(value & ~1))


def looks_like_vector_table(image: Image, address: int) -> bool:
    """Whether the first words at ``address`` look like a Cortex-M vector table (§5.1): a
    word-aligned stack pointer in the architectural SRAM/CCM regions, a non-zero Thumb reset
    vector where code may run, and NMI and HardFault entries that are zero or Thumb addresses.
    Random data passes this with a chance of about 1 in 8000."""
    sp, reset = word_at(image, address), word_at(image, address + 4)
    if sp is None or reset is None or sp % 4 or not in_ranges(sp, ARCHITECTURAL_RAM):
        return False
    if reset == 0 or not _handler_like(reset):
        return False
    return all(_handler_like(word_at(image, address + offset)) for offset in (0x08, 0x0C))


def _stack_findings(
    sp: int, board: BoardFacts, table: int, *, sp_mask_note: bool = True
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
    ranges = board.stack_ranges()
    if not in_ranges(sp, ranges):
        tops = ", ".join(f"0x{hi:08x}" for _, hi in ranges)
        return [
            Finding(
                "error",
                "vector.stack",
                f"initial stack pointer 0x{sp:08x} (word 0 at 0x{table:08x}) is outside "
                f"{board.describe_ram()}; it must be the top of the stack, at most {tops} — "
                "check the image's load address and linker script",
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


def _link_base(
    table: int, targets: list[int], image: Image, memories: Sequence[MemoryMap]
) -> int | None:
    """The address the image was linked for, if one explains every handler: of the link
    addresses (sector starts, whole KiB) at or below the lowest handler that move every handler
    inside the image, the one under which stub handlers lie where the vectors say (§5.3), else
    the highest sector start."""
    low = min(targets)
    starts = {s.address for m in memories for s in m.sectors if s.address <= low}
    starts |= {FLASH_BASE} if low >= FLASH_BASE else set()
    starts.add(low & ~0x7FF)
    valid = [
        base
        for base in sorted(starts, reverse=True)
        if base != table and all(_in_image(image, t + table - base) for t in targets)
    ]
    if not valid:
        return None
    steps = range(low & ~(LINK_STEP - 1), max(low - MAX_SHIFT, 0), -LINK_STEP)
    others = [
        b for b in steps if b != table and all(_in_image(image, t + table - b) for t in targets)
    ]
    uses = handler_uses(image, table, targets[1:])
    return likeliest_base(image, table, uses, valid + others) or valid[0]


def _relocation_finding(
    table: int, entries: list[tuple[str, int]], image: Image, memories: Sequence[MemoryMap]
) -> Finding | None:
    """One finding in the user's terms when the reset handler lies outside the image and one
    link address explains every handler: the image was linked for another address."""
    if not all(value & 1 for _, value in entries):
        return None  # not all Thumb addresses: no code was linked like this
    targets = [value & ~1 for _, value in entries]
    base = _link_base(table, targets, image, memories)
    if base is None:
        return None
    return _linked_elsewhere(table, base, targets[0])


def _linked_elsewhere(
    table: int, base: int, pointed: int, why: str = "", *, about: bool = False
) -> Finding:
    """The finding for an image linked for ``base`` and loaded at ``table`` (``pointed``: the
    reset handler's address, ``why``: how the link address was found, when not obvious;
    ``about``: ``base`` is an estimate)."""
    advice = f"move FLASH ORIGIN in your linker script to 0x{table:08x}"
    if FLASH_BASE < table < FLASH_BASE + 0x00200000:  # §5.3: an offset into internal flash
        offset = table - FLASH_BASE
        advice += (
            f" and set VTOR to 0x{offset:x} (SCB->VTOR = 0x{table:08x}, or VECT_TAB_OFFSET "
            f"0x{offset:x} in system_stm32f10x.c)"
        )
    else:
        advice += f" and set VTOR to 0x{table:08x}"
    return Finding(
        "error",
        "vector.linked-elsewhere",
        f"this image's vectors point at 0x{pointed:08x}{why}: it was linked for "
        f"{'about ' if about else ''}0x{base:08x} but "
        f"is being loaded at 0x{table:08x}; {advice}",
        table,
    )


def _stubs_shifted(image: Image, table: int, entries: list[tuple[str, int]]) -> list[Finding]:
    """The finding for an image linked higher than it is loaded whose handlers still land
    inside it: its stub handlers lie one distance lower (:mod:`pydfuse.checks.stubs`)."""
    if not all(value & 1 for _, value in entries):
        return []
    reset = entries[0][1] & ~1
    found = higher_link_base(image, table, reset, [value & ~1 for _, value in entries[1:]])
    if found is None:
        return []
    base, why, about = found
    return [_linked_elsewhere(table, base, reset, why, about=about)]


def _handler_entries(image: Image, table: int, table_size: int) -> list[tuple[str, int]]:
    entries: list[tuple[str, int]] = []
    for offset in range(0x08, table_size, 4):
        value = word_at(image, table + offset)
        if value is None or value in (0, ERASED_WORD):
            continue
        name = VECTOR_NAMES.get(offset, f"vector at +0x{offset:02x}")
        if offset in VECTOR_NAMES or offset >= SYSTEM_TABLE_SIZE:
            entries.append((name, value))
    return entries


def _image_data_text(image: Image, most: int = 4) -> str:
    """Where ``image`` has data: ``0x08003000..0x08003fff``, or for an image with gaps its
    segments (``its data: A..B, C..D``, the first ``most`` and how many more)."""
    spans = [f"0x{s.address:08x}..0x{s.end - 1:08x}" for s in image if s.data]
    if len(spans) == 1:
        return spans[0]
    shown = (
        spans if len(spans) <= most else [*spans[: most - 1], f"and {len(spans) - most + 1} more"]
    )
    return "its data: " + ", ".join(shown)


def _stray_finding(name: str, target: int, image: Image, board: BoardFacts) -> Finding:
    data = _image_data_text(image)
    if image.start <= target < image.end:  # between two of its segments
        where = f"where this image has no data (a gap; {data})"
    else:
        where = f"outside this image ({data})"
    if name != "Reset" and in_ranges(target, board.stack_ranges()):
        return Finding(
            "warning",
            "vector.outside",
            f"{name} vector points at 0x{target:08x}, in RAM {where}: fine only if the "
            "program copies that handler there first",
            target,
        )
    return Finding(
        "error", "vector.outside", f"{name} vector points at 0x{target:08x}, {where}", target
    )


def _vector_findings(
    image: Image,
    table: int,
    board: BoardFacts,
    memories: Sequence[MemoryMap],
    entries: list[tuple[str, int]],
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
        if not _in_image(image, target):
            stray.append((name, value))
    if not stray:
        return out + _stubs_shifted(image, table, entries)
    if stray[0][0] == "Reset":
        relocation = _relocation_finding(table, entries, image, memories)
        if relocation is not None:
            return [*out, relocation]
    for name, value in stray:
        out.append(_stray_finding(name, value & ~1, image, board))
    return out


def check_vector_table(
    image: Image,
    *,
    load_address: int,
    board: BoardFacts | None = None,
    memories: Sequence[MemoryMap] = (),
    table_size: int = SYSTEM_TABLE_SIZE,
    sp_mask_note: bool = True,
) -> list[Finding]:
    """Check the vector table at ``load_address`` (§5.1, §5.2).

    Word 0 must be a stack pointer in the board's RAM (``board``; the architectural SRAM/CCM
    regions when it is unknown; the exclusive end of a range is a valid stack top). The reset
    vector and every other non-zero entry up to ``table_size`` bytes must be Thumb addresses
    inside the image. When one link address explains every handler (``memories`` give the
    sector starts to try), that is reported once, as an image linked elsewhere (§5.3).
    ``sp_mask_note`` adds the info about the stack-pointer mask test of ST's demo bootloaders;
    pass False for a bootloader known not to make it (a ROM bootloader jumps without it).
    """
    board = board if board is not None else BoardFacts()
    sp = word_at(image, load_address)
    reset = word_at(image, load_address + 4)
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
    out = _stack_findings(sp, board, load_address, sp_mask_note=sp_mask_note)
    if sp == ERASED_WORD:
        return out
    entries = [("Reset", reset), *_handler_entries(image, load_address, table_size)]
    rest = _vector_findings(image, load_address, board, memories, entries)
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
