"""An STM32F405/407 application may keep its stack in the 64 KB of CCM RAM (0x10000000): the
core maps it as data RAM (the core cannot fetch code from it), so such an application runs to
its main loop instead of being reported with its stack "outside SRAM"."""

from __future__ import annotations

from pydfuse.demoapp import build_demo_app
from pydfuse.sim.cortexm import machine_for_profile, run_firmware
from pydfuse.sim.cortexm.result import RunResult
from pydfuse.sim.profiles import get_profile

FLASH = 0x08000000


def _run(stack_top: int) -> RunResult:
    image = build_demo_app(link_address=FLASH, stack_top=stack_top)
    spec = machine_for_profile(
        get_profile("stm32f4-rom"), {0: [(s.address, s.data) for s in image]}
    )
    return run_firmware(spec, FLASH)


def test_a_stack_in_ccm_runs_to_the_main_loop() -> None:
    result = _run(0x10010000)
    assert result.fault is None and result.stop == "wfi" and result.main_loop


def test_a_stack_past_ccm_is_still_a_stack_fault() -> None:
    result = _run(0x10020000)
    assert result.stop == "fault" and result.fault is not None
    assert result.fault.kind == "stack" and "CCM" in result.fault.detail
