"""make_plan: classic mistakes refused with user-level messages, forced plans warn, and the plan
invariants of design.md hold for generated images (§2.11, §4.9, §7 items 20/23)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.errors import PlanError
from pydfuse.formats.image import Image, Segment
from pydfuse.layout import MemoryMap, parse_layout
from pydfuse.plan import PlanTiming, make_plan

E_EVAL = parse_layout("@Internal Flash  /0x08000000/06*002Ka,250*002Kg\x00")
F4 = parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg")
OPTION = parse_layout("@Option Bytes  /0x1FFFF800/01*016 e")
MULTI = parse_layout("@Flash/0x08000000/04*001Kg/0x08001000/04*001Kg/0x08004000/02*001Ka")


def _image(*parts: tuple[int, int]) -> Image:
    return Image.from_segments((a, bytes((a + i) & 0xFF for i in range(n))) for a, n in parts)


def test_app_at_0x08003000_is_planned_page_by_page() -> None:
    plan = make_plan(_image((0x08003000, 5000)), E_EVAL, transfer_size=1024)
    assert [s.address for s in plan.erases] == [0x08003000, 0x08003800, 0x08004000]
    assert plan.writes == (Segment(0x08003000, _image((0x08003000, 5000)).segments[0].data),)
    assert (plan.blocks, plan.bytes_to_write, plan.bytes_to_erase) == (5, 5000, 6144)
    assert plan.warnings == () and plan.modeled_time_s is None and not plan.mass_erase
    assert [b.address for b in plan.iter_blocks()] == [0x08003000 + i * 1024 for i in range(5)]
    assert [len(b) for b in plan.iter_blocks()] == [1024] * 4 + [904]


def test_image_linked_for_0x08000000_overlaps_the_bootloader() -> None:
    with pytest.raises(PlanError) as info:
        make_plan(_image((0x08000000, 0x5000)), E_EVAL, transfer_size=1024)
    assert str(info.value) == (
        "0x08000000..0x08002fff lies in read-only sectors (the bootloader); this image starts "
        "at 0x08000000 — link it for 0x08003000"
    )
    assert info.value.address == 0x08000000


def test_write_into_unmapped_address() -> None:
    with pytest.raises(PlanError) as info:
        make_plan(_image((0x00800000, 16)), E_EVAL, transfer_size=1024)
    assert str(info.value) == "0x00800000 is outside Internal Flash (0x08000000..0x0807ffff)"
    assert info.value.address == 0x00800000


def test_image_larger_than_the_memory() -> None:
    with pytest.raises(PlanError) as info:
        make_plan(_image((0x08003000, 600 * 1024)), E_EVAL, transfer_size=1024)
    assert str(info.value) == (
        "this image holds 600 KiB: 100 KiB too large for the 500 KiB writable behind the "
        "bootloader (from 0x08003000)"
    )


def test_force_writes_anyway_with_loud_warnings() -> None:
    plan = make_plan(_image((0x08002000, 0x2000)), E_EVAL, transfer_size=2048, force=True)
    assert plan.warnings == (
        "FORCED: 0x08002000..0x08002fff lies in read-only sectors (the bootloader); "
        "this image starts at 0x08002000 — link it for 0x08003000; writing it anyway",
    )
    # forced read-only pages are erased too, so the writes can land (§7 item 10)
    assert [s.address for s in plan.erases] == [0x08002000, 0x08002800, 0x08003000, 0x08003800]
    assert "  WARNING: " + plan.warnings[0] in plan.describe()


def test_option_bytes_are_written_without_erase() -> None:
    plan = make_plan(_image((0x1FFFF800, 16)), OPTION, transfer_size=1024)
    assert plan.erases == () and plan.bytes_to_write == 16 and plan.bytes_to_erase == 0


def test_elements_sharing_a_page_erase_it_once() -> None:
    # §4.9: two elements in one page, given out of order: one erase, both writes kept.
    image = Image.from_segments([(0x08003400, b"\x02" * 8), (0x08003000, b"\x01" * 8)])
    plan = make_plan(image, E_EVAL, transfer_size=1024)
    assert [s.address for s in plan.erases] == [0x08003000]
    assert [w.address for w in plan.writes] == [0x08003000, 0x08003400]


def test_writes_never_cross_regions() -> None:
    plan = make_plan(_image((0x08000800, 0x1000)), MULTI, transfer_size=2048)
    assert [(w.address, len(w)) for w in plan.writes] == [(0x08000800, 0x800), (0x08001000, 0x800)]
    assert plan.blocks == 2


def test_mass_erase() -> None:
    plan = make_plan(_image((0x08000000, 10)), F4, transfer_size=2048, mass_erase=True)
    assert plan.mass_erase and plan.erases == () and plan.bytes_to_erase == 1024 * 1024
    assert "  mass erase (1 MiB)" in plan.describe()
    with pytest.raises(PlanError, match=r"would also wipe 0x08000000\.\.0x08002fff"):
        make_plan(_image((0x08003000, 10)), E_EVAL, transfer_size=1024, mass_erase=True)
    forced = make_plan(
        _image((0x08003000, 10)), E_EVAL, transfer_size=1024, mass_erase=True, force=True
    )
    assert forced.warnings and forced.warnings[0].startswith("FORCED: a mass erase")
    with pytest.raises(PlanError, match="no erasable sectors"):
        make_plan(_image((0x1FFFF800, 4)), OPTION, transfer_size=64, mass_erase=True, force=True)


def test_bad_arguments() -> None:
    with pytest.raises(PlanError, match="no data"):
        make_plan(Image(), E_EVAL, transfer_size=1024)
    with pytest.raises(PlanError, match="positive"):
        make_plan(_image((0x08003000, 4)), E_EVAL, transfer_size=0)


def test_modeled_time_and_describe() -> None:
    # §6.1 F1 figures: 2 KB page erase 40 ms, 16-bit programming 52.5 us.
    timing = PlanTiming({2048: 40.0}, 2, 52.5, 40.0, bus_bytes_per_s=1_000_000.0)
    plan = make_plan(_image((0x08003000, 4096)), E_EVAL, transfer_size=1024, timing=timing)
    expected = (2 * 40.0 + 2048 * 0.0525 + 4.096) / 1000.0
    assert plan.modeled_time_s == pytest.approx(expected)
    assert plan.describe() == [
        "plan for Internal Flash:",
        "  erase 0x08003000..0x08003fff (2 sectors, 4 KiB)",
        "  write 0x08003000..0x08003fff (4 KiB) in 4 blocks of ≤ 1024 B",
        "  total: 4 KiB in 4 blocks, 4 KiB erased, modeled time 0.2 s",
    ]
    # a sector size missing from the table scales the nearest one
    assert PlanTiming({16384: 250.0}, 4, 16.0, 8000.0).erase_ms(65536) == pytest.approx(1000.0)


SEGMENTS = st.lists(
    st.tuples(st.integers(0x08000000, 0x08080000), st.integers(1, 6000)), min_size=1, max_size=6
)


def _disjoint(parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for address, size in sorted(parts):
        if out and address < out[-1][0] + out[-1][1]:
            continue
        out.append((address, size))
    return out


def _all_writable(memory: MemoryMap, image: Image) -> bool:
    """Independent of the code under test: walk every segment sector by sector."""
    for segment in image:
        address = segment.address
        while address < segment.end:
            sector = memory.sector_at(address)
            if sector is None or not sector.writable:
                return False
            address = sector.end
    return True


@given(parts=SEGMENTS, transfer_size=st.sampled_from([64, 1024, 2048, 4096]))
@pytest.mark.parametrize("memory", [E_EVAL, F4, MULTI], ids=["e-eval", "f4", "multi"])
def test_plan_invariants(
    memory: MemoryMap, parts: list[tuple[int, int]], transfer_size: int
) -> None:
    image = _image(*_disjoint(parts))
    expect_refusal = image.size > memory.size or not _all_writable(memory, image)
    if expect_refusal:
        with pytest.raises(PlanError) as info:
            make_plan(image, memory, transfer_size=transfer_size)
        assert info.value.address is not None
        return
    plan = make_plan(image, memory, transfer_size=transfer_size)
    erased = {s.address for s in plan.erases}
    assert len(erased) == len(plan.erases)  # each sector at most once
    assert [s.address for s in plan.erases] == sorted(erased)
    rebuilt = Image.from_segments(plan.writes)
    assert rebuilt == image  # the writes reproduce the image exactly
    for write in plan.writes:
        for sector in memory.sectors_between(write.address, write.end):
            assert sector.writable
            assert sector.address in erased or not sector.erasable
        regions = {r.address for r in memory.regions if r.address <= write.address < r.end} | {
            r.address for r in memory.regions if r.address <= write.end - 1 < r.end
        }
        assert len(regions) == 1  # never crosses from one region into another
    blocks = list(plan.iter_blocks())
    assert all(0 < len(b) <= transfer_size for b in blocks) and len(blocks) == plan.blocks
    assert Image.from_segments(blocks) == image


@pytest.mark.parametrize(
    "layout",
    [
        "@Option Bytes  /0x1FFFC000/01*016 g",
        "@OTP Memory /0x1FFF7800/01*512 g,01*016 g",
        "@Device Feature/0xFFFF0000/01*004 g",
    ],
)
def test_memories_whose_g_letters_lie_are_written_in_place(layout: str) -> None:
    # §3.1 (dfu-util forces 'e' for Device Feature), §3.2 (option bytes), OTP cannot be erased
    memory = parse_layout(layout)
    plan = make_plan(_image((memory.start, 4)), memory, transfer_size=2048)
    assert plan.erases == () and plan.bytes_to_erase == 0 and plan.bytes_to_write == 4
    # The parsed map says what the device said, except Device Feature, which the parser reads
    # as 'e' the way dfu-util does (§3.1).
    assert memory.sectors[0].erasable == (not layout.startswith("@Device Feature"))


def test_internal_flash_is_not_affected_by_quirks() -> None:
    plan = make_plan(_image((0x08000000, 4)), F4, transfer_size=2048)
    assert [s.address for s in plan.erases] == [0x08000000]
