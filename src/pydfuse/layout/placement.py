"""Where an image's bytes fall in a memory map: writable, read-only or unmapped runs.

Layer: layout. May import ``pydfuse.formats``, ``pydfuse.spec``, ``pydfuse.errors`` and sibling
layout modules. ``pydfuse.plan`` (refusing unsafe writes) and ``pydfuse.checks`` (reporting them)
share this analysis, so both say the same thing in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydfuse.formats.image import Image
from pydfuse.layout.memory import MemoryMap, Sector, describe_rights
from pydfuse.spec import MemoryRights

RunKind = Literal["writable", "protected", "unmapped"]
ProblemKind = Literal["too-large", "unmapped", "read-only"]


def format_size(n_bytes: int) -> str:
    """``512 B``, ``12 KiB``, ``1.5 MiB`` (for messages)."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n_bytes} B"


def format_range(start: int, end: int) -> str:
    """``0x08000000..0x08002fff`` for the half-open range ``[start, end)``."""
    return f"0x{start:08x}..0x{end - 1:08x}"


@dataclass(frozen=True, slots=True)
class ImageRun:
    """Image bytes ``[address, end)`` that all fall in one kind of memory."""

    address: int
    end: int
    kind: RunKind
    rights: MemoryRights | None = None  # of the sectors, for protected runs


@dataclass(frozen=True, slots=True)
class PlacementProblem:
    """One reason why an image cannot be written as it is; ``message`` is user-level text."""

    kind: ProblemKind
    address: int
    message: str


def _kind_of(sector: Sector | None) -> tuple[RunKind, MemoryRights | None]:
    if sector is None:
        return "unmapped", None
    if sector.writable:
        return "writable", None
    return "protected", sector.rights


def _segment_runs(memory: MemoryMap, start: int, end: int) -> list[ImageRun]:
    runs: list[ImageRun] = []
    cursor = start
    for sector in memory.sectors_between(start, end):
        if sector.address > cursor:
            runs.append(ImageRun(cursor, sector.address, "unmapped"))
        kind, rights = _kind_of(sector)
        lo, hi = max(cursor, sector.address), min(end, sector.end)
        runs.append(ImageRun(lo, hi, kind, rights))
        cursor = hi
    if cursor < end:
        runs.append(ImageRun(cursor, end, "unmapped"))
    return runs


def image_runs(image: Image, memory: MemoryMap) -> tuple[ImageRun, ...]:
    """The image's bytes split by the kind of memory under them; touching runs of one kind
    (and, for protected runs, the same rights) are joined."""
    merged: list[ImageRun] = []
    for segment in image:
        for run in _segment_runs(memory, segment.address, segment.end):
            last = merged[-1] if merged else None
            if (
                last
                and last.end == run.address
                and (last.kind, last.rights)
                == (
                    run.kind,
                    run.rights,
                )
            ):
                merged[-1] = ImageRun(last.address, run.end, run.kind, run.rights)
            else:
                merged.append(run)
    return tuple(merged)


def touched_sectors(image: Image, memory: MemoryMap) -> tuple[Sector, ...]:
    """Every sector holding at least one image byte, once each, in address order."""
    seen: dict[int, Sector] = {}
    for segment in image:
        for sector in memory.sectors_between(segment.address, segment.end):
            seen[sector.address] = sector
    return tuple(seen[address] for address in sorted(seen))


def first_writable_after(memory: MemoryMap, address: int) -> int | None:
    """Start of the first writable sector at or after ``address``."""
    for sector in memory.sectors_between(address, memory.end):
        if sector.writable and sector.address >= address:
            return sector.address
    return None


def _protected_message(memory: MemoryMap, image: Image, run: ImageRun) -> str:
    where = format_range(run.address, run.end)
    rights = run.rights if run.rights is not None else MemoryRights(0)
    # §3.2/§3.4: read-only ('a') sectors from the start of a memory are a flash-resident
    # bootloader (6 x 2 KB on the STM3210E demo); other non-writable areas are named by rights.
    if rights == MemoryRights.READABLE and _protected_from_start(memory, run.address):
        what = "read-only sectors (the bootloader)"
    else:
        what = f"sectors that are not writable ({describe_rights(rights)})"
    message = f"{where} lies in {what}"
    target = first_writable_after(memory, run.address)
    if image.start == run.address and target is not None:
        message += f"; this image starts at 0x{image.start:08x} — link it for 0x{target:08x}"
    return message


def _protected_from_start(memory: MemoryMap, address: int) -> bool:
    """True when every sector from the memory's start up to ``address`` is read-only."""
    for sector in memory.sectors_between(memory.start, address + 1):
        if sector.rights != MemoryRights.READABLE:
            return False
    return True


def _too_large_message(memory: MemoryMap, size: int, writable: int) -> str:
    """``this image holds 510 KiB: 10 KiB too large for the 500 KiB writable behind the
    bootloader (from 0x08003000)`` — measured against the writable part (§3.4)."""
    over = format_size(size - writable)
    start = first_writable_after(memory, memory.start)
    if start is not None and start > memory.start and _protected_from_start(memory, start - 1):
        where = f"behind the bootloader (from 0x{start:08x})"
    else:
        where = f"in {memory.label} ({memory.describe_spans()})"
    return (
        f"this image holds {format_size(size)}: {over} too large for the "
        f"{format_size(writable)} writable {where}"
    )


def placement_problems(image: Image, memory: MemoryMap) -> tuple[PlacementProblem, ...]:
    """Reasons the image cannot be written into ``memory`` as it is (empty when it can):
    more bytes to write than the memory's writable sectors hold, bytes outside every sector,
    bytes in sectors without write right."""
    problems: list[PlacementProblem] = []
    runs = image_runs(image, memory)
    writable = sum(s.size for s in memory.sectors if s.writable)
    # Bytes in read-only sectors are their own problem (and a full backup's are left out when
    # the device holds them): the size counts what would have to be written.
    wanted = sum(r.end - r.address for r in runs if r.kind != "protected")
    if wanted > writable:
        problems.append(
            PlacementProblem("too-large", image.start, _too_large_message(memory, wanted, writable))
        )
    for run in runs:
        if run.kind == "unmapped":
            problems.append(
                PlacementProblem(
                    "unmapped",
                    run.address,
                    f"0x{run.address:08x} is outside {memory.label} ({memory.describe_spans()})",
                )
            )
        elif run.kind == "protected":
            problems.append(
                PlacementProblem("read-only", run.address, _protected_message(memory, image, run))
            )
    return tuple(problems)
