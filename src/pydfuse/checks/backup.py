"""Read-only bytes in a full backup: left out by ``flash``, named as notes by ``check``
(layer: checks).

May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and ``pydfuse.errors``.
Pure.

``dfuse upload all.dfu`` reads every readable byte, the bootloader's read-only sectors included.
``flash`` leaves out the bytes of read-only sectors that the device already holds (it reads and
compares them first). ``check`` agrees: with a device it makes the same comparison (through
``pydfuse.ops``); with only a profile it cannot read the device, so it names the read-only bytes
of an image that holds every readable byte of its memory (a full read-back) as a note, and leaves
them out of the other checks. Read-only bytes of any other image are an error, as before: that
is the classic "linked for 0x08000000, overwrites the bootloader" mistake.
"""

from __future__ import annotations

from pydfuse.checks.findings import Finding
from pydfuse.formats.image import Image
from pydfuse.layout import MemoryMap
from pydfuse.layout.placement import format_range


def read_only_spans(memory: MemoryMap, image: Image) -> list[tuple[int, int]]:
    """``[start, end)`` of the readable, not writable sectors that hold image bytes (touching
    sectors joined)."""
    spans: list[tuple[int, int]] = []
    for sector in memory.sectors:
        if sector.writable or not sector.readable:
            continue
        if any(seg.address < sector.end and sector.address < seg.end for seg in image):
            if spans and spans[-1][1] == sector.address:
                spans[-1] = (spans[-1][0], sector.end)
            else:
                spans.append((sector.address, sector.end))
    return spans


def is_full_readback(memory: MemoryMap, image: Image) -> bool:
    """Whether ``image`` holds every readable byte of ``memory`` (what ``upload`` writes)."""
    readable = [s for s in memory.sectors if s.readable]
    return bool(readable) and all(image.covers(s.address, s.end) for s in readable)


def left_out_note(label: str, start: int, end: int) -> str:
    """The note for read-only bytes ``flash`` leaves out because the device holds them."""
    return (
        f"left out {format_range(start, end)} of {label}: read-only sectors that already "
        "hold exactly these bytes (e.g. the bootloader in a full backup)"
    )


def leave_out_backup(image: Image, memory: MemoryMap) -> tuple[Image, list[Finding]]:
    """For a check without a device: a full read-back without its read-only bytes, and a note
    per span saying what ``flash`` will do with them; any other image unchanged."""
    spans = read_only_spans(memory, image)
    if not spans or not is_full_readback(memory, image):
        return image, []
    notes = []
    for start, end in spans:
        image = image.without(start, end)
        notes.append(
            Finding(
                "info",
                "placement.read-only-backup",
                f"{format_range(start, end)} lies in read-only sectors of {memory.label} (the "
                "bootloader): this is a full backup, and flash leaves these bytes out when the "
                "device already holds them (it refuses them if they differ)",
                start,
            )
        )
    return image, notes


def left_out_findings(label: str, spans: tuple[tuple[int, int], ...]) -> list[Finding]:
    """Info findings for spans the caller (``flash``, ``check`` with a device) left out."""
    return [
        Finding("info", "placement.left-out", left_out_note(label, lo, hi), lo) for lo, hi in spans
    ]
