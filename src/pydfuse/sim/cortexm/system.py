"""The Cortex-M system control space: SCB, NVIC, SysTick, DWT (layer: sim).

Imports nothing from pydfuse. Addresses are offsets from 0xE0000000 (the private peripheral
bus, ARMv7-M B3). Besides reading back, the model reports what matters for a run: writes to
VTOR, interrupt sources being enabled (SysTick TICKINT, NVIC ISER), exceptions set pending
(ICSR, ISPR, STIR) and a system reset request (AIRCR SYSRESETREQ with its key).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Event", "SystemControl"]

SYST_CSR, SYST_RVR, SYST_CVR = 0xE010, 0xE014, 0xE018
NVIC_ISER, NVIC_ICER, NVIC_ISPR, NVIC_ICPR = 0xE100, 0xE180, 0xE200, 0xE280
CPUID, ICSR, VTOR, AIRCR = 0xED00, 0xED04, 0xED08, 0xED0C
STIR = 0xEF00
DWT_CYCCNT = 0x1004
_VECTKEY = 0x05FA
_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}


@dataclass(frozen=True, slots=True)
class Event:
    """Something a write did: ``vtor`` (value), ``source`` (an interrupt source enabled),
    ``pend`` (an exception set pending), ``reset`` (system reset requested)."""

    kind: str
    text: str = ""
    value: int = 0


class SystemControl:
    """Registers of the system control space of one core."""

    def __init__(self, cpuid: int, *, vtor_mask: int) -> None:
        self.cpuid = cpuid
        self.vtor_mask = vtor_mask
        self.vtor = 0
        self.values: dict[int, int] = {}
        self.enabled = [0] * 8  # NVIC ISER bits
        self.pending: set[str] = set()
        self._cyccnt = 0
        self._systick_reads = 0

    # -- what is enabled ----------------------------------------------------------------------
    def sources(self) -> list[str]:
        """Interrupt sources that can fire now (PRIMASK aside)."""
        out = []
        if self.values.get(SYST_CSR, 0) & 0b11 == 0b11:
            out.append("SysTick")
        out.extend(f"IRQ {n}" for n in self._irqs(self.enabled))
        return out

    def due(self) -> str | None:
        """A pending exception that would be taken as soon as PRIMASK allows it."""
        for name in sorted(self.pending):
            if name in ("PendSV", "SysTick", "NMI"):
                return name
            if name.startswith("IRQ ") and self._enabled(int(name[4:])):
                return name
        return None

    def _enabled(self, irq: int) -> bool:
        return bool(self.enabled[irq // 32] >> (irq % 32) & 1)

    @staticmethod
    def _irqs(words: list[int]) -> Iterator[int]:
        for index, word in enumerate(words):
            for bit in range(32):
                if word >> bit & 1:
                    yield index * 32 + bit

    # -- bus access ---------------------------------------------------------------------------
    def read(self, offset: int, size: int) -> int:
        register = offset & ~3
        value = self._read_word(register)
        return (value >> ((offset & 3) * 8)) & _MASKS[size]

    def _read_word(self, register: int) -> int:
        if register == CPUID:
            return self.cpuid
        if register == VTOR:
            return self.vtor
        if register == AIRCR:
            return (0xFA05 << 16) | (self.values.get(AIRCR, 0) & 0x8700)
        if NVIC_ISER <= register < NVIC_ISER + 32 or NVIC_ICER <= register < NVIC_ICER + 32:
            return self.enabled[(register & 0x1F) // 4]
        if register == SYST_CSR:
            csr = self.values.get(SYST_CSR, 0)
            return csr | (1 << 16) if csr & 1 else csr  # COUNTFLAG: delay loops end
        if register == SYST_CVR:
            # Counts down so that polling code sees time pass.
            reload = self.values.get(SYST_RVR, 0xFFFFFF) or 0xFFFFFF
            self._systick_reads += 1
            return reload - (self._systick_reads * 97) % (reload + 1)
        if register == DWT_CYCCNT:
            self._cyccnt = (self._cyccnt + 4096) & 0xFFFFFFFF
            return self._cyccnt
        return self.values.get(register, 0)

    def write(self, offset: int, size: int, value: int) -> list[Event]:
        register = offset & ~3
        shift = (offset & 3) * 8
        mask = _MASKS[size] << shift
        value = (value << shift) & mask
        if register == VTOR:
            if not self.vtor_mask:  # ARMv6-M: no VTOR, the write goes nowhere
                return []
            self.vtor = ((self.vtor & ~mask) | value) & self.vtor_mask
            return [Event("vtor", value=self.vtor)]
        if NVIC_ISER <= register < NVIC_ISER + 32:
            index = (register - NVIC_ISER) // 4
            new = value & ~self.enabled[index]
            self.enabled[index] |= value
            return [Event("source", f"NVIC IRQ {n}") for n in self._irqs_in(index, new)]
        if NVIC_ICER <= register < NVIC_ICER + 32:
            self.enabled[(register - NVIC_ICER) // 4] &= ~value
            return []
        if NVIC_ISPR <= register < NVIC_ISPR + 32:
            index = (register - NVIC_ISPR) // 4
            self.pending.update(f"IRQ {n}" for n in self._irqs_in(index, value))
            return [Event("pend")]
        if register == STIR:
            self.pending.add(f"IRQ {value & 0x1FF}")
            return [Event("pend")]
        if register == ICSR:
            return self._write_icsr(value)
        if register == AIRCR and value >> 16 == _VECTKEY:
            self.values[AIRCR] = value & 0xFFFF
            return [Event("reset")] if value & (1 << 2) else []
        old = self.values.get(register, 0)
        self.values[register] = (old & ~mask) | value
        if register == SYST_CSR and value & 0b11 == 0b11 and old & 0b11 != 0b11:
            return [Event("source", "SysTick interrupt")]
        return []

    def _write_icsr(self, value: int) -> list[Event]:
        names = {31: "NMI", 28: "PendSV", 26: "SysTick"}
        for bit, name in names.items():
            if value >> bit & 1:
                self.pending.add(name)
        if value >> 27 & 1:
            self.pending.discard("PendSV")
        if value >> 25 & 1:
            self.pending.discard("SysTick")
        return [Event("pend")]

    @staticmethod
    def _irqs_in(index: int, word: int) -> list[int]:
        return [index * 32 + bit for bit in range(32) if word >> bit & 1]
