"""The demo's application (pydfuse.demoapp) is a correct one as the Cortex-M core sees it: it
points VTOR at its own table, enables SysTick, and sleeps in its WFI main loop — so `make demo`
shows a clean run after `leave`, not a warning about its own example."""

from __future__ import annotations

from pydfuse.demoapp import build_demo_app
from pydfuse.sim.cortexm import machine_for_profile, run_firmware
from pydfuse.sim.cortexm.result import RunResult
from pydfuse.sim.profiles import get_profile

APP = 0x08003000


def _run(link: int, load: int) -> RunResult:
    image = build_demo_app(link_address=link, load_address=load)
    spec = machine_for_profile(
        get_profile("stm3210e-eval"), {0: [(s.address, s.data) for s in image]}
    )
    return run_firmware(spec, load)


def test_demo_application_sets_vtor_then_sleeps_in_its_main_loop() -> None:
    result = _run(APP, APP)
    assert result.stop == "wfi" and result.main_loop
    assert [w.value for w in result.vtor_writes] == [APP]
    first = result.irq_enables[0]
    assert first.source == "SysTick interrupt" and first.vtor_owner == "application"


def test_demo_application_linked_for_0x08000000_runs_into_the_bootloader() -> None:
    result = _run(0x08000000, APP)
    assert result.stop == "fault"
    assert result.fault is not None and result.fault.kind == "bootloader-code"
