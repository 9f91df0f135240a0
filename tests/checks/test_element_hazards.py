"""Element-order hazards of DfuSe files and colliding targets (§4.9, §7 item 23)."""

from __future__ import annotations

from pydfuse.checks import (
    Finding,
    TargetImage,
    check_element_order,
    check_target_overlap,
    preflight,
)
from pydfuse.formats.image import Image, Segment
from support.images import E_EVAL_FLASH, E_EVAL_MEMORIES, E_EVAL_SRAM


def _target(*elements: tuple[int, bytes], alt: int = 0, name: str = "t") -> TargetImage:
    segs = tuple(Segment(a, d) for a, d in elements)
    return TargetImage(alt, name, Image.from_segments(segs), segs)


def test_out_of_order_elements_sharing_a_page_warn() -> None:
    target = _target((0x08003400, b"\2" * 8), (0x08003000, b"\1" * 8))
    assert check_element_order(target, E_EVAL_FLASH) == [
        Finding(
            "warning",
            "file.element-order",
            "target 0: element 1 (0x08003000) comes after element 0 (0x08003400) and shares the "
            "page at 0x08003000; dfu-util and pydfu would erase that page again and lose data "
            "(pydfuse sorts the elements and erases each page once)",
            0x08003000,
        )
    ]


def test_in_order_elements_sharing_pages_are_info() -> None:
    # ST's DFU File Manager writes many tiny elements in order (§4.9)
    target = _target((0x08003000, b"\1" * 2), (0x08003010, b"\1" * 2), (0x08003020, b"\1" * 2))
    findings = check_element_order(target, E_EVAL_FLASH)
    assert [(f.severity, f.code) for f in findings] == [("info", "file.element-pages")]
    assert findings[0].message == (
        "target 0: elements 0 and 1 share the page at 0x08003000 (and 1 more); pydfu erases per "
        "chunk and would lose data there (pydfuse and dfu-util do not)"
    )


def test_out_of_order_elements_in_separate_pages_are_fine() -> None:
    target = _target((0x08004000, b"\2" * 8), (0x08003000, b"\1" * 8))
    assert check_element_order(target, E_EVAL_FLASH) == []
    assert check_element_order(TargetImage(0, "x", target.image), E_EVAL_FLASH) == []


def test_targets_for_the_same_alt_must_not_overlap() -> None:
    a = _target((0x08003000, b"\1" * 32), name="first")
    b = _target((0x08003010, b"\2" * 32), name="second")
    c = _target((0x08003000, b"\3" * 32), alt=1, name="other alt")
    overlaps = check_target_overlap([a, c, b])
    assert list(overlaps) == [2]
    assert overlaps[2][0].message == (
        "targets 'first' and 'second' for alt 0 both write 0x08003010..0x0800301f; only one can "
        "be kept"
    )
    report = preflight([a, c, b], E_EVAL_MEMORIES, sram=E_EVAL_SRAM, app_address=None)
    assert [f.code for f in report.targets[2].findings][:1] == ["target.overlap"]
