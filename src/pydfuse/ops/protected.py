"""Flashing a full backup back: bytes for read-only sectors that are already there are dropped
(layer: ops).

``dfuse upload backup.dfu`` reads every readable byte, the bootloader's read-only sectors
included; flashing that file back must not fail on them. Data that falls into sectors the
device marks readable but not writable, and that equals what the device already holds there,
is removed from the image (the pre-flight report and ``flash`` say so). Different data stays,
so the pre-flight check still refuses it. Imports ``pydfuse.checks``, ``pydfuse.formats``,
``pydfuse.layout`` and the sibling ``session``.
"""

from __future__ import annotations

from pydfuse.checks.backup import read_only_spans
from pydfuse.formats import Image
from pydfuse.layout import MemoryMap
from pydfuse.ops.protection import read_memory
from pydfuse.ops.records import AltInfo
from pydfuse.ops.session import Session


def drop_identical_protected(
    session: Session, info: AltInfo, memory: MemoryMap, image: Image
) -> tuple[Image, list[tuple[int, int]]]:
    """``image`` without the bytes in read-only sectors that the device already holds, and the
    ``[start, end)`` spans left out."""
    spans = read_only_spans(memory, image)
    if not spans:
        return image, []
    session.select(info.alt)
    left_out: list[tuple[int, int]] = []
    for start, end in spans:
        lo = max(start, image.start)
        hi = min(end, image.end)
        wanted = [
            (max(seg.address, lo), seg.data[max(lo - seg.address, 0) : hi - seg.address])
            for seg in image
            if seg.address < hi and lo < seg.end
        ]
        device = read_memory(session, info, lo, hi, phase="compare")  # option bytes: whole
        if all(device[a - lo : a - lo + len(d)] == d for a, d in wanted):
            image = image.without(start, end)
            left_out.append((lo, hi))
    return image, left_out
