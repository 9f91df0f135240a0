"""Flashing a full backup back: bytes for read-only sectors that are already there are dropped
(layer: ops).

``dfuse upload backup.dfu`` reads every readable byte, the bootloader's read-only sectors
included; flashing that file back must not fail on them. Data that falls into sectors the
device marks readable but not writable, and that equals what the device already holds there,
is removed from the image with a note. Different data stays, so the pre-flight check still
refuses it. Imports ``pydfuse.formats``, ``pydfuse.layout`` and the sibling ``session``.
"""

from __future__ import annotations

from pydfuse.formats import Image, Segment
from pydfuse.layout import MemoryMap
from pydfuse.ops.records import AltInfo
from pydfuse.ops.session import Session


def _protected_spans(memory: MemoryMap, image: Image) -> list[tuple[int, int]]:
    """[start, end) of read-only (readable, not writable) sectors that hold image bytes."""
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


def _cut(image: Image, start: int, end: int) -> Image:
    """``image`` without the bytes in [start, end)."""
    pieces: list[Segment] = []
    for seg in image:
        if seg.end <= start or seg.address >= end:
            pieces.append(seg)
            continue
        if seg.address < start:
            pieces.append(Segment(seg.address, seg.data[: start - seg.address]))
        if seg.end > end:
            pieces.append(Segment(end, seg.data[end - seg.address :]))
    return Image.from_segments(pieces)


def drop_identical_protected(
    session: Session, info: AltInfo, memory: MemoryMap, image: Image
) -> tuple[Image, list[str]]:
    """``image`` without the bytes in read-only sectors that the device already holds."""
    spans = _protected_spans(memory, image)
    if not spans:
        return image, []
    session.select(info.alt)
    notes: list[str] = []
    for start, end in spans:
        lo = max(start, image.start)
        hi = min(end, image.end)
        wanted = [
            (max(seg.address, lo), seg.data[max(lo - seg.address, 0) : hi - seg.address])
            for seg in image
            if seg.address < hi and lo < seg.end
        ]
        device = session.dfuse.read(lo, hi - lo, phase="compare")
        if all(device[a - lo : a - lo + len(d)] == d for a, d in wanted):
            image = _cut(image, start, end)
            notes.append(
                f"left out 0x{lo:08x}..0x{hi - 1:08x} of {info.name}: read-only sectors that "
                "already hold exactly these bytes (e.g. the bootloader in a full backup)"
            )
    return image, notes
