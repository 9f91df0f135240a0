"""Read and write protection of a virtual ROM bootloader (layer: sim; imports pydfuse.spec and
sibling sim modules).

A :class:`Protection` is latched from the option bytes at every boot, as the chip's option-byte
loader does, and answers for the ROM (AN3156, Table 4 and §4.1-§5.4):

- RDP level 1: every read (any alternate), write and erase is refused with dfuERROR/errVENDOR;
  Set Address, Get and Leave still work. Read Unprotect erases the flash, puts the option bytes
  back to their factory values (Table 4 note 3) and resets the chip.
- Read Unprotect on an unprotected chip clears RAM only; the flash is not erased (Table 4).
- Write protection: program or erase of a protected sector reports *no* error and changes
  nothing (§5.1 note 2, §5.3 note); a mass erase with any protected sector does nothing
  (RM0090 §3.7.4: "a mass erase cannot be performed if one of the sectors is write-protected").
- Option bytes: a write must start at the block; it is stored by the chip's rules and the ROM
  resets afterwards (§5.1). A read must be the whole block (§4.1: "read size must be equal to
  the option byte block size"); the ROM's answer to another size is not documented, so the
  model refuses it as an address it cannot read (dfuERROR/errTARGET), never with a short
  block (:func:`whole_option_block`, also for option bytes whose protection is not modeled).
- RDP level 2 is handled by the board: the system-memory bootloader cannot be entered at all
  (RM0090 §3.7.3), so the DFU device never appears again.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydfuse.sim.flash import Memory, OpResult
from pydfuse.sim.optionspec import OptionBytesSpec
from pydfuse.spec import Status

__all__ = ["Protection", "whole_option_block"]


def whole_option_block(memory: Memory, address: int, length: int) -> bool:
    """Whether an upload of ``length`` bytes at ``address`` reads one option-byte block whole:
    it starts at a block (sector) and has its size (AN3156 §4.1)."""
    sector = memory.sector_at(address)
    return sector is not None and sector.address == address and sector.size == length


class Protection:
    """The protection state one boot of the chip loaded from its option bytes."""

    def __init__(self, spec: OptionBytesSpec, memories: Sequence[Memory]) -> None:
        self.spec = spec
        self.flash = memories[0]
        self.options = next(m for m in memories if m.alt.memory_kind == "option")
        block = self.block()
        self.level = spec.level(block)
        self._wrp = spec.wrp_mask(block)

    def block(self) -> bytes:
        start = self.options.sectors[0].address
        return self.options.read(start, self.spec.size)

    @property
    def read_protected(self) -> bool:
        return self.level >= 1

    # -- write protection ----------------------------------------------------------------------
    def protected_ranges(self) -> list[tuple[int, int]]:
        """[start, end) of every write-protected unit of the flash, as loaded at boot."""
        flash = self.flash
        start, end = flash.sectors[0].address, flash.sectors[-1].end
        out = []
        for unit in range(self.spec.wrp_bits):
            if not (self._wrp >> unit) & 1:
                continue
            if self.spec.wrp_unit_bytes == 0:
                if unit < len(flash.sectors):
                    out.append((flash.sectors[unit].address, flash.sectors[unit].end))
                continue
            lo = start + unit * self.spec.wrp_unit_bytes
            hi = end if unit == self.spec.wrp_bits - 1 else lo + self.spec.wrp_unit_bytes
            if lo < end:
                out.append((lo, min(hi, end)))
        return out

    def _protected(self, address: int, length: int) -> bool:
        return any(lo < address + length and address < hi for lo, hi in self.protected_ranges())

    # -- the ROM's operations ------------------------------------------------------------------
    def program(self, memory: Memory, address: int, data: bytes) -> OpResult | None:
        """The ROM's answer to a write, or None when protection does not change it."""
        if self.read_protected:
            return OpResult(Status.ERR_VENDOR, 0.0, address=address)
        if memory is self.options:
            return self._write_options(address, data)
        if memory is not self.flash or not self._protected(address, len(data)):
            return None
        # Protected units are refused by the flash (WRPERR) and the ROM reports nothing; the
        # unprotected parts of the block are programmed.
        duration, units = 0.0, 0
        for lo, hi in self._unprotected_pieces(address, address + len(data)):
            result = memory.program(lo, data[lo - address : hi - address])
            duration, units = duration + result.duration_s, units + result.units
            if not result.ok:
                return OpResult(result.status, duration, units, result.address)
        return OpResult(Status.OK, duration, units, address=address)

    def _unprotected_pieces(self, start: int, end: int) -> list[tuple[int, int]]:
        pieces, cursor = [], start
        for lo, hi in sorted(self.protected_ranges()):
            if hi <= cursor or lo >= end:
                continue
            if lo > cursor:
                pieces.append((cursor, lo))
            cursor = max(cursor, hi)
        if cursor < end:
            pieces.append((cursor, end))
        return pieces

    def _write_options(self, address: int, data: bytes) -> OpResult:
        start = self.options.sectors[0].address
        if address != start or len(data) > self.spec.size:
            # §5.1: the pointer must be the start of the option bytes, else nothing is done.
            return OpResult(Status.ERR_TARGET, 0.0, address=address)
        self.options.load(start, self.spec.stored(data))
        erase_s = self.options.erase_time_s(self.options.sectors[0])
        program_s = self.options.alt.timing.program_unit_us / 1e6 * len(data) / 2
        return OpResult(Status.OK, erase_s + program_s, units=1, address=address)

    def erase(self, memory: Memory, address: int | None) -> OpResult | None:
        """The ROM's answer to a page erase (``address``) or mass erase (None), or None."""
        if self.read_protected:
            return OpResult(Status.ERR_VENDOR, 0.0, address=address)
        if memory is not self.flash:
            return None
        if address is None:
            if self.protected_ranges():
                return OpResult(Status.OK, 0.0, units=0)  # WRPERR, nothing erased, no error
            return None
        sector = memory.sector_at(address)
        if sector is not None and self._protected(sector.address, sector.size):
            return OpResult(Status.OK, 0.0, units=0, address=sector.address)
        return None

    def unprotect(self) -> OpResult:
        """Read Unprotect (AN3156 §5.4, Table 4): erase the flash and restore the factory option
        bytes when protected; otherwise only the RAM is cleared."""
        if not self.read_protected:
            return OpResult(Status.OK, 0.0)
        self.flash.mass_erase()  # write protection does not stop it: the options go too
        self.options.load(self.options.sectors[0].address, self.spec.factory)
        return OpResult(Status.OK, self.flash.alt.timing.mass_erase_ms / 1000.0, units=1)
