"""The Cortex-M3/M4 core: unicorn running the application over the memory map (layer: sim).

Imports ``unicorn`` (the optional extra ``pydfuse[run]``) and sibling sim modules; imported
lazily by ``machine.run_firmware``. Unicorn runs the code at full speed; Python is called only
for peripheral and system-space accesses, stores into flash, the few instructions ``scan``
found (sleep, branch-to-self, interrupt unmasking), code in SRAM, code in the bootloader's
area, and invalid accesses. No exception is delivered: the run stops where the core would
take one, which is where its vector table starts to matter.
"""

from __future__ import annotations

import ctypes
from collections import Counter
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from unicorn import (
    UC_ARCH_ARM,
    UC_ERR_INSN_INVALID,
    UC_HOOK_BLOCK,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_INVALID,
    UC_HOOK_MEM_WRITE,
    UC_MEM_FETCH_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_MCLASS,
    UC_MODE_THUMB,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
)
from unicorn import arm_const as arm
from unicorn.unicorn import Uc, UcError

from pydfuse.sim.cortexm.machine import vtor_owner
from pydfuse.sim.cortexm.memmap import PAGE, MachineSpec
from pydfuse.sim.cortexm.peripherals import Peripherals
from pydfuse.sim.cortexm.result import Fault, IrqEnable, RunResult, StopReason, VtorWrite
from pydfuse.sim.cortexm.scan import Special, classify, find_specials
from pydfuse.sim.cortexm.system import Event, SystemControl

__all__ = ["Core"]

_UNTIL = 0xFFFFFFFE  # never a Thumb instruction address: the run ends by count or a stop
_LOOP_WINDOW = 4000  # instructions watched after a budget stop to find the busy loop
_MAX_EVENTS = 16
_LARGE_EMPTY = 1 << 20  # empty memories this large are served by a callback, not a buffer
_REGS = [getattr(arm, f"UC_ARM_REG_R{n}") for n in range(13)]
_REGS += [arm.UC_ARM_REG_SP, arm.UC_ARM_REG_LR, arm.UC_ARM_REG_PC]
_PERIPHERALS = (0x40000000, 0x20000000)
_PERIPHERAL_BITBAND = (0x42000000, 0x44000000)
_FSMC_REGISTERS = (0xA0000000, 0x1000)
_SYSTEM = (0xE0000000, 0x100000)
_SRAM_BITBAND = (0x22000000, 0x2000000)
_CORE_EXCEPTIONS = {
    1: "undefined instruction",
    3: "prefetch abort",
    4: "data abort",
    17: "a floating-point instruction with the FPU disabled (CPACR)",
    18: "a branch to an address with bit 0 clear (INVSTATE)",
    19: "stack limit exceeded",
    22: "an unaligned access that must be aligned",
}
_CPU_MODELS = {
    "cortex-m0": arm.UC_CPU_ARM_CORTEX_M0,
    "cortex-m3": arm.UC_CPU_ARM_CORTEX_M3,
    "cortex-m4": arm.UC_CPU_ARM_CORTEX_M4,
}
# ARMv7-M B3.2.5: TBLOFF is bits [29:7] on Cortex-M3 r2p0, [31:7] on Cortex-M4; ARMv6-M
# (Cortex-M0) has no VTOR at all.
_VTOR_MASKS = {"cortex-m0": 0, "cortex-m3": 0x3FFFFF80, "cortex-m4": 0xFFFFFF80}
_PPB_NAMES = ((0xE010, 0xE020, "SysTick"), (0xE100, 0xED00, "NVIC"), (0xED00, 0xED90, "SCB"))


class _Stop(Exception):
    """Ends the run from inside a hook (unicorn stops and re-raises it from emu_start)."""

    def __init__(
        self,
        reason: StopReason,
        pc: int | None,
        *,
        fault: Fault | None = None,
        exception: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason: StopReason = reason
        self.pc = pc
        self.fault = fault
        self.exception = exception


_TCG_BUFFER_BYTES = 32 * 1024 * 1024


class Core:
    """One run of one application over ``spec``."""

    def __init__(self, spec: MachineSpec, table: int, budget: int) -> None:
        self.spec = spec
        self.table = table
        self.budget = budget
        cpu = spec.chip.cpu
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        self.uc.ctl_set_cpu_model(_CPU_MODELS[cpu])
        # unicorn reserves 1 GiB for translated code by default, and where that much address
        # space is not available (ulimit -v, small guests) it prints an error and ends the whole
        # process from C. Our applications are at most a few MiB of code: 32 MiB is plenty.
        self.uc.ctl_set_tcg_buffer_size(_TCG_BUFFER_BYTES)  # type: ignore[attr-defined]  # 2.1 API, no stub
        self.peripherals = Peripherals(spec.chip)
        self.system = SystemControl(spec.chip.cpuid, vtor_mask=_VTOR_MASKS[cpu])
        remap = spec.chip.remap_register
        if remap is not None and spec.alias_of != spec.flash[0]:
            self.peripherals.values[remap] = 0b01  # MEM_MODE: booted from system memory
        self.system_writes: Counter[str] = Counter()
        self.vtor_writes: list[VtorWrite] = []
        self.irq_enables: list[IrqEnable] = []
        self.irq_possible = False
        self.flash_programmed = 0
        self.invalid: tuple[int, int, int] | None = None  # access, address, pc
        self._keep: list[Any] = []  # buffers and callbacks unicorn points into
        self.start = (0, 0)  # initial SP and reset handler of the run
        self._map_memory()
        self._map_io()
        self._add_hooks()

    # -- set-up -------------------------------------------------------------------------------
    def _map_memory(self) -> None:
        for region in self.spec.regions:
            lo, hi = region.start & ~(PAGE - 1), -(-region.end // PAGE) * PAGE
            perms = {
                "flash": UC_PROT_ALL,
                "sram": UC_PROT_ALL,
                "data": UC_PROT_READ | UC_PROT_WRITE,
            }.get(region.kind, UC_PROT_READ | UC_PROT_EXEC)
            if not region.data and region.size >= _LARGE_EMPTY and region.kind != "sram":
                self._map_constant(lo, hi - lo, region.fill)
                continue
            buffer = ctypes.create_string_buffer(hi - lo)
            ctypes.memset(buffer, region.fill, hi - lo)
            for address, chunk in region.data:  # runs are inside the region (memmap)
                ctypes.memmove(ctypes.addressof(buffer) + address - lo, chunk, len(chunk))
            self._keep.append(buffer)
            self.uc.mem_map_ptr(lo, hi - lo, perms, ctypes.addressof(buffer))
            if region.start == self.spec.alias_of and lo == region.start:
                # The boot alias at address 0: the same bytes under two addresses.
                self.uc.mem_map_ptr(0, hi - lo, perms, ctypes.addressof(buffer))

    def _map_constant(self, start: int, size: int, fill: int) -> None:
        word = int.from_bytes(bytes([fill]) * 4, "little")
        self.uc.mmio_map(
            start,
            size,
            lambda uc, offset, width, ud: word & ((1 << 8 * width) - 1),
            None,
            None,
            None,
        )

    def _map_io(self) -> None:
        self.uc.mmio_map(*_PERIPHERALS, self._io_read, None, self._io_write, None)
        self.uc.mmio_map(*_FSMC_REGISTERS, self._fsmc_read, None, self._fsmc_write, None)
        self.uc.mmio_map(*_SYSTEM, self._system_read, None, self._system_write, None)
        if self.spec.sram[0] == 0x20000000:
            self.uc.mmio_map(*_SRAM_BITBAND, self._sram_bit_read, None, self._sram_bit_write, None)

    def _add_hooks(self) -> None:
        uc, spec = self.uc, self.spec
        for region in spec.regions:
            if region.kind == "flash":
                for address, chunk in region.data:
                    for at, special in find_specials(address, chunk):
                        uc.hook_add(UC_HOOK_CODE, self._on_special, special, at, at)
        lo, hi = spec.sram
        uc.hook_add(UC_HOOK_CODE, self._on_sram_code, None, lo, hi - 1)
        for begin, end in self._flash_ranges():
            uc.hook_add(UC_HOOK_MEM_WRITE, self._on_flash_write, None, begin, end - 1)
        for begin, end in self._bootloader_ranges():
            uc.hook_add(UC_HOOK_CODE, self._on_bootloader_code, None, begin, end - 1)
        uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        uc.hook_add(UC_HOOK_MEM_INVALID, self._on_invalid)

    def _flash_ranges(self) -> list[tuple[int, int]]:
        lo, hi = self.spec.flash
        ranges = [(lo, hi)]
        if self.spec.alias_of == lo:
            ranges.append((0, hi - lo))
        return ranges

    def _bootloader_ranges(self) -> list[tuple[int, int]]:
        area = self.spec.bootloader_area
        if area is None:
            return []
        ranges = [area]
        if self.spec.alias_of == self.spec.flash[0]:
            ranges.append((area[0] - self.spec.flash[0], area[1] - self.spec.flash[0]))
        return ranges

    # -- running ------------------------------------------------------------------------------
    def run(self, sp: int, reset: int) -> RunResult:
        """Start at ``reset`` with SP = ``sp``; the result says where and why it stopped."""
        self.uc.reg_write(arm.UC_ARM_REG_SP, sp)
        self.uc.reg_write(arm.UC_ARM_REG_LR, 0xFFFFFFFF)  # its value out of reset
        self.start = (sp, reset)
        try:
            self.uc.emu_start(reset | 1, _UNTIL, count=self.budget)
        except _Stop as stop:
            return self._result(stop)
        except UcError as error:
            return self._result(self._fault(error))
        pc = self._reg(arm.UC_ARM_REG_PC)
        result = self._result(_Stop("budget", pc))  # what the run showed within its budget
        return replace(result, loop=self._busy_loop(pc))

    def _busy_loop(self, pc: int) -> tuple[int, int] | None:
        """The span of code the application keeps running (looked at for a few thousand
        instructions past the budget; None when it does not keep running: it sleeps, stops or
        faults there, so it was not in a loop)."""
        blocks: list[tuple[int, int]] = []
        hook = self.uc.hook_add(
            UC_HOOK_BLOCK, lambda uc, address, size, ud: blocks.append((address, size))
        )
        try:
            self.uc.emu_start(pc | 1, _UNTIL, count=_LOOP_WINDOW)
        except (_Stop, UcError):
            return None
        finally:
            self.uc.hook_del(hook)
        if not blocks:
            return pc, pc
        return min(a for a, _ in blocks), max(a + s for a, s in blocks) - 1

    def _result(self, stop: _Stop, *, loop: tuple[int, int] | None = None) -> RunResult:
        sp, reset = self.start
        vtor = self.system.vtor
        writes = Counter(self.peripherals.writes)
        writes.update(self.system_writes)
        return RunResult(
            table=self.table,
            stop=stop.reason,
            pc=stop.pc,
            initial_sp=sp,
            reset_handler=reset,
            vtor=vtor,
            vtor_owner=vtor_owner(self.spec, self.table, vtor),
            vtor_writes=tuple(self.vtor_writes),
            irq_enables=tuple(self.irq_enables),
            fault=stop.fault,
            exception=stop.exception,
            loop=loop,
            budget=self.budget,
            peripheral_writes=MappingProxyType(dict(sorted(writes.items()))),
            flash_programmed=self.flash_programmed,
            masked=bool(self._reg(arm.UC_ARM_REG_PRIMASK) & 1),
            sources=tuple(self.system.sources()),
            lr=self._reg(arm.UC_ARM_REG_LR),
        )

    def _reg(self, register: int) -> int:
        value: int = self.uc.reg_read(register)
        return value

    def _fault_stop(self, kind: Any, detail: str, pc: int | None, address: int | None) -> _Stop:
        fault = Fault(
            kind,
            detail,
            pc=pc,
            address=address,
            lr=self._reg(arm.UC_ARM_REG_LR),
            sp=self._reg(arm.UC_ARM_REG_SP),
        )
        return _Stop("fault", pc, fault=fault)

    def _fault(self, error: UcError) -> _Stop:
        pc = self._reg(arm.UC_ARM_REG_PC)
        if error.errno == UC_ERR_INSN_INVALID:
            try:
                half = int.from_bytes(self.uc.mem_read(pc, 2), "little")
            except UcError:
                half = None
            if half == 0xFFFF:
                detail = f"executed erased flash (0xFFFF) at 0x{pc:08X}: there is no code there"
            else:
                shown = "" if half is None else f" (0x{half:04X})"
                detail = f"undefined instruction{shown} at 0x{pc:08X}"
            return self._fault_stop("invalid-instruction", detail, pc, None)
        if self.invalid is None:
            return self._fault_stop("invalid-instruction", f"the core stopped: {error}", pc, None)
        access, address, at = self.invalid
        return self._memory_fault(access, address, at)

    def _memory_fault(self, access: int, address: int, pc: int) -> _Stop:
        sp = self._reg(arm.UC_ARM_REG_SP)
        write = access in (UC_MEM_WRITE_UNMAPPED, UC_MEM_WRITE_PROT)
        near_stack = write and sp - 512 <= address < sp + 1024 and not self.spec.in_ram(address)
        if not self.spec.in_ram(sp) or near_stack:
            detail = (
                f"the stack pointer (0x{sp:08X}) ran out of {self.spec.ram_text()}: "
                f"the {'write to' if write else 'access at'} 0x{address:08X} faults "
                "(stack overflow, or a stack placed outside SRAM)"
            )
            return self._fault_stop("stack", detail, pc, address)
        if access in (UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT):
            lr = self._reg(arm.UC_ARM_REG_LR)
            detail = f"jumped to 0x{address:08X}, where there is no code (LR 0x{lr:08X})"
            return self._fault_stop("unmapped", detail, address, address)
        if access == UC_MEM_WRITE_PROT:
            region = self.spec.region_at(address)
            name = region.name if region is not None else "read-only memory"
            detail = f"a write to 0x{address:08X} in {name}, which is read-only"
            return self._fault_stop("rom-write", detail, pc, address)
        what = "write to" if write else "read from"
        detail = f"a {what} 0x{address:08X}, where no memory or peripheral is (a bus fault)"
        return self._fault_stop("unmapped", detail, pc, address)

    # -- hooks --------------------------------------------------------------------------------
    def _on_invalid(
        self, uc: Uc, access: int, address: int, size: int, value: int, ud: object
    ) -> bool:
        self.invalid = (access, address, self._reg(arm.UC_ARM_REG_PC))
        return False

    def _on_interrupt(self, uc: Uc, intno: int, ud: object) -> None:
        pc = self._reg(arm.UC_ARM_REG_PC)
        if intno == 2:  # SVC: the core takes SVCall through the vector table
            raise _Stop("exception", pc - 2, exception="SVCall")
        if intno == 7:
            raise _Stop("exception", pc, exception="BKPT (a HardFault without a debugger)")
        what = _CORE_EXCEPTIONS.get(intno, f"core exception {intno}")
        raise self._fault_stop("invalid-instruction", f"{what} at 0x{pc:08X}", pc, None)

    def _on_special(self, uc: Uc, address: int, size: int, special: Special) -> None:
        if special in ("wfi", "loop"):
            raise _Stop(special, address)
        if special == "cpsie":
            self._interrupts(address, "cpsie i", primask=0)
        elif special == "cpsid":
            self.irq_possible = False
        else:  # MSR PRIMASK, Rn
            first = int.from_bytes(uc.mem_read(address, 2), "little")
            value = self._reg(_REGS[first & 0xF]) & 1
            if value:
                self.irq_possible = False
            else:
                self._interrupts(address, "MSR PRIMASK (interrupts unmasked)", primask=0)

    def _on_sram_code(self, uc: Uc, address: int, size: int, ud: object) -> None:
        code = bytes(uc.mem_read(address, size))
        first = int.from_bytes(code[:2], "little")
        second = int.from_bytes(code[2:4], "little") if size == 4 else None
        special = classify(first, second)
        if special is not None:
            self._on_special(uc, address, size, special)

    def _on_bootloader_code(self, uc: Uc, address: int, size: int, ud: object) -> None:
        lr = self._reg(arm.UC_ARM_REG_LR)
        detail = (
            f"the core executes the bootloader's flash at 0x{address:08X} (LR 0x{lr:08X}): "
            "code linked for another address runs the bootloader's code"
        )
        raise self._fault_stop("bootloader-code", detail, address, address)

    def _on_flash_write(
        self, uc: Uc, access: int, address: int, size: int, value: int, ud: object
    ) -> None:
        pc = self._reg(arm.UC_ARM_REG_PC)
        real = address + self.spec.flash[0] if address < self.spec.flash[0] else address
        area = self.spec.bootloader_area
        if area is not None and area[0] <= real < area[1]:
            detail = f"a write into the bootloader's flash at 0x{real:08X}"
            raise self._fault_stop("bootloader-write", detail, pc, real)
        flash = self.spec.chip.flash
        if self.peripherals.word(flash.cr) & flash.pg:
            self.flash_programmed += size
            return
        detail = (
            f"a store into flash at 0x{real:08X} without programming enabled (FLASH_CR.PG): "
            "the chip does not write it and reports an error"
        )
        raise self._fault_stop("flash-write", detail, pc, real)

    # -- peripherals and the system control space ----------------------------------------------
    def _io_read(self, uc: Uc, offset: int, size: int, ud: object) -> int:
        address = _PERIPHERALS[0] + offset
        if _PERIPHERAL_BITBAND[0] <= address < _PERIPHERAL_BITBAND[1]:
            target, bit = _bitband(address, _PERIPHERAL_BITBAND[0], _PERIPHERALS[0])
            return self.peripherals.read(target, 1) >> bit & 1
        return self.peripherals.read(address, size)

    def _io_write(self, uc: Uc, offset: int, size: int, value: int, ud: object) -> None:
        address = _PERIPHERALS[0] + offset
        if _PERIPHERAL_BITBAND[0] <= address < _PERIPHERAL_BITBAND[1]:
            address, bit = _bitband(address, _PERIPHERAL_BITBAND[0], _PERIPHERALS[0])
            old = self.peripherals.read(address, 1)
            value, size = (old | 1 << bit) if value & 1 else (old & ~(1 << bit)), 1
        new = self.peripherals.write(address, size, value)
        if address & ~3 == self.spec.chip.flash.cr:
            self._flash_command(new)
        elif address & ~3 == self.spec.chip.remap_register:
            self._remap(new & 0b11)

    def _fsmc_read(self, uc: Uc, offset: int, size: int, ud: object) -> int:
        return self.peripherals.read(_FSMC_REGISTERS[0] + offset, size)

    def _fsmc_write(self, uc: Uc, offset: int, size: int, value: int, ud: object) -> None:
        self.peripherals.write(_FSMC_REGISTERS[0] + offset, size, value)

    def _sram_bit_read(self, uc: Uc, offset: int, size: int, ud: object) -> int:
        target, bit = _bitband(_SRAM_BITBAND[0] + offset, _SRAM_BITBAND[0], self.spec.sram[0])
        return uc.mem_read(target, 1)[0] >> bit & 1

    def _sram_bit_write(self, uc: Uc, offset: int, size: int, value: int, ud: object) -> None:
        target, bit = _bitband(_SRAM_BITBAND[0] + offset, _SRAM_BITBAND[0], self.spec.sram[0])
        old = uc.mem_read(target, 1)[0]
        uc.mem_write(target, bytes([(old | 1 << bit) if value & 1 else (old & ~(1 << bit))]))

    def _remap(self, mode: int) -> None:
        """Cortex-M0: SYSCFG MEM_MODE puts flash, system memory or SRAM at address 0, which is
        where the core reads its vector table; recorded as the table's new base."""
        bases = {0b00: self.spec.flash[0], 0b01: self.spec.system_memory, 0b11: self.spec.sram[0]}
        base = bases.get(mode)
        if self.spec.chip.cpu != "cortex-m0" or base is None or base == self.system.vtor:
            return
        self.system.vtor = base
        if len(self.vtor_writes) < _MAX_EVENTS:
            self.vtor_writes.append(VtorWrite(base, self._reg(arm.UC_ARM_REG_PC)))

    def _system_read(self, uc: Uc, offset: int, size: int, ud: object) -> int:
        return self.system.read(offset, size)

    def _system_write(self, uc: Uc, offset: int, size: int, value: int, ud: object) -> None:
        pc = self._reg(arm.UC_ARM_REG_PC)
        self.system_writes[_ppb_name(offset)] += 1
        for event in self.system.write(offset, size, value):
            self._system_event(event, pc)

    def _system_event(self, event: Event, pc: int) -> None:
        if event.kind == "vtor":
            if len(self.vtor_writes) < _MAX_EVENTS:
                self.vtor_writes.append(VtorWrite(event.value, pc))
        elif event.kind == "source":
            self._interrupts(pc, event.text, primask=self._reg(arm.UC_ARM_REG_PRIMASK) & 1)
        elif event.kind == "pend":
            self._take_due(pc, primask=self._reg(arm.UC_ARM_REG_PRIMASK) & 1)
        elif event.kind == "reset":
            raise _Stop("reset", pc)

    def _interrupts(self, pc: int, trigger: str, *, primask: int) -> None:
        """Note the moment an interrupt becomes possible; take one that is already due."""
        sources = self.system.sources()
        possible = primask == 0 and bool(sources)
        if possible and not self.irq_possible and len(self.irq_enables) < _MAX_EVENTS:
            vtor = self.system.vtor
            owner = vtor_owner(self.spec, self.table, vtor)
            text = (
                trigger
                if trigger in sources or trigger.startswith(("SysTick", "NVIC"))
                else (f"{trigger} with {', '.join(sources)} enabled")
            )
            self.irq_enables.append(IrqEnable(pc, text, vtor, owner))
        self.irq_possible = possible
        self._take_due(pc, primask=primask)

    def _take_due(self, pc: int, *, primask: int) -> None:
        due = self.system.due()
        if due is not None and (primask == 0 or due == "NMI"):
            raise _Stop("exception", pc, exception=due)

    def _flash_command(self, control: int) -> None:
        """A write to FLASH_CR that starts an erase (STRT with PER/SER or MER)."""
        flash = self.spec.chip.flash
        if not control & flash.start:
            return
        pc = self._reg(arm.UC_ARM_REG_PC)
        area = self.spec.bootloader_area
        if control & flash.mass_erase:
            if area is not None:
                detail = "a mass erase of the flash, the bootloader included"
                raise self._fault_stop("bootloader-write", detail, pc, area[0])
            self._erase(*self.spec.flash)
            return
        if not control & flash.page_erase:
            return
        sector = self._sector_to_erase(control)
        if sector is None:
            return
        start, size = sector
        if area is not None and start < area[1] and area[0] < start + size:
            detail = f"an erase of the flash page at 0x{start:08X}, which holds the bootloader"
            raise self._fault_stop("bootloader-write", detail, pc, start)
        self._erase(start, start + size)

    def _sector_to_erase(self, control: int) -> tuple[int, int] | None:
        flash = self.spec.chip.flash
        sectors = self.spec.flash_sectors
        if flash.ar is not None:
            address = self.peripherals.word(flash.ar)
            return next(((a, s) for a, s in sectors if a <= address < a + s), None)
        number = (control >> flash.sector_shift) & flash.sector_mask
        return sectors[number] if number < len(sectors) else None

    def _erase(self, start: int, end: int) -> None:
        self.uc.mem_write(start, b"\xff" * (end - start))


def _bitband(address: int, alias_base: int, target_base: int) -> tuple[int, int]:
    """ARMv7-M B3.1.3: the byte and bit a bit-band alias word stands for."""
    offset = address - alias_base
    return target_base + (offset >> 5), (offset >> 2) & 7


def _ppb_name(offset: int) -> str:
    for lo, hi, name in _PPB_NAMES:
        if lo <= offset < hi:
            return name
    return "core"
