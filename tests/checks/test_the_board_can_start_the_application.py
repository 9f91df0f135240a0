"""What the board starts after the flash.

An image that shares the sector holding the application's start but puts nothing there erases
the board's vector table: after a reset the board starts nothing. The classic case: an
application linked for the ST demo loader (0x08003000) flashed by an F4's ROM bootloader, whose
16 KiB sector 0 also holds 0x08000000 where the chip boots. It was written without a word (and
--leave even started it, so it seemed to work until the next reset). A leave address inside
the image must hold a vector table (a ROM jumps through the table at that address)."""

from __future__ import annotations

import pytest

from pydfuse.checks import TargetImage, preflight
from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.layout import parse_layout
from support.images import E_EVAL_MEMORIES

F4_ROM = {0: parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg")}


def _findings(image, memories, **kw):  # type: ignore[no-untyped-def]
    report = preflight([TargetImage(0, "app", image)], memories, **kw)
    return [f for f in report.findings if f.severity == "error"]


@pytest.mark.parametrize(
    "image",
    [
        build_demo_app(link_address=0x08003000),  # a correct app, for another board's loader
        build_data_blob(0x08001000, 2048),  # data in the boot sector
    ],
)
def test_erasing_the_boot_sector_without_a_vector_table_is_refused(image) -> None:  # type: ignore[no-untyped-def]
    (finding,) = _findings(image, F4_ROM)
    assert finding.code == "placement.app-start-erased"
    assert "0x08000000" in finding.message and "0x08000000..0x08003fff" in finding.message
    # with a profile's application address too
    (again,) = _findings(image, F4_ROM, app_address=0x08000000)
    assert again.code == "placement.app-start-erased"


def test_images_that_leave_the_application_start_alone_pass() -> None:
    assert _findings(build_demo_app(link_address=0x08004000), F4_ROM) == []  # sector 1
    assert _findings(build_demo_app(link_address=0x08000000), F4_ROM) == []  # the app itself
    assert _findings(build_data_blob(0x08004000, 4096), F4_ROM) == []
    # behind the demo loader, a page after the application's first one is not its start
    assert _findings(build_data_blob(0x08003800, 2048), E_EVAL_MEMORIES) == []
    assert _findings(build_demo_app(), E_EVAL_MEMORIES) == []


def test_a_leave_address_inside_the_image_must_hold_a_vector_table() -> None:
    # flash --leave-address 0x08003100: a ROM bootloader jumps through the table at the
    # address it is given; 0x08003100 lies in the middle of the application's vectors
    app = build_demo_app()
    errors = _findings(app, E_EVAL_MEMORIES, entry=0x08003100)
    assert errors and errors[0].message.startswith("the leave address 0x08003100: ")
    assert _findings(app, E_EVAL_MEMORIES, entry=0x08003000) == []
    assert _findings(app, E_EVAL_MEMORIES, entry=0x08010000) == []  # outside: the device's own
