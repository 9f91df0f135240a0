"""A Cortex-M core for the virtual board: run the application and say what it did (layer: sim).

Imports only sibling sim modules; the CPU emulator (``unicorn``, the optional extra
``pydfuse[run]``) only when an application is run. The board profile gives the memory map
(``memmap``), the chip model gives the peripherals (``chips``, ``peripherals``) and the
system control space (``system``); ``machine.run_firmware`` starts the application from its
vector table and returns a :class:`RunResult`: where and why it stopped (sleep, a tight loop,
the instruction budget, a fault), every write to SCB->VTOR and the moment interrupts became
possible, with the code addresses involved.
"""

from __future__ import annotations

from pydfuse.sim.cortexm.machine import DEFAULT_BUDGET, run_firmware, vtor_owner
from pydfuse.sim.cortexm.memmap import MachineSpec, Region, machine_for_profile
from pydfuse.sim.cortexm.result import Fault, IrqEnable, RunResult, VtorWrite

__all__ = [
    "DEFAULT_BUDGET",
    "Fault",
    "IrqEnable",
    "MachineSpec",
    "Region",
    "RunResult",
    "VtorWrite",
    "machine_for_profile",
    "run_firmware",
    "vtor_owner",
]
