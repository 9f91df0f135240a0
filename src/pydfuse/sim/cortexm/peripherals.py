"""A permissive model of the chip's peripheral registers (layer: sim).

Imports only sibling sim modules. Writes are stored and counted per peripheral; a read returns
the stored value (or the register's reset value) with the chip's rules applied, so that the
waits of start-up code end: the clock-ready flags follow their enable bits, the clock switch
status follows the switch, the flash latency reads back, UART transmit flags are always set.
Nothing is simulated behind the registers; the application's code runs as on the chip.

Bounded, whatever the code does (a runaway pointer writing its way through the peripheral
space): addresses outside the chip's known peripherals keep at most ``KEPT_ELSEWHERE`` written
values (further ones read as 0), and their writes are counted per 1 KB block for the first
``NAMED_ELSEWHERE`` blocks, then together as ``ELSEWHERE``.
"""

from __future__ import annotations

import bisect
from collections import Counter

from pydfuse.sim.cortexm.chips import Chip

__all__ = ["Peripherals"]

_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}
KEPT_ELSEWHERE = 4096
NAMED_ELSEWHERE = 8
ELSEWHERE = "other addresses"


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
        self._blocks_named = 0  # 1 KB blocks outside the known peripherals, counted by name
        self._kept_elsewhere = 0  # values kept for registers outside them

    def peripheral_at(self, address: int) -> str | None:
        """The peripheral holding ``address`` ("RCC", "GPIOF"), None outside the known ones."""
        i = bisect.bisect_right(self._bases, address) - 1
        if i >= 0:
            base, size, name = self.chip.peripherals[i]
            if address < base + size:
                return name
        return None

    def name_of(self, address: int) -> str:
        """The peripheral holding ``address``, or its 1 KB block in hex."""
        return self.peripheral_at(address) or f"0x{address & ~0x3FF:08X}"

    def _count(self, address: int) -> None:
        name = self.peripheral_at(address)
        if name is None:
            name = f"0x{address & ~0x3FF:08X}"
            if name not in self.writes and self._blocks_named >= NAMED_ELSEWHERE:
                name = ELSEWHERE
            elif name not in self.writes:
                self._blocks_named += 1
        self.writes[name] += 1

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
        if register in self.values or self.peripheral_at(address) is not None:
            self.values[register] = new
        elif self._kept_elsewhere < KEPT_ELSEWHERE:
            self._kept_elsewhere += 1
            self.values[register] = new
        self._count(address)
        # The stored value keeps the bits the write set, also self-clearing ones, for the
        # caller to act on; they are gone from the next read.
        return new | (((value << shift) & mask) & self.chip.self_clear.get(register, 0))
