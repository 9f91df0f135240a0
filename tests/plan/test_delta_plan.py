"""apply_delta: skipped sectors lose their erase and their writes, nothing else changes; the
verdicts are shown, counted and modeled (issue #11)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.formats.image import Image, Segment
from pydfuse.layout import Sector, parse_layout
from pydfuse.plan import (
    CHANGED,
    IDENTICAL,
    PlanTiming,
    SectorCheck,
    apply_delta,
    final_contents,
    make_plan,
    without_ranges,
)

E_EVAL = parse_layout("@Internal Flash  /0x08000000/06*002Ka,250*002Kg")
APP = 0x08003000
PAGE = 0x800
TIMING = PlanTiming({2048: 30.0}, 2, 52.5, 30.0)


def _image(address: int, size: int) -> Image:
    return Image.from_segments([(address, bytes((i * 7 + 3) & 0xFF for i in range(size)))])


def _verdicts(sectors: tuple[Sector, ...], skip: set[int]) -> list[SectorCheck]:
    return [
        SectorCheck(
            s.address, s.size, s.address in skip, IDENTICAL if s.address in skip else CHANGED
        )
        for s in sectors
    ]


def test_skipped_sectors_lose_their_erase_and_their_bytes() -> None:
    image = _image(APP + 100, 4 * PAGE)  # touches 5 pages, the first and last partly
    plan = make_plan(image, E_EVAL, transfer_size=1024, timing=TIMING)
    skip = {APP + PAGE, APP + 3 * PAGE}
    delta = apply_delta(plan, _verdicts(plan.erases, skip), timing=TIMING)
    assert [s.address for s in delta.erases] == [APP, APP + 2 * PAGE, APP + 4 * PAGE]
    assert [(w.address, len(w)) for w in delta.writes] == [
        (APP + 100, PAGE - 100),
        (APP + 2 * PAGE, PAGE),
        (APP + 4 * PAGE, 100),
    ]
    assert delta.bytes_to_erase == 3 * PAGE and delta.bytes_compared == 5 * PAGE
    assert [c.address for c in delta.skipped] == sorted(skip)
    assert plan.modeled_time_s is not None and delta.modeled_time_s is not None
    assert delta.modeled_time_s < plan.modeled_time_s
    doc = delta.to_dict()
    assert doc["bytes_compared"] == 5 * PAGE
    assert [d["skip"] for d in doc["delta"]] == [False, True, False, True, False]
    assert "2 of 5 sectors unchanged (4 KiB) skipped" in delta.summary()


def test_describe_groups_adjacent_verdicts_with_their_reason() -> None:
    plan = make_plan(_image(APP, 4 * PAGE), E_EVAL, transfer_size=1024)
    delta = apply_delta(plan, _verdicts(plan.erases, {APP + PAGE, APP + 2 * PAGE}))
    lines = delta.describe()
    assert "  rewrite 0x08003000..0x080037ff (1 sector, 2 KiB): holds other bytes" in lines
    assert (
        "  skip 0x08003800..0x080047ff (2 sectors, 4 KiB): already holds exactly these bytes"
        in lines
    )


def test_every_erased_sector_needs_a_verdict_and_mass_erase_is_left_alone() -> None:
    plan = make_plan(_image(APP, 2 * PAGE), E_EVAL, transfer_size=1024)
    with pytest.raises(ValueError, match="no delta verdict for sector 0x08003800"):
        apply_delta(plan, _verdicts(plan.erases[:1], set()))
    mass = make_plan(_image(APP, 2 * PAGE), E_EVAL, transfer_size=1024, mass_erase=True, force=True)
    assert apply_delta(mass, []) is mass


def test_final_contents_is_the_image_over_erased_flash() -> None:
    image = Image.from_segments([(APP + 10, b"abc"), (APP + 2000, b"z")])
    sector = E_EVAL.sector_at(APP)
    assert sector is not None
    expected = bytearray(b"\xff" * PAGE)
    expected[10:13] = b"abc"
    expected[2000] = ord("z")
    assert final_contents(sector, image) == bytes(expected)


@given(
    st.lists(st.tuples(st.integers(0, 200), st.binary(min_size=1, max_size=50)), max_size=5),
    st.lists(st.tuples(st.integers(0, 250), st.integers(1, 40)), max_size=5),
)
def test_without_ranges_removes_exactly_the_bytes_in_the_ranges(
    parts: list[tuple[int, bytes]], cuts: list[tuple[int, int]]
) -> None:
    segments: list[Segment] = []
    cursor = 0
    for gap, data in parts:  # disjoint, sorted segments
        segments.append(Segment(cursor + gap, data))
        cursor += gap + len(data)
    ranges: list[tuple[int, int]] = []
    for start, length in sorted(cuts):  # disjoint, sorted ranges
        start = max(start, ranges[-1][1] if ranges else 0)
        ranges.append((start, start + length))
    kept = without_ranges(segments, ranges)
    inside = {a for lo, hi in ranges for a in range(lo, hi)}
    expected = {
        s.address + i: b
        for s in segments
        for i, b in enumerate(s.data)
        if s.address + i not in inside
    }
    assert {w.address + i: b for w in kept for i, b in enumerate(w.data)} == expected
    assert all(w.data for w in kept)
