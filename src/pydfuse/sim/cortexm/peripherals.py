"""A permissive model of the chip's peripheral registers (layer: sim).

Imports only sibling sim modules. Writes are stored and counted per peripheral; a read returns
the stored value (or the register's reset value) with the chip's rules applied, so that the
waits of start-up code end: the clock-ready flags follow their enable bits, the clock switch
status follows the switch, the flash latency reads back, UART transmit flags are always set.
Nothing is simulated behind the registers; the application's code runs as on the chip.
"""

from __future__ import annotations

import bisect
from collections import Counter

from pydfuse.sim.cortexm.chips import Chip

__all__ = ["Peripherals"]

_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}


class Peripherals:
    """The register file of one chip's peripherals (addresses are absolute)."""

    def __init__(self, chip: Chip) -> None:
        self.chip = chip
        self.values: dict[int, int] = {}
        self.writes: Counter[str] = Counter()
        self._bases = [base for base, _, _ in chip.peripherals]
        self._ready: dict[int, list[tuple[int, int]]] = {}
        for rule in chip.ready:
            self._ready.setdefault(rule.register, []).append((rule.control, rule.ready))
        self._mirror = {reg: (mask, shift) for reg, mask, shift in chip.mirror}

    def name_of(self, address: int) -> str:
        """The peripheral holding ``address`` ("RCC", "GPIOF"), or its 1 KB block in hex."""
        i = bisect.bisect_right(self._bases, address) - 1
        if i >= 0:
            base, size, name = self.chip.peripherals[i]
            if address < base + size:
                return name
        return f"0x{address & ~0x3FF:08X}"

    def word(self, register: int) -> int:
        """The stored 32-bit value of ``register`` (word aligned), reset value if unwritten."""
        return self.values.get(register, self.chip.reset_values.get(register, 0))

    def read(self, address: int, size: int) -> int:
        register = address & ~3
        value = self.word(register)
        for control, ready in self._ready.get(register, ()):
            value = value | ready if value & control else value & ~ready
        mirror = self._mirror.get(register)
        if mirror is not None:
            mask, shift = mirror
            value = (value & ~(mask << shift)) | ((value & mask) << shift)
        value |= self.chip.always.get(register, 0)
        shift = (address & 3) * 8
        return (value >> shift) & _MASKS[size]

    def write(self, address: int, size: int, value: int) -> int:
        """Store a write; returns the register's new 32-bit value."""
        register = address & ~3
        shift = (address & 3) * 8
        mask = _MASKS[size] << shift
        new = (self.word(register) & ~mask) | ((value << shift) & mask)
        new &= ~self.chip.self_clear.get(register, 0)
        flash = self.chip.flash
        if register == flash.keyr:
            self.values[flash.cr] = self.word(flash.cr) & ~flash.lock
        self.values[register] = new
        self.writes[self.name_of(address)] += 1
        # The stored value keeps the bits the write set, also self-clearing ones, for the
        # caller to act on; they are gone from the next read.
        return new | (((value << shift) & mask) & self.chip.self_clear.get(register, 0))
