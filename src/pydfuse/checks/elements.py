"""Checks of a DfuSe file's element order and of targets that collide (§4.9, §7 item 23).

Layer: checks. May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and
``pydfuse.errors``. Pure.

pydfuse itself sorts and merges elements and erases each page once, so these findings describe
what *other* hosts would do with the file: dfu-util erases page-wise per element remembering
only the last erased page, pydfu erases the page of every chunk without remembering anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from pydfuse.checks.findings import Finding, TargetImage
from pydfuse.layout import MemoryMap


def _pages(memory: MemoryMap, address: int, end: int) -> set[int]:
    return {s.address for s in memory.sectors_between(address, end)}


def check_element_order(target: TargetImage, memory: MemoryMap) -> list[Finding]:
    """A warning when elements are out of address order and a later one shares a page with
    an earlier one (dfu-util and pydfu then erase data they wrote a moment before); info when
    in-order elements share pages (pydfu alone loses data)."""
    elements = target.elements
    out_of_order = next(((a, b) for a, b in pairwise(elements) if b.address < a.address), None)
    seen: dict[int, int] = {}  # page -> index of the first element touching it
    shared: list[tuple[int, int, int]] = []  # (page, first element, later element)
    for index, element in enumerate(elements):
        for page in sorted(_pages(memory, element.address, element.end)):
            if page in seen and seen[page] != index:
                shared.append((page, seen[page], index))
            seen.setdefault(page, index)
    out: list[Finding] = []
    early = [(p, i, j) for p, i, j in shared if elements[j].address < elements[i].address]
    if out_of_order is not None and early:
        page, first, later = early[0]
        out.append(
            Finding(
                "warning",
                "file.element-order",
                f"target {target.alt}: element {later} (0x{elements[later].address:08x}) comes "
                f"after element {first} (0x{elements[first].address:08x}) and shares the page "
                f"at 0x{page:08x}; dfu-util and pydfu would erase that page again and lose "
                "data (pydfuse sorts the elements and erases each page once)",
                elements[later].address,
            )
        )
    elif shared:
        page, first, later = shared[0]
        more = f" (and {len(shared) - 1} more)" if len(shared) > 1 else ""
        out.append(
            Finding(
                "info",
                "file.element-pages",
                f"target {target.alt}: elements {first} and {later} share the page at "
                f"0x{page:08x}{more}; pydfu erases per chunk and would lose data there "
                "(pydfuse and dfu-util do not)",
                page,
            )
        )
    return out


def check_target_overlap(targets: Sequence[TargetImage]) -> dict[int, list[Finding]]:
    """Errors for targets that write bytes an earlier target for the same alternate writes
    too, keyed by the index of the later target."""
    out: dict[int, list[Finding]] = {}
    for j, second in enumerate(targets):
        for first in targets[:j]:
            if first.alt != second.alt:
                continue
            clash = _first_overlap(first, second)
            if clash is not None:
                lo, hi = clash
                out.setdefault(j, []).append(
                    Finding(
                        "error",
                        "target.overlap",
                        f"targets {first.name!r} and {second.name!r} for alt {first.alt} both "
                        f"write 0x{lo:08x}..0x{hi - 1:08x}; only one can be kept",
                        lo,
                    )
                )
    return out


def _first_overlap(first: TargetImage, second: TargetImage) -> tuple[int, int] | None:
    for a in first.image:
        for b in second.image:
            if b.address < a.end and a.address < b.end:
                return max(a.address, b.address), min(a.end, b.end)
    return None
