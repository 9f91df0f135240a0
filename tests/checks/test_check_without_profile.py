"""The pre-flight check with nothing but the device's layout strings: no board profile, no SRAM
size, no application address. The classic mistake — an application linked for one address and
placed at another — is caught at any offset, on any layout."""

from __future__ import annotations

import pytest

from pydfuse.checks import (
    TargetImage,
    app_address_of,
    application_alt,
    inferred_app_address,
    looks_like_vector_table,
    preflight,
)
from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.layout import parse_layout
from support.images import E_EVAL_MEMORIES, app_image

F4_ROM = {
    0: parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg"),
    1: parse_layout("@Option Bytes  /0x1FFFC000/01*016 e"),
}
CUBE_F4 = {
    0: parse_layout(
        "@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg,04*016Kg,01*064Kg,"
        "07*128Kg"
    )
}

# (link address, load address): behind the ST demo loader, and two offsets where neither is
# the application address the layout implies
CLASSIC_PAIRS = [
    (0x08000000, 0x08003000),
    (0x0800C000, 0x08008000),
    (0x08020000, 0x08040000),
]


def _check(image, memories=E_EVAL_MEMORIES, alt=0, **kw):  # type: ignore[no-untyped-def]
    return preflight([TargetImage(alt, "app", image)], memories, **kw)


@pytest.mark.parametrize(("link", "load"), CLASSIC_PAIRS)
@pytest.mark.parametrize("memories", [E_EVAL_MEMORIES, F4_ROM], ids=["st-demo", "f4-rom"])
def test_linked_elsewhere_is_refused_at_any_offset(link: int, load: int, memories) -> None:  # type: ignore[no-untyped-def]
    report = _check(build_demo_app(link_address=link, load_address=load), memories)
    assert not report.ok
    (finding,) = [f for f in report.findings if f.code.startswith("vector.")]
    assert finding.code == "vector.linked-elsewhere"
    assert f"it was linked for 0x{link:08x} but is being loaded at 0x{load:08x}" in (
        finding.message
    )
    assert f"move FLASH ORIGIN in your linker script to 0x{load:08x}" in finding.message
    assert report.targets[0].application


@pytest.mark.parametrize(("link", "load"), CLASSIC_PAIRS)
def test_linked_where_it_is_loaded_passes(link: int, load: int) -> None:
    report = _check(build_demo_app(link_address=load))
    assert report.ok and report.findings == ()
    assert report.targets[0].application


def test_the_application_address_comes_from_the_layout() -> None:
    assert application_alt(E_EVAL_MEMORIES) == 0
    assert inferred_app_address(E_EVAL_MEMORIES[0]) == 0x08003000  # behind 6 x 2 KB 'a'
    assert inferred_app_address(F4_ROM[0]) == 0x08000000  # ROM loader: no 'a' run
    assert inferred_app_address(CUBE_F4[0]) == 0x0800C000  # CubeMX's 3 x 16 KB 'a'
    assert app_address_of(E_EVAL_MEMORIES, None) == 0x08003000
    assert app_address_of(E_EVAL_MEMORIES, 0x08004000) == 0x08004000  # a profile's wins
    # the image at the inferred address must begin with a vector table
    blob = build_data_blob(0x08003000, 4096)
    report = _check(blob)
    assert not report.ok and report.targets[0].application
    assert report.findings[0].code == "vector.stack"


def test_data_elsewhere_is_not_taken_for_a_vector_table() -> None:
    for address in (0x08008000, 0x08040000):
        report = _check(build_data_blob(address, 4096, seed=address))
        assert report.ok and not report.targets[0].application
    spi = _check(build_data_blob(0, 64 * 1024), alt=1)
    assert spi.ok and not spi.targets[0].application


def test_looks_like_vector_table() -> None:
    good = build_demo_app(link_address=0x0800C000, load_address=0x08008000)
    assert looks_like_vector_table(good, 0x08008000)
    assert not looks_like_vector_table(build_data_blob(0x08008000, 256), 0x08008000)
    assert not looks_like_vector_table(app_image(0x08003000, sp=0x00000000), 0x08003000)
    assert not looks_like_vector_table(app_image(0x08003000, sp=0x50000000), 0x08003000)


def test_stack_pointer_without_a_profile_uses_the_architectural_regions() -> None:
    # 0x20020000 is beyond the E-EVAL's 64 KB but a valid Cortex-M SRAM address: fine without
    # a profile (the ST demo's SP mask is worth a note), an error with the board's facts
    big = app_image(0x08003000, sp=0x20020000)
    assert [f.code for f in _check(big).findings] == ["vector.stack-mask"]
    exact = _check(big, sram=(0x20000000, 0x20010000))
    assert [f.code for f in exact.findings] == ["vector.stack"] and not exact.ok
    # a stack in CCM RAM (STM32F405/407) is legitimate, not an error
    ccm = build_demo_app(link_address=0x08000000, stack_top=0x10010000)
    assert _check(ccm, F4_ROM).ok
    assert _check(ccm, F4_ROM, sram=((0x20000000, 0x20020000), (0x10000000, 0x10010000))).ok
    no_ccm = _check(ccm, F4_ROM, sram=(0x20000000, 0x20020000))
    assert not no_ccm.ok and "SRAM 0x20000000..0x2001ffff" in no_ccm.findings[0].message
    # outside every RAM region: the message names the regions that were used
    far = _check(app_image(0x08003000, sp=0x50000000))
    assert not far.ok
    assert "the Cortex-M SRAM region 0x20000000..0x3fffffff and the CCM RAM" in (
        far.findings[0].message
    )


def test_a_staged_image_in_external_flash_is_a_warning() -> None:
    # an update kept in SPI flash for a loader to copy to 0x08003000: it holds a vector table
    # for the internal flash, which is fine where it is
    staged = build_demo_app(link_address=0x08003000, load_address=0x00000000)
    report = _check(staged, alt=1)
    assert report.ok
    assert [(f.severity, f.code) for f in report.findings] == [("warning", "vector.staged")]
    # code for the NOR flash itself (it is memory mapped) linked elsewhere in it: an error
    nor = build_demo_app(link_address=0x64000000, load_address=0x64020000)
    assert [f.code for f in _check(nor, alt=2).findings] == ["vector.linked-elsewhere"]


def test_leave_target_must_be_an_application() -> None:
    blob = build_data_blob(0x08010000, 4096)
    assert _check(blob).ok  # data: nothing to check
    report = _check(blob, entry=0x08010000)  # ...but a leave would jump into it
    assert not report.ok and report.targets[0].application
