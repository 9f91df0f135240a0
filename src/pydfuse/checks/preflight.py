"""Pre-flight check of every target of a file against a device's memories.

Layer: checks. May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and
``pydfuse.errors``. Takes memory maps and the SRAM range as values, so it serves a board
profile (``dfuse check --profile``) and a real device's descriptors alike.

Which target is an application? One whose alternate is 0 (internal flash on every ST device,
§4.9) and whose image starts at the board's fixed application address (``app_address``, e.g.
0x08003000 for ST's demo, §2.9) — or, when the board has none (ROM bootloaders jump to the
pointer), at the start of the first writable sector of that memory. Only applications get the
vector-table checks (§5); data for SPI/NOR flash, option bytes and OTP does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydfuse.checks.elements import check_element_order, check_target_overlap
from pydfuse.checks.findings import CheckReport, Finding, TargetImage, TargetReport
from pydfuse.checks.placement import check_placement
from pydfuse.checks.vectors import check_vector_table
from pydfuse.layout import MemoryMap
from pydfuse.layout.placement import first_writable_after

APPLICATION_ALT = 0


def short_name(memory: MemoryMap) -> str:
    """``SPI Flash`` for ``SPI Flash : M25P64`` (the part after the colon names the chip)."""
    return memory.label.split(" : ", 1)[0].strip() or memory.label


def is_application(target: TargetImage, memory: MemoryMap, app_address: int | None) -> bool:
    """The rule of the module docstring."""
    if target.alt != APPLICATION_ALT or not target.image:
        return False
    if app_address is not None:
        return target.image.start == app_address
    return target.image.start == first_writable_after(memory, memory.start)


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


def _check_target(
    target: TargetImage,
    memories: Mapping[int, MemoryMap],
    sram: tuple[int, int] | None,
    app_address: int | None,
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
    findings = check_placement(target.image, memory)
    findings += check_element_order(target, memory)
    application = is_application(target, memory, app_address)
    if application and sram is not None:
        findings += check_vector_table(
            target.image,
            load_address=target.image.start,
            sram_start=sram[0],
            sram_end=sram[1],
            flash=memory,
            # Only a loader with a fixed application address (ST's demo, Cube, dapboot) tests
            # the stack pointer with a mask; a ROM (app_address None) jumps without it.
            sp_mask_note=app_address is not None,
        )
    elif application:
        findings.append(
            Finding("info", "vector.skipped", "SRAM range unknown: vector table not checked")
        )
    return findings, application


def preflight(
    targets: Sequence[TargetImage],
    memories: Mapping[int, MemoryMap],
    *,
    sram: tuple[int, int] | None,
    app_address: int | None,
) -> CheckReport:
    """Check every target against the memory of its alternate setting.

    ``memories`` maps alternate numbers to their maps; ``sram`` is ``(start, end_exclusive)``;
    ``app_address`` is the board's fixed application address or None (see the module
    docstring for how applications are recognised).
    """
    reports: list[TargetReport] = []
    overlaps = check_target_overlap(targets)
    for index, target in enumerate(targets):
        findings, application = _check_target(target, memories, sram, app_address)
        findings = overlaps.get(index, []) + findings
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
