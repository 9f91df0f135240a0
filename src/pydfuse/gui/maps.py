"""Memory maps as the page draws them: the runs of :mod:`pydfuse.layout.mapview` placed on a
bar 100 units wide, with check findings pinned at their addresses (layer: gui).

The same model as ``dfuse map`` (terminal) and ``dfuse map --svg``; the page draws each run as
a coloured box ``x``..``x + w`` percent wide and each marker as a pin at ``x`` percent.
Imports ``pydfuse.layout``, ``pydfuse.checks`` and ``pydfuse.formats``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydfuse.checks import Finding
from pydfuse.formats import Image, Segment
from pydfuse.layout import MemoryMap
from pydfuse.layout.mapview import DESCRIPTIONS, PRIORITY, MapRun, MemoryView, memory_view
from pydfuse.layout.mapview import place_runs as place

BAR_UNITS = 100.0
GAP_UNITS = 3.0  # an unmapped gap between regions gets a fixed sliver, not its true size


def legend() -> list[dict[str, str]]:
    """Every run kind with its description, most important first."""
    return [{"kind": kind, "text": DESCRIPTIONS[kind]} for kind in PRIORITY]


def _x_of(placed: Sequence[tuple[MapRun, float, float]], address: int) -> float | None:
    """Where ``address`` lies on the bar, or None outside the view."""
    for run, x0, x1 in placed:
        if run.start <= address < run.end:
            return x0 + (x1 - x0) * (address - run.start) / max(run.size, 1)
    return None


def view_dict(view: MemoryView, findings: Iterable[Finding] = ()) -> dict[str, Any]:
    """A JSON-ready memory view: runs with positions, image data outside it, and markers for
    the findings whose address lies in it."""
    placed = place(view, BAR_UNITS, GAP_UNITS)
    markers = []
    for finding in findings:
        if finding.address is None:
            continue
        x = _x_of(placed, finding.address)
        if x is not None:
            markers.append(
                {
                    "x": round(x, 3),
                    "address": finding.address,
                    "severity": finding.severity,
                    "code": finding.code,
                    "message": finding.message,
                }
            )
    return {
        "alt": view.alt,
        "name": view.name,
        "start": view.start,
        "end": view.end,
        "runs": [
            {
                "start": run.start,
                "end": run.end,
                "kind": run.kind,
                "x": round(x0, 3),
                "w": round(x1 - x0, 3),
                "text": DESCRIPTIONS[run.kind],
            }
            for run, x0, x1 in placed
        ],
        "outside": [{"start": lo, "end": hi} for lo, hi in view.outside],
        "markers": markers,
    }


def memory_views(
    memories: Mapping[int, MemoryMap],
    images: Mapping[int, Image] | None = None,
    findings: Mapping[int, Sequence[Finding]] | None = None,
) -> list[dict[str, Any]]:
    """One view per alternate's memory, with that alternate's image and findings in it."""
    images = images or {}
    findings = findings or {}
    return [
        view_dict(memory_view(memory, images.get(alt), alt=alt), findings.get(alt, ()))
        for alt, memory in sorted(memories.items())
    ]


def elements_view(alt: int, name: str, elements: Sequence[Segment]) -> dict[str, Any]:
    """A target drawn without a board: its elements and the gaps between them on one bar from
    its first to its last byte (gaps a fixed sliver, as between memory regions). Elements that
    overlap (a damaged file) are drawn where they are, one after the other."""
    ordered = sorted(elements, key=lambda e: e.address)
    runs: list[MapRun] = []
    for element in ordered:
        if runs and element.address > runs[-1].end:
            runs.append(MapRun(runs[-1].end, element.address, "gap"))
        runs.append(MapRun(element.address, element.end, "written"))
    start = ordered[0].address if ordered else 0
    end = max((e.end for e in ordered), default=0)
    return view_dict(MemoryView(name, alt, start, end, tuple(runs)))
