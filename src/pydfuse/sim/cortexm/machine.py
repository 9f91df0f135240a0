"""Run an application from its vector table and say what it did (layer: sim).

Imports only sibling sim modules; the core itself (``core``, which needs the ``unicorn``
package, the optional extra ``pydfuse[run]``) is imported only when there is something to run,
so the simulator works without it and reports ``stop="not-run"``.

The start is checked as the core would do it (ARMv7-M B1.5.5): word 0 of the table is the main
stack pointer (it must lie in SRAM), word 1 the reset handler (a Thumb address, bit 0 set).
"""

from __future__ import annotations

import struct

from pydfuse.sim.cortexm.memmap import MachineSpec
from pydfuse.sim.cortexm.result import Fault, RunResult, VtorOwner

__all__ = ["DEFAULT_BUDGET", "run_firmware", "vtor_owner"]

DEFAULT_BUDGET = 5_000_000
NOT_INSTALLED = (
    "the application was not run: the Cortex-M core needs the unicorn package "
    "(pip install 'pydfuse[run]')"
)


def vtor_owner(spec: MachineSpec, table: int, vtor: int) -> VtorOwner:
    """Whose vector table ``vtor`` selects (address 0 aliases the memory booted from)."""
    alias = spec.region_at(spec.alias_of)
    address = vtor
    if alias is not None and vtor < alias.size:
        address = spec.alias_of + vtor
    if address == table:
        return "application"
    area = spec.bootloader_area
    if address == spec.bootloader_table or (area is not None and area[0] <= address < area[1]):
        return "bootloader"
    if spec.sram[0] <= address < spec.sram[1]:
        return "sram"
    return "other"


def read_word(spec: MachineSpec, address: int) -> int | None:
    """The word at ``address`` before the run (None where no memory is)."""
    region = spec.region_at(address)
    if region is None or not region.contains(address + 3):
        return None
    for start, chunk in region.data:
        if start <= address and address + 4 <= start + len(chunk):
            value: int = struct.unpack_from("<I", chunk, address - start)[0]
            return value
    return int.from_bytes(bytes([region.fill]) * 4, "little")


def _start_fault(spec: MachineSpec, table: int, budget: int) -> RunResult | tuple[int, int]:
    """(initial SP, reset handler), or the result of a start that fails at once."""
    sp, reset = read_word(spec, table), read_word(spec, table + 4)
    if sp is None or reset is None:
        detail = f"there is no memory at 0x{table:08X} to hold a vector table"
        return _failed(table, budget, Fault("no-vector-table", detail, address=table))
    if sp == reset == 0xFFFFFFFF:
        detail = f"no application at 0x{table:08X}: the flash there is erased"
        return _failed(table, budget, Fault("no-vector-table", detail, address=table))
    if not spec.in_ram(sp):
        detail = (
            f"the initial stack pointer 0x{sp:08X} (word 0 of the table) is outside "
            f"{spec.ram_text()}: the first push faults"
        )
        fault = Fault("stack", detail, address=table, sp=sp)
        return _failed(table, budget, fault, sp=sp, reset=reset)
    if not reset & 1:
        detail = (
            f"the reset vector 0x{reset:08X} has bit 0 clear (not a Thumb address): the core "
            "faults (INVSTATE) on its first instruction"
        )
        fault = Fault("invalid-instruction", detail, pc=reset, address=table + 4, sp=sp)
        return _failed(table, budget, fault, sp=sp, reset=reset)
    return sp, reset


def _failed(
    table: int, budget: int, fault: Fault, *, sp: int | None = None, reset: int | None = None
) -> RunResult:
    return RunResult(
        table=table,
        stop="fault",
        pc=fault.pc,
        initial_sp=sp,
        reset_handler=reset,
        fault=fault,
        budget=budget,
    )


def run_firmware(spec: MachineSpec, table: int, *, budget: int = DEFAULT_BUDGET) -> RunResult:
    """Run the application whose vector table is at ``table`` until it sleeps, loops, faults,
    takes an exception, asks for a reset, or has executed ``budget`` instructions."""
    if budget < 1:
        raise ValueError("the instruction budget must be at least 1")
    start = _start_fault(spec, table, budget)
    if isinstance(start, RunResult):
        return start
    sp, reset = start
    try:
        from pydfuse.sim.cortexm.core import Core
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("unicorn"):
            raise
        return RunResult(
            table=table,
            stop="not-run",
            initial_sp=sp,
            reset_handler=reset,
            budget=budget,
            detail=NOT_INSTALLED,
        )
    return Core(spec, table, budget).run(sp, reset)
