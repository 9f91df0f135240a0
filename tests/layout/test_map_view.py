"""The map model (runs, bar cells) and its SVG rendering."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pydfuse.formats.image import Image
from pydfuse.layout import parse_layout
from pydfuse.layout.mapview import MapRun, bar_cells, memory_view
from pydfuse.layout.svg import render_svg
from support.images import E_EVAL_FLASH, E_EVAL_NOR, E_EVAL_SPI, app_image

SVG = "{http://www.w3.org/2000/svg}"


def test_runs_of_an_application_at_0x08003000() -> None:
    view = memory_view(E_EVAL_FLASH, app_image(0x08003000, size=0x900), alt=0)
    assert view.runs == (
        MapRun(0x08000000, 0x08003000, "protected"),
        MapRun(0x08003000, 0x08003900, "written"),
        MapRun(0x08003900, 0x08004000, "erased"),
        MapRun(0x08004000, 0x08080000, "free"),
    )
    assert (view.name, view.alt, view.start, view.end, view.outside) == (
        "Internal Flash",
        0,
        0x08000000,
        0x08080000,
        (),
    )


def test_conflicts_gaps_and_outside_data() -> None:
    memory = parse_layout("@Flash/0x0/2*1Ka,2*1Kg/0x10000/1*1Kg/0x20000/1*16 e")
    image = Image.from_segments([(0x300, b"\1" * 0x200), (0x20000, b"\2" * 4), (0x9000, b"3")])
    view = memory_view(memory, image)
    assert view.runs == (
        MapRun(0x0, 0x300, "protected"),
        MapRun(0x300, 0x500, "conflict"),
        MapRun(0x500, 0x800, "protected"),
        MapRun(0x800, 0x1000, "free"),
        MapRun(0x1000, 0x10000, "gap"),
        MapRun(0x10000, 0x10400, "free"),
        MapRun(0x10400, 0x20000, "gap"),
        MapRun(0x20000, 0x20004, "written"),
        MapRun(0x20004, 0x20010, "free"),  # 'e' sectors are not erased around the data
    )
    assert view.outside == ((0x9000, 0x9001),)


def test_bar_cells_keep_small_data_visible() -> None:
    # 16 bytes in 512 KiB: far below one cell, still drawn (data never vanishes)
    view = memory_view(E_EVAL_FLASH, Image.from_segments([(0x08040000, b"\0" * 16)]))
    cells = bar_cells(view, 64)
    assert cells.count("written") == 1 and cells[32] == "written"
    assert cells[:2] == ["protected", "protected"] and cells[2] == "free"
    # gaps between regions get one fixed cell each, not their (huge) true size
    multi = parse_layout("@F/0x08000000/04*016Kg/0x80000000/04*016Kg")
    multi_cells = bar_cells(memory_view(multi), 41)
    assert multi_cells == ["free"] * 20 + ["gap"] + ["free"] * 20


def test_svg_structure() -> None:
    views = [
        memory_view(E_EVAL_FLASH, app_image(0x08003000, size=0x900), alt=0),
        memory_view(E_EVAL_SPI, None, alt=1),
        memory_view(E_EVAL_NOR, Image.from_segments([(0, b"x")]), alt=2),
    ]
    text = render_svg(views, width=800)
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg" and root.get("width") == "800"
    memories = root.findall(f"{SVG}g[@class='memory']")
    assert len(memories) == 3
    rects = [[r.get("class") for r in g.findall(f"{SVG}rect")] for g in memories]
    assert rects == [
        ["run protected", "run written", "run erased", "run free"],
        ["run free"],
        ["run free"],
    ]
    titles = [g.find(f"{SVG}text[@class='title']").text for g in memories]  # type: ignore[union-attr]
    assert titles == [
        "alt 0: Internal Flash",
        "alt 1: SPI Flash : M25P64",
        "alt 2: NOR Flash : M29W128F",
    ]
    labels = [[t.text for t in g.findall(f"{SVG}text[@class='label']")] for g in memories]
    assert labels[0] == ["0x08000000", "0x08003000", "0x0807ffff"]  # 2nd on the second row
    ys = [t.get("y") for t in memories[0].findall(f"{SVG}text[@class='label']")]
    assert ys[0] == ys[2] != ys[1]
    assert labels[1] == ["0x00000000", "0x007fffff"]
    notes = memories[2].findall(f"{SVG}text[@class='note']")
    assert [n.text for n in notes] == ["image data outside this memory: 0x00000000..0x00000000"]
    assert len(root.findall(f"{SVG}g[@class='legend']/{SVG}rect")) == 6
    # widths of one memory's rects add up to the bar width
    widths = [float(r.get("width", "0")) for r in memories[0].findall(f"{SVG}rect")]
    assert abs(sum(widths) - 780) < 1.0


def test_svg_escapes_names() -> None:
    memory = parse_layout("@A<&>B/0x0/1*1Kg")
    root = ET.fromstring(render_svg([memory_view(memory)]))
    title = root.find(f"{SVG}g/{SVG}text[@class='title']")
    assert title is not None and title.text == "A<&>B"
