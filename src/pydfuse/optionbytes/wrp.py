"""Write protection in flash terms: which units (sectors, 4 KB blocks, pages) and address
ranges a decoded block protects, and the field values for a wanted set of units (layer:
optionbytes; imports its siblings and ``pydfuse.layout``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydfuse.layout import MemoryMap
from pydfuse.optionbytes.codec import Decoded
from pydfuse.optionbytes.model import Family

__all__ = ["Protected", "protected", "runs", "unit_count", "unit_span", "wrp_fields"]


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


def _bits(decoded: Decoded) -> list[int]:
    """Protection bits, low unit first, as 1 = protected."""
    scheme = decoded.family.wrp
    bits = []
    for name in scheme.fields:
        f = decoded.family.field(name)
        value = decoded.value(name)
        for i in range(f.width):
            bit = (value >> i) & 1
            bits.append(bit ^ 1 if scheme.active_low else bit)
    return bits


def _protected_units(decoded: Decoded) -> list[int]:
    scheme = decoded.family.wrp
    if scheme.style == "bits":
        return [i for i, bit in enumerate(_bits(decoded)) if bit]
    units: set[int] = set()
    for area in scheme.fields:
        first, last = decoded.value(f"{area}_strt"), decoded.value(f"{area}_end")
        if first <= last:
            units.update(range(first, last + 1))
    return sorted(units)


def protected(decoded: Decoded, flash: MemoryMap) -> Protected:
    """The write-protected units of ``flash`` and their address ranges (merged)."""
    family = decoded.family
    units = tuple(_protected_units(decoded))
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
