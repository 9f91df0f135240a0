"""Cortex-M0 (stm32f072-rom) has no VTOR: after the ROM bootloader's jump address 0 still maps
system memory, and the application moves its vector table by remapping address 0 (SYSCFG_CFGR1
MEM_MODE). A hand-assembled Thumb-1 application enables the SysTick interrupt, with and
without the remap."""

from __future__ import annotations

import struct

import pytest

from pydfuse.sim.cortexm import machine_for_profile, run_firmware
from pydfuse.sim.cortexm.result import RunResult
from pydfuse.sim.profiles import get_profile

FLASH = 0x08000000
NOP, WFI = 0xBF00, 0xBF30
LDR_R0_LITERAL, MOVS_R1, STR_R1_R0 = 0x4803, 0x2100, 0x6001  # ldr r0,[pc,#12]; movs; str


def application(mem_mode: int | None) -> bytes:
    """SP/reset, then: SYSCFG_CFGR1 = mem_mode (or nothing), SysTick CTRL = ENABLE|TICKINT, WFI."""
    remap = [LDR_R0_LITERAL, MOVS_R1 | (mem_mode or 0), STR_R1_R0]
    code = (remap if mem_mode is not None else [NOP] * 3) + [
        LDR_R0_LITERAL,
        MOVS_R1 | 3,
        STR_R1_R0,
        WFI,
        NOP,
    ]
    table = struct.pack("<II", 0x20004000, FLASH + 8 + 1)
    return table + struct.pack("<8H", *code) + struct.pack("<II", 0x40010000, 0xE000E010)


def run(mem_mode: int | None) -> RunResult:
    spec = machine_for_profile(
        get_profile("stm32f072-rom"),
        {0: [(FLASH, application(mem_mode))]},
        started_by_rom_jump=True,
    )
    return run_firmware(spec, FLASH)


def test_without_a_remap_the_systick_interrupt_would_go_to_the_rom() -> None:
    result = run(None)
    assert result.stop == "wfi"
    bad = result.irq_with_bootloader_vtor
    assert bad is not None and bad.source == "SysTick interrupt"


@pytest.mark.parametrize(
    ("mode", "base", "owner"), [(3, 0x20000000, "sram"), (0, FLASH, "application")]
)
def test_remapping_address_0_moves_the_vector_table(mode: int, base: int, owner: str) -> None:
    result = run(mode)
    assert result.stop == "wfi"
    assert [w.value for w in result.vtor_writes] == [base]
    assert result.irq_enables[0].vtor_owner == owner
    assert result.irq_with_bootloader_vtor is None


def test_after_the_rom_jump_address_0_aliases_the_f072_system_memory() -> None:
    # RM0091 Table 2: STM32F07x system memory 0x1FFF C800 - 0x1FFF F7FF
    spec = machine_for_profile(get_profile("stm32f072-rom"), {}, started_by_rom_jump=True)
    assert spec.alias_of == 0x1FFFC800 and spec.bootloader_table == 0x1FFFC800
