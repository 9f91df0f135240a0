"""The virtual F4 ROM starts an application whose initial stack pointer is in the part's 64 KB
of CCM data RAM (0x10000000..0x10010000), after a DfuSe leave and at power-on, as it starts one
with its stack in SRAM: ``check`` and ``flash`` accept such an application (a CCM stack is
legitimate on the F405/407), so the board must not stay in DFU mode for it."""

from __future__ import annotations

import pytest

from pydfuse.demoapp import build_demo_app
from pydfuse.ops import DeviceSelector, ImageSource, flash
from support.boards import make_rig

FLASH = 0x08000000


def _flashed(stack_top: int, *, leave: bool) -> str:
    rig = make_rig("stm32f4-rom")
    image = build_demo_app(link_address=FLASH, stack_top=stack_top)
    flash(rig.env, DeviceSelector(), ImageSource(image=image), leave=leave, force=True)
    if not leave:
        rig.board.system_reset()  # power-on: the pins are released, the chip boots its flash
    return rig.board.running


@pytest.mark.parametrize("leave", [True, False], ids=["leave", "reset"])
@pytest.mark.parametrize("stack_top", [0x10010000, 0x10008000, 0x20020000])
def test_an_app_with_its_stack_in_ccm_or_sram_is_started(stack_top: int, leave: bool) -> None:
    assert _flashed(stack_top, leave=leave) == "application"


@pytest.mark.parametrize("stack_top", [0x10010004, 0x0FFFFFF0])
def test_a_stack_just_outside_ccm_keeps_the_rom_in_dfu_mode(stack_top: int) -> None:
    assert _flashed(stack_top, leave=True) == "bootloader"
