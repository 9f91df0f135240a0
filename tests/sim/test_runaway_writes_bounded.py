"""An application whose pointer runs away through the peripheral space cannot make a run (or
the board's saved state) grow without bound: writes outside the chip's known peripherals keep
a bounded number of values and are counted per block for a few blocks, then together."""

from __future__ import annotations

import struct

from pydfuse.sim.cortexm import machine_for_profile, run_firmware
from pydfuse.sim.cortexm.chips import get_chip
from pydfuse.sim.cortexm.peripherals import ELSEWHERE, KEPT_ELSEWHERE, NAMED_ELSEWHERE, Peripherals
from pydfuse.sim.profiles import get_profile

APP = 0x08003000
# Reset handler at APP+8 (Thumb, hand-assembled): r0 = 0x40000000; r1 = 0;
# loop: str r1, [r0]; adds r0, #4; b loop — a store to every word of the peripheral space.
RUNAWAY = struct.pack("<II", 0x20010000, (APP + 8) | 1) + struct.pack(
    "<6HI", 0x4802, 0x2100, 0x6001, 0x3004, 0xE7FC, 0xBF00, 0x40000000
)


def test_runaway_stores_are_all_counted_in_a_bounded_report() -> None:
    profile = get_profile("stm3210e-eval")
    spec = machine_for_profile(profile, {0: [(APP, RUNAWAY)]})
    result = run_firmware(spec, APP, budget=300_000)
    assert result.stop == "budget" and result.loop is not None
    writes = dict(result.peripheral_writes)
    assert sum(writes.values()) >= 99_000  # one store every three instructions
    outside = [name for name in writes if name.startswith("0x")]
    assert len(outside) == NAMED_ELSEWHERE and writes[ELSEWHERE] > 0
    assert len(writes) <= len(get_chip(profile.chip).peripherals) + NAMED_ELSEWHERE + 1


def test_registers_outside_known_peripherals_keep_a_bounded_number_of_values() -> None:
    registers = Peripherals(get_chip("stm32f1"))
    first = 0x40030000  # no STM32F1 peripheral there
    for n in range(KEPT_ELSEWHERE + 1000):
        registers.write(first + 4 * n, 4, n + 1)
    assert registers.read(first, 4) == 1  # the first ones read back what was written
    assert registers.read(first + 4 * (KEPT_ELSEWHERE + 999), 4) == 0  # past the bound: 0
    assert len(registers.values) <= KEPT_ELSEWHERE
    rcc = 0x40021000
    registers.write(rcc + 0x18, 4, 0x4)  # a known peripheral keeps its value past the bound
    assert registers.read(rcc + 0x18, 4) == 0x4
