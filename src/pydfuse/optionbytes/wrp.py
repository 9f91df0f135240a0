"""Write protection in flash terms: which units (sectors, 4 KB blocks, pages) and address
ranges a decoded block protects, the field values for a wanted set of units, and what the bits
mean where a mode bit can turn them into PCROP (layer: optionbytes; imports its siblings,
``pydfuse.layout`` and ``pydfuse.errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydfuse.errors import OptionBytesError
from pydfuse.layout import MemoryMap
from pydfuse.optionbytes.codec import Decoded
from pydfuse.optionbytes.model import Family

__all__ = [
    "WRP_MODES",
    "Protected",
    "WrpMode",
    "protected",
    "runs",
    "unit_count",
    "unit_span",
    "wrp_fields",
    "wrp_mode",
]

# What the write-protection bits mean: write protection (the usual), or PCROP (F2/F4 SPRMOD = 1:
# the nWRPi bits, active high, make sector i execute-only; a PCROP sector is write-protected
# too, RM0090 Rev 21 §3.7.4, §3.7.5).
WrpMode = Literal["write-protection", "pcrop"]
WRP_MODES: tuple[WrpMode, ...] = ("write-protection", "pcrop")


def wrp_mode(decoded: Decoded, declared: str | None = None) -> WrpMode | None:
    """What the write-protection bits of ``decoded`` mean; None when the block cannot tell.

    F2/F4: SPRMOD (nWRP bit 15) reading 0 is write protection on every chip (the default where
    the bit exists). Reading 1 is PCROP mode on an F401/F411/F412/F446/F42x/F43x but an unused
    bit on an F405/407/415/417 (RM0090 Tables 16, 17): only ``declared`` (the user's
    ``--wrp-mode``) settles it. OptionBytesError when ``declared`` contradicts the block."""
    if declared is not None and declared not in WRP_MODES:
        raise OptionBytesError(
            f"--wrp-mode {declared!r}: expected {' or '.join(WRP_MODES)}",
        )
    field = decoded.family.wrp.mode_field
    if field is None or decoded.value(field) == 0:
        if declared == "pcrop":
            why = (
                f"{decoded.family.title} has no PCROP mode bit"
                if field is None
                else f"{field.upper()} reads 0: the bits are write protection (RM0090 Table 17)"
            )
            raise OptionBytesError(f"--wrp-mode pcrop does not fit this chip: {why}")
        return "write-protection"
    return next((mode for mode in WRP_MODES if mode == declared), None)


@dataclass(frozen=True, slots=True)
class Protected:
    """Write-protected units of the flash and the address ranges [start, end) they cover."""

    unit: str
    units: tuple[int, ...]
    ranges: tuple[tuple[int, int], ...]

    def covers(self, start: int, end: int) -> bool:
        return any(lo < end and start < hi for lo, hi in self.ranges)

    def units_touching(self, family: Family, flash: MemoryMap, start: int, end: int) -> list[int]:
        """The protected units overlapping [start, end)."""
        return [u for u in self.units if _overlaps(unit_span(family, flash, u), start, end)]


def _overlaps(span: tuple[int, int] | None, start: int, end: int) -> bool:
    return span is not None and span[0] < end and start < span[1]


def _bit_count(family: Family) -> int:
    return sum(family.field(name).width for name in family.wrp.fields)


def unit_count(family: Family, flash: MemoryMap) -> int:
    """How many units of ``flash`` the family's write protection can name."""
    scheme = family.wrp
    if scheme.style == "ranges":
        return min(flash.size // scheme.page_bytes, 1 << scheme.range_bits)
    if scheme.unit_bytes == 0:
        return min(len(flash.sectors), _bit_count(family))
    return min(-(-flash.size // scheme.unit_bytes), _bit_count(family))


def unit_span(family: Family, flash: MemoryMap, unit: int) -> tuple[int, int] | None:
    """[start, end) of one write-protection unit in ``flash`` (None when outside it)."""
    scheme = family.wrp
    if scheme.style == "ranges":
        start = flash.start + unit * scheme.page_bytes
        return (start, min(start + scheme.page_bytes, flash.end)) if start < flash.end else None
    if scheme.unit_bytes == 0:
        sectors = sorted(flash.sectors, key=lambda s: s.address)
        return (sectors[unit].address, sectors[unit].end) if unit < len(sectors) else None
    start = flash.start + unit * scheme.unit_bytes
    end = start + scheme.unit_bytes
    if scheme.last_bit_covers_rest and unit == _bit_count(family) - 1:
        end = flash.end
    return (start, min(end, flash.end)) if start < flash.end else None


def _bits(decoded: Decoded, mode: WrpMode = "write-protection") -> list[int]:
    """Protection bits, low unit first, as 1 = protected (PCROP mode: active high)."""
    scheme = decoded.family.wrp
    active_low = scheme.active_low if mode == "write-protection" else not scheme.active_low
    bits = []
    for name in scheme.fields:
        f = decoded.family.field(name)
        value = decoded.value(name)
        for i in range(f.width):
            bit = (value >> i) & 1
            bits.append(bit ^ 1 if active_low else bit)
    return bits


def _protected_units(decoded: Decoded, mode: WrpMode) -> list[int]:
    scheme = decoded.family.wrp
    if scheme.style == "bits":
        return [i for i, bit in enumerate(_bits(decoded, mode)) if bit]
    units: set[int] = set()
    for area in scheme.fields:
        first, last = decoded.value(f"{area}_strt"), decoded.value(f"{area}_end")
        if first <= last:
            units.update(range(first, last + 1))
    return sorted(units)


def protected(decoded: Decoded, flash: MemoryMap, mode: WrpMode = "write-protection") -> Protected:
    """The write-protected units of ``flash`` and their address ranges (merged). ``mode``
    "pcrop": the PCROP sectors (the bits read active high; they are write-protected too)."""
    family = decoded.family
    units = tuple(_protected_units(decoded, mode))
    spans = sorted(s for u in units if (s := unit_span(family, flash, u)) is not None)
    ranges: list[tuple[int, int]] = []
    for start, end in spans:
        if ranges and ranges[-1][1] >= start:
            ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
        else:
            ranges.append((start, end))
    return Protected(family.wrp.unit, units, tuple(ranges))


def runs(units: list[int]) -> list[tuple[int, int]]:
    """Contiguous (first, last) runs of ``units``."""
    out: list[tuple[int, int]] = []
    for u in sorted(set(units)):
        if out and out[-1][1] == u - 1:
            out[-1] = (out[-1][0], u)
        else:
            out.append((u, u))
    return out


def wrp_fields(decoded: Decoded, units: list[int], flash: MemoryMap) -> dict[str, int]:
    """Field values that protect exactly ``units`` of ``flash`` (ValueError when impossible).

    Bits for units the device does not have (an F411's sectors 8-11) keep their value."""
    family = decoded.family
    scheme = family.wrp
    count = unit_count(family, flash)
    bad = [u for u in units if not 0 <= u < count]
    if bad:
        raise ValueError(
            f"{scheme.unit} {bad[0]} does not exist: this flash has {scheme.unit}s 0-{count - 1}"
        )
    if scheme.style == "ranges":
        spans = runs(units)
        if len(spans) > len(scheme.fields):
            raise ValueError(
                f"{family.title} protects at most {len(scheme.fields)} page ranges; "
                f"{len(spans)} given"
            )
        out: dict[str, int] = {}
        empty = ((1 << scheme.range_bits) - 1, 0)  # start after end: no area (RM0440)
        for i, area in enumerate(scheme.fields):
            first, last = spans[i] if i < len(spans) else empty
            out[f"{area}_strt"], out[f"{area}_end"] = first, last
        return out
    wanted = set(units)
    bits = _bits(decoded)
    for u in range(count):
        bits[u] = 1 if u in wanted else 0
    out, index = {}, 0
    for name in scheme.fields:
        f = family.field(name)
        value = 0
        for i in range(f.width):
            bit = bits[index + i] ^ 1 if scheme.active_low else bits[index + i]
            value |= bit << i
        out[name] = value
        index += f.width
    return out
