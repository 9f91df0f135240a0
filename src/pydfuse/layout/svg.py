"""SVG drawing of memory views (the ``dfuse map --svg`` output), as hand-written SVG text.

Layer: layout. May import sibling layout modules only (and the standard library). Pure: returns
a string; the CLI writes it atomically.

Structure (kept stable for tests and for styling): one ``<g class="memory">`` per memory holding
a ``<text class="title">``, one ``<rect class="run KIND">`` per run of the view, and
``<text class="label">`` address labels under the bar; a ``<g class="legend">`` at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from pydfuse.layout.mapview import (
    DESCRIPTIONS,
    PRIORITY,
    MapRun,
    MemoryView,
    RunKind,
    place_runs,
)

COLOURS: dict[RunKind, str] = {
    "conflict": "#d62728",
    "written": "#2ca02c",
    "erased": "#98df8a",
    "protected": "#7f7f7f",
    "free": "#f0f0f0",
    "gap": "#ffffff",
}
MARGIN = 10
BAR_HEIGHT = 28
ROW_HEIGHT = 100
LABEL_WIDTH = 72.0  # ten characters of 11-px monospace, plus a little air
LABEL_ROW = 13


def _labels(
    view: MemoryView, placed: list[tuple[MapRun, float, float]]
) -> list[tuple[float, int, int]]:
    """Address labels ``(left x, address, row)``, each LABEL_WIDTH wide and left-aligned at the
    boundary it names (pulled in at the right edge): the memory's start and end and where
    protected, written, conflicting and unmapped runs begin. A label that would overlap the
    previous one on the first row goes to the second; one that fits on neither is dropped."""
    width = placed[-1][2] if placed else 0.0
    wanted: list[tuple[float, int]] = [(0.0, view.start)]
    for run, x0, _ in placed:
        if run.kind in ("conflict", "written", "protected", "gap") and x0 > 0:
            wanted.append((x0, run.start))
    wanted.append((width, view.end - 1))
    free_from = [0.0, 0.0]  # first free x on each row
    kept: list[tuple[float, int, int]] = []
    for x, address in wanted:
        left = max(min(x, width - LABEL_WIDTH), 0.0)
        for row in (0, 1):
            if left >= free_from[row]:
                kept.append((left, address, row))
                free_from[row] = left + LABEL_WIDTH
                break
    return kept


def _memory_group(view: MemoryView, index: int, width: float) -> list[str]:
    top = MARGIN + index * ROW_HEIGHT
    title = view.name if view.alt is None else f"alt {view.alt}: {view.name}"
    lines = [
        f'<g class="memory" id="memory-{index}">',
        f'  <text class="title" x="{MARGIN}" y="{top + 14}">{escape(title)}</text>',
    ]
    placed = place_runs(view, width, 16.0)
    bar_top = top + 22
    for run, x0, x1 in placed:
        lines.append(
            f'  <rect class="run {run.kind}" x="{MARGIN + x0:.2f}" y="{bar_top}" '
            f'width="{max(x1 - x0, 0.5):.2f}" height="{BAR_HEIGHT}" fill="{COLOURS[run.kind]}" '
            f'stroke="#333" stroke-width="0.3"><title>0x{run.start:08x}..0x{run.end - 1:08x} '
            f"{escape(DESCRIPTIONS[run.kind])}</title></rect>"
        )
    label_y = bar_top + BAR_HEIGHT + 14
    for x, address, row in _labels(view, placed):
        lines.append(
            f'  <text class="label" x="{MARGIN + x:.2f}" y="{label_y + row * LABEL_ROW}">'
            f"0x{address:08x}</text>"
        )
    if view.outside:
        outside = ", ".join(f"0x{a:08x}..0x{b - 1:08x}" for a, b in view.outside)
        lines.append(
            f'  <text class="note" x="{MARGIN}" y="{label_y + 2 * LABEL_ROW + 4}">'
            f"image data outside this memory: {escape(outside)}</text>"
        )
    lines.append("</g>")
    return lines


def _legend(top: int) -> list[str]:
    lines = [f'<g class="legend" transform="translate({MARGIN},{top})">']
    for i, kind in enumerate(PRIORITY):
        x = (i % 3) * 260
        y = (i // 3) * 18
        lines.append(
            f'  <rect x="{x}" y="{y}" width="12" height="12" fill="{COLOURS[kind]}" '
            'stroke="#333" stroke-width="0.3"/>'
        )
        lines.append(f'  <text x="{x + 18}" y="{y + 11}">{escape(DESCRIPTIONS[kind])}</text>')
    lines.append("</g>")
    return lines


def render_svg(views: Sequence[MemoryView], *, width: int = 800) -> str:
    """An SVG document drawing every view, one bar per memory, plus a legend."""
    bar_width = float(max(width - 2 * MARGIN, 100))
    height = MARGIN * 2 + ROW_HEIGHT * len(views) + 40
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">',
    ]
    for index, view in enumerate(views):
        lines += _memory_group(view, index, bar_width)
    lines += _legend(MARGIN + ROW_HEIGHT * len(views))
    lines.append("</svg>")
    return "\n".join(lines) + "\n"
