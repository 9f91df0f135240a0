"""A drawable model of a memory with an image in it: runs of protected, written, erased-but-
unwritten, free and unmapped addresses, and their placement on a bar of any width.

Layer: layout. May import ``pydfuse.formats``, ``pydfuse.spec``, ``pydfuse.errors`` and sibling
layout modules. Pure: ``dfuse map`` renders it with rich, :mod:`pydfuse.layout.svg` as SVG.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydfuse.formats.image import Image
from pydfuse.layout.memory import MemoryMap, Sector

RunKind = Literal["conflict", "written", "erased", "protected", "free", "gap"]
# What wins when several kinds share one column of a bar (a byte of data must never vanish).
PRIORITY: tuple[RunKind, ...] = ("conflict", "written", "erased", "protected", "free", "gap")
DESCRIPTIONS: dict[RunKind, str] = {
    "conflict": "image data in read-only sectors",
    "written": "written by the image",
    "erased": "erased, not written (sector shared with the image)",
    "protected": "read-only (bootloader / protected)",
    "free": "untouched",
    "gap": "not mapped (between regions)",
}


@dataclass(frozen=True, slots=True)
class MapRun:
    """Addresses ``[start, end)`` of one kind."""

    start: int
    end: int
    kind: RunKind

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class MemoryView:
    """One memory as runs from its start to its end; ``outside`` lists image ranges that fall
    outside every sector of the memory (drawn as a note, not on the bar)."""

    name: str
    alt: int | None
    start: int
    end: int
    runs: tuple[MapRun, ...]
    outside: tuple[tuple[int, int], ...] = ()


def _data_ranges(image: Image, lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(s.address, lo), min(s.end, hi)) for s in image if s.address < hi and s.end > lo]


def _sector_runs(sector: Sector, image: Image) -> list[MapRun]:
    data = _data_ranges(image, sector.address, sector.end)
    if not data:
        return [MapRun(sector.address, sector.end, "free" if sector.writable else "protected")]
    inside: RunKind = "written" if sector.writable else "conflict"
    # Untouched bytes of a touched sector are erased with it (only when it is erased at all).
    around: RunKind = (
        "protected" if not sector.writable else ("erased" if sector.erasable else "free")
    )
    runs: list[MapRun] = []
    cursor = sector.address
    for lo, hi in data:
        if lo > cursor:
            runs.append(MapRun(cursor, lo, around))
        runs.append(MapRun(lo, hi, inside))
        cursor = hi
    if cursor < sector.end:
        runs.append(MapRun(cursor, sector.end, around))
    return runs


def _merge(runs: Iterable[MapRun]) -> tuple[MapRun, ...]:
    out: list[MapRun] = []
    for run in runs:
        if out and out[-1].end == run.start and out[-1].kind == run.kind:
            out[-1] = MapRun(out[-1].start, run.end, run.kind)
        else:
            out.append(run)
    return tuple(out)


def _outside(image: Image, memory: MemoryMap) -> tuple[tuple[int, int], ...]:
    ranges: list[tuple[int, int]] = []
    for segment in image:
        cursor = segment.address
        for sector in memory.sectors_between(segment.address, segment.end):
            if sector.address > cursor:
                ranges.append((cursor, sector.address))
            cursor = max(cursor, sector.end)
        if cursor < segment.end:
            ranges.append((cursor, segment.end))
    return tuple(ranges)


def memory_view(
    memory: MemoryMap, image: Image | None = None, *, alt: int | None = None
) -> MemoryView:
    """The runs of ``memory`` with ``image`` (if any) placed in it."""
    image = image if image is not None else Image()
    runs: list[MapRun] = []
    previous_end: int | None = None
    for sector in memory.sectors:
        if previous_end is not None and sector.address > previous_end:
            runs.append(MapRun(previous_end, sector.address, "gap"))
        runs.extend(_sector_runs(sector, image))
        previous_end = sector.end
    return MemoryView(
        memory.label, alt, memory.start, memory.end, _merge(runs), _outside(image, memory)
    )


def place_runs(
    view: MemoryView, total: float, gap_width: float
) -> list[tuple[MapRun, float, float]]:
    """Each run with its ``x0, x1`` on a bar ``total`` units wide. Unmapped gaps between regions
    get ``gap_width`` each (their true size would squash everything else); mapped addresses
    share the rest in proportion to their size."""
    gaps = [r for r in view.runs if r.kind == "gap"]
    mapped = sum(r.size for r in view.runs if r.kind != "gap")
    scale = max(total - gap_width * len(gaps), 0.0) / mapped if mapped else 0.0
    placed: list[tuple[MapRun, float, float]] = []
    x = 0.0
    for run in view.runs:
        width = gap_width if run.kind == "gap" else run.size * scale
        placed.append((run, x, x + width))
        x += width
    return placed


def bar_cells(view: MemoryView, width: int) -> list[RunKind]:
    """``width`` cells for a text bar; each shows the most important kind it covers."""
    placed = place_runs(view, float(width), 1.0 if width >= 20 else 0.0)
    cells: list[RunKind] = []
    for column in range(width):
        kinds = {run.kind for run, x0, x1 in placed if x0 < column + 1 and x1 > column}
        cells.append(next((k for k in PRIORITY if k in kinds), "free"))
    return cells
