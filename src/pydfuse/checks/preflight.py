"""Pre-flight check of every target of a file against a device's memories.

Layer: checks. May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and
``pydfuse.errors``. Takes memory maps and board facts as values, so it serves a board profile
(``dfuse check --profile``) and a real device's descriptors alike; nothing in it needs a
profile.

Which images get the vector-table checks (§5)?

* the application: the image on the internal flash (:func:`~pydfuse.checks.board.
  application_alt`) that starts at the board's application address — the bootloader's fixed
  one from a profile (0x08003000 on ST's demo, §2.9), else the first writable sector after the
  read-only run of that memory, as the device's own layout tells it — and the image a ``leave``
  would start (``entry``). Such an image must begin with a valid vector table;
* any other image that starts at a sector start (or a 128-byte boundary, VTOR's alignment) and
  whose first words look like a Cortex-M vector table. Data for SPI/NOR flash, option bytes and
  OTP does not look like one and is left alone.

A vector table in another memory whose handlers all point into the internal flash is a staged
image (a loader copies it there later): a warning, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from pydfuse.checks.backup import leave_out_backup, left_out_findings
from pydfuse.checks.board import (
    BoardFacts,
    RamRange,
    application_alt,
    inferred_app_address,
    ram_ranges,
)
from pydfuse.checks.elements import check_element_order, check_target_overlap
from pydfuse.checks.findings import CheckReport, Finding, TargetImage, TargetReport
from pydfuse.checks.names import name_mismatch
from pydfuse.checks.placement import check_placement
from pydfuse.checks.vectors import check_vector_table, looks_like_vector_table, word_at
from pydfuse.errors import FormatError
from pydfuse.formats.image import Image
from pydfuse.layout import MemoryMap
from pydfuse.layout.placement import format_range

VTOR_ALIGN = 0x80  # §5.1: VTOR is aligned to at least 128 bytes


def short_name(memory: MemoryMap) -> str:
    """``SPI Flash`` for ``SPI Flash : M25P64`` (the part after the colon names the chip)."""
    return memory.label.split(" : ", 1)[0].strip() or memory.label


def app_address_of(memories: Mapping[int, MemoryMap], app_address: int | None) -> int | None:
    """The board's application address: the profile's, else inferred from the layout."""
    if app_address is not None:
        return app_address
    alt = application_alt(memories)
    return inferred_app_address(memories[alt]) if alt is not None else None


def is_application(
    target: TargetImage,
    memories: Mapping[int, MemoryMap],
    app_address: int | None,
    entry: int | None = None,
) -> bool:
    """Whether the image must begin with a vector table (see the module docstring)."""
    if not target.image:
        return False
    start = target.image.start
    if entry is not None and start == entry:
        return True
    return target.alt == application_alt(memories) and start == app_address_of(
        memories, app_address
    )


def _wrong_memory(
    target: TargetImage, memory: MemoryMap, memories: Mapping[int, MemoryMap]
) -> Finding | None:
    """An error naming both memories when no byte of the image lies in its own memory but its
    start lies in another alternate's memory (e.g. a NOR image at an SPI address)."""
    image = target.image
    if any(memory.sectors_between(s.address, s.end) for s in image):
        return None
    for alt, other in sorted(memories.items()):
        if alt != target.alt and other.contains(image.start):
            return Finding(
                "error",
                "target.wrong-memory",
                f"this image at 0x{image.start:08x} is for {short_name(other)} (alt {alt}) but "
                f"target {target.alt} is {short_name(memory)} at {memory.describe_spans()}; "
                f"put it in a target for alt {alt}, or link it for 0x{memory.start:08x}",
                image.start,
            )
    return None


def _table_start(image: Image, memory: MemoryMap) -> bool:
    """Whether the image starts where a vector table can be: a sector start or VTOR-aligned."""
    sector = memory.sector_at(image.start)
    return (sector is not None and sector.address == image.start) or image.start % VTOR_ALIGN == 0


def _staged(image: Image, target: TargetImage, memories: Mapping[int, MemoryMap]) -> Finding | None:
    """A warning for a vector table outside the internal flash whose reset handler lies in the
    internal flash: a copy for a loader to install, which cannot run where it is."""
    app_alt = application_alt(memories)
    reset = word_at(image, image.start + 4)
    if app_alt is None or target.alt == app_alt or reset is None:
        return None
    flash = memories[app_alt]
    if not flash.contains(reset & ~1):
        return None
    return Finding(
        "warning",
        "vector.staged",
        f"this image at 0x{image.start:08x} holds a vector table for code at "
        f"0x{reset & ~1:08x} in {short_name(flash)}: it cannot run where it is, only once a "
        "loader copies it there (a staged update?)",
        image.start,
    )


def _vector_checks(
    target: TargetImage,
    image: Image,
    memories: Mapping[int, MemoryMap],
    board: BoardFacts,
    entry: int | None,
    flash_loader: bool,
) -> tuple[list[Finding], bool]:
    """The vector-table findings of one (already cut) image, and whether it was checked.
    ``flash_loader``: the board boots through a bootloader in its flash (ST's demo, Cube,
    dapboot), which tests the stack pointer with a mask (§5.2) — a ROM loader does not."""
    memory = memories[target.alt]
    strict = is_application(replace(target, image=image), memories, board.app_address, entry)
    if not strict and not (
        _table_start(image, memory) and looks_like_vector_table(image, image.start)
    ):
        return [], False
    staged = _staged(image, target, memories)
    if staged is not None:
        return [staged], True
    findings = check_vector_table(
        image,
        load_address=image.start,
        board=board,
        memories=list(memories.values()),
        sp_mask_note=flash_loader,
    )
    if target.left_out or image is not target.image:  # a full backup: the board had no app
        findings = [_no_app_in_backup(f) if f.code == "vector.erased" else f for f in findings]
    return findings, True


def _no_app_in_backup(finding: Finding) -> Finding:
    return Finding(
        "info",
        "vector.erased",
        f"this backup holds no application at 0x{finding.address or 0:08x} (erased flash): "
        "the board will stay in its bootloader",
        finding.address,
    )


def _check_target(
    target: TargetImage,
    memories: Mapping[int, MemoryMap],
    board: BoardFacts,
    *,
    entry: int | None,
    device_compared: bool,
    flash_loader: bool,
) -> tuple[list[Finding], bool]:
    memory = memories.get(target.alt)
    if memory is None:
        alts = ", ".join(str(a) for a in sorted(memories)) or "none"
        message = (
            f"target {target.alt} ({target.name}) is for alternate setting {target.alt}, which "
            f"this device does not have (alternates: {alts})"
        )
        return [Finding("error", "target.no-alt", message, target.image.start or None)], False
    if not target.image:
        return [Finding("warning", "target.empty", f"target {target.alt} holds no data")], False
    wrong = _wrong_memory(target, memory, memories)
    if wrong is not None:
        return [wrong], False
    findings: list[Finding] = []
    mismatch = name_mismatch(target, memory, memories)
    if mismatch is not None:
        findings.append(mismatch)
    findings += left_out_findings(memory.label, target.left_out)
    image = target.image
    if not device_compared and not target.left_out:
        image, notes = leave_out_backup(image, memory)
        findings += notes
    if not image:
        return findings, False
    findings += check_placement(image, memory)
    findings += check_element_order(target, memory)
    vectors, application = _vector_checks(target, image, memories, board, entry, flash_loader)
    return findings + vectors + _leave_inside(image, memories, board, entry), application


def _leave_inside(
    image: Image, memories: Mapping[int, MemoryMap], board: BoardFacts, entry: int | None
) -> list[Finding]:
    """The vector table a leave would start when its address lies inside the image but not at
    its start (``--leave-address``, ``-s ADDR:leave``): a ROM bootloader jumps through the
    table at that address, so it must be one."""
    if entry is None or entry == image.start or not any(s.address <= entry < s.end for s in image):
        return []
    found = check_vector_table(
        image, load_address=entry, board=board, memories=list(memories.values()), sp_mask_note=False
    )
    return [
        Finding(f.severity, f.code, f"the leave address 0x{entry:08x}: {f.message}", f.address)
        for f in found
    ]


def _start_erased(image: Image, memory: MemoryMap, app: int | None) -> Finding | None:
    """An error when ``image`` (everything a file puts in the application's memory) shares
    the sector holding the application's start ``app`` but puts nothing there: erasing that
    sector wipes the vector table the board starts the application from."""
    sector = memory.sector_at(app) if app is not None else None
    if app is None or sector is None or not sector.erasable or image.covers(app, app + 8):
        return None
    if not any(seg.address < sector.end and sector.address < seg.end for seg in image):
        return None
    return Finding(
        "error",
        "placement.app-start-erased",
        f"this image shares the sector {format_range(sector.address, sector.end)} with the "
        f"application's start 0x{app:08x} (where the board starts it) but puts nothing "
        f"there: that sector is erased, so after a reset the board starts no application "
        f"(the image begins at 0x{image.start:08x}: is it linked for a bootloader this board "
        "does not have?)",
        sector.address,
    )


def _app_image(targets: Sequence[TargetImage], alt: int | None) -> Image | None:
    """Everything the file puts in memory ``alt`` (several targets may share it); None when
    their data overlaps (reported as such)."""
    try:
        return Image.from_segments(s for t in targets if t.alt == alt for s in t.image)
    except FormatError:
        return None


def _behind_a_loader(memories: Mapping[int, MemoryMap]) -> bool:
    """Whether the layout shows a bootloader in the internal flash (a read-only run first)."""
    alt = application_alt(memories)
    if alt is None:
        return False
    start = inferred_app_address(memories[alt])
    return start is not None and start > memories[alt].start


def preflight(
    targets: Sequence[TargetImage],
    memories: Mapping[int, MemoryMap],
    *,
    sram: RamRange | Sequence[RamRange] | None = None,
    app_address: int | None = None,
    entry: int | None = None,
    device_compared: bool = False,
) -> CheckReport:
    """Check every target against the memory of its alternate setting.

    ``memories`` maps alternate numbers to their maps; ``sram`` is the board's RAM, one
    ``(start, end_exclusive)`` range or several (None: unknown, the Cortex-M architectural
    regions are used); ``app_address`` is the bootloader's fixed application address (None:
    inferred from the layout); ``entry`` is where a ``leave`` after the write will jump.
    ``device_compared`` says the caller compared read-only bytes with the device and left out
    the identical ones (``TargetImage.left_out``); otherwise a full read-back's read-only bytes
    are notes (what flash will do with them), see :mod:`pydfuse.checks.backup`.
    """
    board = BoardFacts(ram_ranges(sram), app_address_of(memories, app_address))
    flash_loader = app_address is not None or _behind_a_loader(memories)
    reports: list[TargetReport] = []
    overlaps = check_target_overlap(targets)
    app_alt = application_alt(memories)
    whole = _app_image(targets, app_alt) if app_alt in memories else None
    start_erased = (
        _start_erased(whole, memories[app_alt], board.app_address)
        if whole is not None and app_alt is not None
        else None
    )
    for index, target in enumerate(targets):
        findings, application = _check_target(
            target,
            memories,
            board,
            entry=entry,
            device_compared=device_compared,
            flash_loader=flash_loader,
        )
        findings = overlaps.get(index, []) + findings
        if start_erased is not None and target.alt == app_alt and target.image:
            findings.append(start_erased)
            start_erased = None  # once, on the first target that touches it
        memory = memories.get(target.alt)
        reports.append(
            TargetReport(
                alt=target.alt,
                name=target.name,
                start=target.image.start,
                end=target.image.end,
                size=target.image.size,
                memory=memory.label if memory is not None else None,
                application=application,
                findings=tuple(findings),
            )
        )
    return CheckReport(tuple(reports))
