"""What an option-byte family is made of: registers, fields, write-protection schemes (layer:
optionbytes; imports nothing from pydfuse but ``pydfuse.errors``).

The tables themselves live in :mod:`pydfuse.optionbytes.families`; every :class:`Field` there
carries the reference-manual section it comes from. A field's ``default`` is the factory value
only where the manual states one; ``None`` means we could not source it, and the tools then say
"not documented" instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "Family",
    "Field",
    "FieldKind",
    "Register",
    "Storage",
    "WrpScheme",
]

# How a register and its check copies sit in the option-byte block:
# "byte-pairs"    F0/F1/F3: byte value at offset, its complement at offset + 1 (RM0091 Table 10);
# "halfword-rows" F2/F4: 64-bit row [v16, ~v16, v16, ~v16] (RM0090 Table 15 lists only
#                 [15:0]; the copies are what a real F411 ROM read-back holds, see families.py);
# "word-pairs"    G4: 64-bit row [v32, ~v32] (RM0440 Table 20).
Storage = Literal["byte-pairs", "halfword-rows", "word-pairs"]

# rdp:  read-protection byte (levels decoded through the family's rdp values)
# enum: named values only (bor=off); flag: 0/1 or its two names; number: an integer;
# wrp:  write protection, entered as units (sectors/blocks/pages) rather than bits
FieldKind = Literal["rdp", "enum", "flag", "number", "wrp"]

_NO_NAMES: Mapping[int, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Register:
    """One option word: ``width`` bits whose value is stored at byte ``offset`` of the block."""

    name: str
    offset: int
    width: int  # 8, 16 or 32 bits, fixed by the family's storage


@dataclass(frozen=True, slots=True)
class Field:
    """A named bit field of one register, with its meaning and (where sourced) factory value."""

    name: str
    register: str
    lsb: int
    width: int
    kind: FieldKind
    meaning: str
    source: str
    default: int | None = None  # factory value; None = not stated by the sources we have
    # value -> the word the user types and reads (enum/flag)
    names: Mapping[int, str] = field(default_factory=lambda: _NO_NAMES)
    aliases: tuple[str, ...] = ()
    # the factory value in words where it is not one value for the whole family
    default_note: str | None = None

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1

    def describe(self, value: int) -> str:
        """The value as the user reads it: its name where it has one, else decimal/hex."""
        if value in self.names:
            return self.names[value]
        if self.width <= 4:
            return str(value)
        return f"0x{value:0{(self.width + 3) // 4}X}"


@dataclass(frozen=True, slots=True)
class WrpScheme:
    """How the write-protection fields map to flash (``unit`` is what ``wrp=0-3`` counts).

    "bits":   one bit per unit; ``unit_bytes`` fixed (F0/F1: 4 KB, bit 31 covers the rest of the
              flash, RM0091 §4.1.3) or 0 = the device's own sectors in order (F2/F4 nWRPi,
              RM0090 §3.7.4); ``active_low``: a 0 bit protects.
    "ranges": up to ``areas`` inclusive page ranges START..END, empty when START > END (G4
              WRP1A/WRP1B, RM0440 §5.4.1); fields named ``<area>_strt`` / ``<area>_end``.

    ``mode_field``: a one-bit field that, when it reads 1, may switch the bits to PCROP
    (read-out protection, active high) on some chips of the family and is unused (reading 1)
    on others (F2/F4 SPRMOD: :func:`pydfuse.optionbytes.wrp.wrp_mode`).
    """

    style: Literal["bits", "ranges"]
    fields: tuple[str, ...]  # bit fields, low unit first ("bits") or area prefixes ("ranges")
    unit: str  # "sector", "4 KB block", "page"
    unit_bytes: int = 0
    active_low: bool = True
    last_bit_covers_rest: bool = False
    page_bytes: int = 0  # "ranges": page size (G4 category 2/4: 2 KB)
    range_bits: int = 8  # "ranges": width of START/END
    mode_field: str | None = None


@dataclass(frozen=True, slots=True)
class Family:
    """One option-byte layout shared by a group of chips (see families.py for the tables)."""

    name: str
    title: str
    source: str
    option_address: int
    sizes: tuple[int, ...]  # block sizes (bytes) a ROM of this family exposes
    storage: Storage
    registers: tuple[Register, ...]
    fields: tuple[Field, ...]
    rdp_level0: int  # RDP value of level 0 (0xAA; STM32F1: 0xA5)
    rdp_level1: int  # the value we write for level 1 (any other value is level 1 too)
    rdp_level2: int | None  # 0xCC; None where the family has no level 2 (STM32F1)
    wrp: WrpScheme
    notes: tuple[str, ...] = ()
    detect_products: tuple[str, ...] = ()  # substrings of the USB product string (F1: 0x418)
    reject_products: tuple[str, ...] = ()
    max_flash_sectors: int | None = None  # F2/F4: 12 sectors in bank 1
    # block sizes that name this family on their own; None: every size in ``sizes``. A size
    # another family (not in the tables) shares is only decoded when the user names the family.
    detect_sizes: tuple[int, ...] | None = None

    def field(self, name: str) -> Field:
        """The field called ``name`` (or one of its aliases); KeyError otherwise."""
        key = name.strip().lower()
        for f in self.fields:
            if f.name == key or key in f.aliases:
                return f
        raise KeyError(name)

    def register(self, name: str) -> Register:
        return next(r for r in self.registers if r.name == name)

    def registers_in(self, size: int) -> tuple[Register, ...]:
        """The registers that fit in a block of ``size`` bytes (G4: 40- or 48-byte ROM views)."""
        span = {"byte-pairs": 2, "halfword-rows": 8, "word-pairs": 8}[self.storage]
        return tuple(r for r in self.registers if r.offset + span <= size)

    def fields_in(self, size: int) -> tuple[Field, ...]:
        present = {r.name for r in self.registers_in(size)}
        return tuple(f for f in self.fields if f.register in present)

    def rdp_level(self, value: int) -> int:
        """Read-protection level of an RDP byte (level 1 is "anything else")."""
        if value == self.rdp_level0:
            return 0
        if self.rdp_level2 is not None and value == self.rdp_level2:
            return 2
        return 1
