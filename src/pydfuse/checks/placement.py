"""Placement checks: does an image fit the memory it is meant for? (§3, §4.9, §7 items 18, 20).

Layer: checks. May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and
``pydfuse.errors``. The refusals come from :func:`pydfuse.layout.placement.placement_problems`,
the same analysis ``make_plan`` uses, so ``check`` and ``flash`` agree word for word.
"""

from __future__ import annotations

from itertools import pairwise

from pydfuse.checks.findings import Finding
from pydfuse.formats.image import Image
from pydfuse.layout import MemoryMap
from pydfuse.layout.placement import format_range, format_size, placement_problems

MAX_GAP_FINDINGS = 8


def _gap_finding(memory: MemoryMap, start: int, end: int) -> Finding | None:
    sectors = memory.sectors_between(start, end)
    whole = [s for s in sectors if start <= s.address and s.end <= end]
    if not sectors:
        return None  # between regions or outside the memory: reported as unmapped, if at all
    if whole:
        # Info, not a warning (issue #9): nothing is lost there — images such as MicroPython's
        # keep a filesystem in sectors between their parts on purpose.
        count = len(whole)
        return Finding(
            "info",
            "placement.gap-stale",
            f"the image has a gap at {format_range(start, end)} ({format_size(end - start)}) "
            f"covering {count} whole sector{'s' if count > 1 else ''} that will be neither "
            "erased nor written: they keep their old contents (a filesystem or settings "
            "there survive)",
            start,
        )
    return Finding(
        "info",
        "placement.gap",
        f"the image has a gap at {format_range(start, end)} ({format_size(end - start)}); "
        "those bytes are erased (0xff) but not written",
        start,
    )


def check_placement(image: Image, memory: MemoryMap) -> list[Finding]:
    """Errors for bytes the device cannot take (read-only, unmapped, too large); warnings and
    info for gaps between the image's segments inside the memory."""
    out = [
        Finding("error", f"placement.{p.kind}", p.message, p.address)
        for p in placement_problems(image, memory)
    ]
    gaps = [
        finding
        for before, after in pairwise(image.segments)
        if (finding := _gap_finding(memory, before.end, after.address)) is not None
    ]
    out.extend(gaps[:MAX_GAP_FINDINGS])
    if len(gaps) > MAX_GAP_FINDINGS:
        rest = len(gaps) - MAX_GAP_FINDINGS
        out.append(Finding("info", "placement.gap", f"... and {rest} more gaps in the image"))
    return out
