"""Command: map — draw where a file lands in each memory of a board (layer: cli).

Builds :mod:`pydfuse.layout.mapview` views of the targets :mod:`pydfuse.cli.preflight` loads
(the same board resolution as ``check``: --profile, the --sim board, or the connected device)
and renders them with rich, as JSON or as SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from pydfuse.checks import TargetImage
from pydfuse.cli.context import settings
from pydfuse.cli.params import ADDRESS, file_and_address
from pydfuse.cli.preflight import Board, load_targets, resolve_board
from pydfuse.cli.render import console, emit_json, hex32, human_size
from pydfuse.formats import Image, atomic_write, check_writable
from pydfuse.layout.mapview import DESCRIPTIONS, MemoryView, RunKind, bar_cells, memory_view
from pydfuse.layout.svg import render_svg

CELLS: dict[RunKind, tuple[str, str]] = {
    "conflict": ("X", "bold red"),
    "written": ("█", "green"),
    "erased": ("▒", "green"),
    "protected": ("▓", "grey50"),
    "free": ("·", "dim"),
    "gap": ("≈", "blue"),
}


def _bar(view: MemoryView, width: int) -> Text:
    bar = Text()
    for kind in bar_cells(view, width):
        char, style = CELLS[kind]
        bar.append(char, style=style)
    return bar


def render_map(out: Console, views: Sequence[MemoryView], *, width: int) -> None:
    """Draw each memory as a bar with address labels and its runs, then a legend."""
    for view in views:
        title = view.name if view.alt is None else f"alt {view.alt}: {view.name}"
        size = sum(r.size for r in view.runs if r.kind != "gap")
        out.print(Text(f"{title}  ({human_size(size)})", style="bold"))
        out.print(_bar(view, width))
        left, right = hex32(view.start), hex32(view.end - 1)
        out.print(left + " " * max(width - len(left) - len(right), 1) + right)
        for run in view.runs:
            if run.kind in ("free", "gap") and len(view.runs) > 1:
                continue
            char, style = CELLS[run.kind]
            line = Text(f"  {char} ", style=style)
            line.append(
                f"{hex32(run.start)}..{hex32(run.end - 1)}  {human_size(run.size):>9}  "
                f"{DESCRIPTIONS[run.kind]}"
            )
            out.print(line)
        for lo, hi in view.outside:
            out.print(
                Text(f"  ! image data outside this memory: {hex32(lo)}..{hex32(hi - 1)}", "red")
            )
    legend = Text("legend:")
    for kind, (char, style) in CELLS.items():
        legend.append(" " if len(legend) == 7 else "  ")
        legend.append(char, style=style)
        legend.append(f" {kind}")
    out.print(legend)


def build_views(board: Board, targets: Sequence[TargetImage]) -> list[MemoryView]:
    """One view per memory of the board, with the targets for its alternate placed in it."""
    views = []
    for alt, memory in sorted(board.memories.items()):
        images = [t.image for t in targets if t.alt == alt]
        image = Image.from_segments(s for i in images for s in i) if images else None
        views.append(memory_view(memory, image, alt=alt))
    return views


@click.command(name="map")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--profile", metavar="BOARD", help="Board profile whose memories to draw.")
@click.option("--address", type=ADDRESS, help="Load address of a raw .bin (or plain .dfu).")
@click.option("--alt", type=click.IntRange(0, 255), help="Alternate setting of a single image.")
@click.option(
    "--svg",
    "svg_path",
    type=click.Path(path_type=Path),
    help="Also write the drawing as SVG to this file.",
)
@click.option("--width", type=click.IntRange(16, 400), default=64, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the memories and their runs as JSON.")
def map_command(
    file: Path,
    profile: str | None,
    address: int | None,
    alt: int | None,
    svg_path: Path | None,
    width: int,
    as_json: bool,
) -> None:
    """Draw where FILE lands in each memory of a board: protected, written, erased, free."""
    file, address = file_and_address(file, address)  # FILE@ADDR, as flash takes it
    if svg_path is not None:
        check_writable(svg_path)
    board = resolve_board(profile)
    notes: list[str] = []
    targets = load_targets(file, address=address, alt=alt, board=board, notes=notes)
    views = build_views(board, targets)
    missing = sorted({t.alt for t in targets} - set(board.memories))
    if as_json:
        if svg_path is not None:
            atomic_write(svg_path, render_svg(views).encode("utf-8"))
        emit_json({**map_json(file, board, views, missing, svg_path), "notes": notes})
        return
    for note in notes:  # a DFU suffix left out, identical bytes merged
        console(err=True).print(f"note: {note}", markup=False)
    out = console()
    render_map(out, views, width=width)
    for number in missing:
        out.print(Text(f"target {number}: {board.name} has no alternate {number}", "red"))
    if svg_path is not None:
        atomic_write(svg_path, render_svg(views).encode("utf-8"))
        if not settings().quiet:
            out.print(f"wrote {svg_path}")


def map_json(
    file: Path,
    board: Board,
    views: Sequence[MemoryView],
    missing: Sequence[int],
    svg_path: Path | None,
) -> dict[str, object]:
    """The ``map --json`` document: each memory with its runs ([start, end) as integers, like
    ``check --json``; sizes; kinds)."""
    return {
        "file": str(file),
        "profile": board.name,
        "memories": [
            {
                "alt": view.alt,
                "name": view.name,
                "start": view.start,
                "end": view.end,
                "runs": [
                    {"start": r.start, "end": r.end, "size": r.size, "kind": r.kind}
                    for r in view.runs
                ],
                "outside": [{"start": lo, "end": hi} for lo, hi in view.outside],
            }
            for view in views
        ],
        "missing_alternates": list(missing),
        "svg": str(svg_path) if svg_path is not None else None,
    }
