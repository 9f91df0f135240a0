"""Option-byte blocks to named values and back (layer: optionbytes; imports its siblings,
``pydfuse.layout`` and ``pydfuse.errors``).

:func:`decode` reads every register through its family's storage (value + complement + copies)
and names each field; :func:`encode` writes register values back with their complements kept
consistent, leaving every byte it does not own exactly as it was. ``decode`` then ``encode``
gives the same bytes for any consistent block (tests/optionbytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydfuse.errors import FormatError
from pydfuse.optionbytes.model import Family, Field, Register

__all__ = [
    "Decoded",
    "FieldValue",
    "RegisterValue",
    "decode",
    "encode",
    "held_after_write",
    "rdp_candidates",
    "with_fields",
]


@dataclass(frozen=True, slots=True)
class RegisterValue:
    """One register as stored: its value and whether its check copies agree."""

    register: Register
    value: int  # the value the chip loads (0xFF for a mismatching F0/F1 byte, RM0091 §4)
    stored: int  # the value bytes as they are in the block
    consistent: bool


@dataclass(frozen=True, slots=True)
class FieldValue:
    """One named field with its value, meaning and factory value."""

    field: Field
    value: int

    @property
    def text(self) -> str:
        return self.field.describe(self.value)

    @property
    def default_text(self) -> str | None:
        d = self.field.default
        return None if d is None else self.field.describe(d)

    @property
    def is_default(self) -> bool | None:
        return None if self.field.default is None else self.value == self.field.default


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded option-byte block of ``family``."""

    family: Family
    raw: bytes
    registers: tuple[RegisterValue, ...]
    fields: tuple[FieldValue, ...]

    def value(self, name: str) -> int:
        """The value of field ``name`` (or alias)."""
        key = self.family.field(name).name
        return next(fv.value for fv in self.fields if fv.field.name == key)

    def register_values(self) -> dict[str, int]:
        return {r.register.name: r.value for r in self.registers}

    @property
    def rdp(self) -> int:
        return self.value("rdp")

    @property
    def rdp_level(self) -> int:
        return self.family.rdp_level(self.rdp)

    def problems(self) -> list[str]:
        """Registers whose complements or copies disagree, said in the chip's terms."""
        out = []
        for r in self.registers:
            if r.consistent:
                continue
            if self.family.storage == "byte-pairs":
                out.append(
                    f"{r.register.name} 0x{r.stored:02X} does not match its complement: the chip "
                    "loads 0xFF instead (option byte error)"
                )
            else:
                out.append(f"{r.register.name}: the stored copies and complements disagree")
        return out


def _read(storage: str, raw: bytes, reg: Register) -> RegisterValue:
    off = reg.offset
    if storage == "byte-pairs":
        value, comp = raw[off], raw[off + 1]
        erased = value == comp == 0xFF  # erased state: no error (RM0091 §4)
        ok = erased or comp == value ^ 0xFF
        return RegisterValue(reg, value if ok else 0xFF, value, ok)
    width = 2 if storage == "halfword-rows" else 4
    words = [int.from_bytes(raw[off + i : off + i + width], "little") for i in range(0, 8, width)]
    mask = (1 << (8 * width)) - 1
    value = words[0]
    if storage == "halfword-rows":  # [v, ~v, v, ~v]
        ok = words == [value, value ^ mask, value, value ^ mask]
    else:  # [v, ~v]
        ok = words[1] == value ^ mask
    return RegisterValue(reg, value, value, ok)


def decode(family: Family, raw: bytes) -> Decoded:
    """Name every field of ``raw``; FormatError when the block has a size the family lacks."""
    if len(raw) not in family.sizes:
        sizes = " or ".join(str(s) for s in family.sizes)
        raise FormatError(
            f"{family.title} option bytes are {sizes} bytes, got {len(raw)}",
            hint="is this the device's option-byte alternate? try --family",
        )
    registers = tuple(_read(family.storage, raw, r) for r in family.registers_in(len(raw)))
    values = {r.register.name: r.value for r in registers}
    fields = tuple(
        FieldValue(f, (values[f.register] >> f.lsb) & f.mask) for f in family.fields_in(len(raw))
    )
    return Decoded(family, bytes(raw), registers, fields)


def _write(storage: str, out: bytearray, reg: Register, value: int) -> None:
    off = reg.offset
    if storage == "byte-pairs":
        out[off], out[off + 1] = value & 0xFF, ~value & 0xFF
        return
    width = 2 if storage == "halfword-rows" else 4
    mask = (1 << (8 * width)) - 1
    words = [value, value ^ mask] * (2 if storage == "halfword-rows" else 1)
    for i, word in enumerate(words):
        out[off + i * width : off + (i + 1) * width] = (word & mask).to_bytes(width, "little")


def encode(family: Family, base: bytes, registers: Mapping[str, int]) -> bytes:
    """``base`` with the given register values (and their complements and copies) written."""
    out = bytearray(base)
    for name, value in registers.items():
        reg = family.register(name)
        if not 0 <= value < (1 << reg.width):
            raise ValueError(f"{name} 0x{value:X} does not fit in {reg.width} bits")
        _write(family.storage, out, reg, value)
    return bytes(out)


def held_after_write(family: Family, raw: bytes) -> bytes:
    """The block a chip of ``family`` holds once its ROM has written ``raw``: F0/F1 chips write
    each complement themselves from the value byte (RM0091 §3.2.2); the others keep it as sent."""
    if family.storage != "byte-pairs":
        return raw
    return encode(family, raw, {r.register.name: r.stored for r in decode(family, raw).registers})


def with_fields(decoded: Decoded, changes: Mapping[str, int]) -> bytes:
    """The block of ``decoded`` with the named fields changed and every register it touches
    rewritten consistently (other registers keep their bytes as read)."""
    family = decoded.family
    values = decoded.register_values()
    touched: dict[str, int] = {}
    for name, value in changes.items():
        f = family.field(name)
        if not 0 <= value <= f.mask:
            raise ValueError(f"{f.name}={value} does not fit in {f.width} bits")
        current = touched.get(f.register, values[f.register])
        touched[f.register] = (current & ~(f.mask << f.lsb)) | (value << f.lsb)
    return encode(family, decoded.raw, touched)


def _copies(storage: str, raw: bytes, reg: Register) -> tuple[int, ...]:
    """Every value of ``reg`` that ``raw`` holds: the value, its inverted complement(s) and its
    copies. Written through a ROM, any of them may be the one the chip takes: on F0/F1 the chip
    writes each complement itself from the value byte (RM0091 §3.2.2); the F2/F4 ROM writes
    FLASH_OPTCR from the block (RM0090 §3.7.2) and we do not know which copy it reads."""
    off = reg.offset
    if storage == "byte-pairs":
        return raw[off], raw[off + 1] ^ 0xFF
    width = 2 if storage == "halfword-rows" else 4
    mask = (1 << (8 * width)) - 1
    words = [int.from_bytes(raw[off + i : off + i + width], "little") for i in range(0, 8, width)]
    return tuple(w if i % 2 == 0 else w ^ mask for i, w in enumerate(words))


def rdp_candidates(family: Family, raw: bytes) -> set[int]:
    """Every RDP byte a chip of ``family`` could end up with when the ROM writes ``raw``: a
    write is judged by the worst of them (level 2 anywhere is refused)."""
    field = family.field("rdp")
    reg = family.register(field.register)
    return {(v >> field.lsb) & field.mask for v in _copies(family.storage, raw, reg)}
