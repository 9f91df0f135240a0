"""Typed memory maps: sectors with rights, regions, maps and their canonical string form.

Layer: layout. May import ``pydfuse.spec`` and ``pydfuse.errors`` (and ``pydfuse.formats``).

The string form follows the DfuSe layout grammar of §3.1 of dfuse-spec.md. :meth:`MemoryMap.
to_string` writes the *canonical* form: upper-case 8-digit hex addresses, counts zero-padded to
two digits, sizes to three digits, ``K`` for whole KiB, ``M`` for whole MiB too large for three
KiB digits, a space for bytes, and lower-case type letters — the padding ST uses in most real
strings (§3.3/§3.4). Groups are written exactly as they were given (``64*064Kg,64*064Kg`` stays
two groups), so ``parse_layout(m.to_string()) == m`` always holds.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import pairwise

from pydfuse.errors import FormatError
from pydfuse.spec import MemoryRights

KIB = 1024
MIB = 1024 * 1024
ADDRESS_LIMIT = 1 << 32


def rights_letter(rights: MemoryRights) -> str:
    """The type letter ``a``..``g`` for ``rights`` (§3.2: the low three bits of the letter)."""
    value = int(rights) & 7
    if value == 0:
        raise FormatError("memory rights 0 have no layout type letter (valid: a..g)")
    return chr(0x60 + value)


def describe_rights(rights: MemoryRights) -> str:
    """``read-only``, ``read/erase/write`` and so on, for messages."""
    names = [
        name
        for flag, name in (
            (MemoryRights.READABLE, "read"),
            (MemoryRights.ERASABLE, "erase"),
            (MemoryRights.WRITABLE, "write"),
        )
        if rights & flag
    ]
    if names == ["read"]:
        return "read-only"
    return "/".join(names) if names else "no access"


@dataclass(frozen=True, slots=True)
class Sector:
    """One erase unit (page or sector) at ``address`` of ``size`` bytes with ``rights``."""

    address: int
    size: int
    rights: MemoryRights

    @property
    def end(self) -> int:
        """First address after the sector."""
        return self.address + self.size

    @property
    def last(self) -> int:
        """Last address inside the sector."""
        return self.address + self.size - 1

    @property
    def readable(self) -> bool:
        return bool(self.rights & MemoryRights.READABLE)

    @property
    def erasable(self) -> bool:
        return bool(self.rights & MemoryRights.ERASABLE)

    @property
    def writable(self) -> bool:
        return bool(self.rights & MemoryRights.WRITABLE)

    @property
    def letter(self) -> str:
        """The layout type letter (§3.2)."""
        return rights_letter(self.rights)


@dataclass(frozen=True, slots=True)
class SectorGroup:
    """``count`` sectors of ``size`` bytes with ``rights``: one ``count*size<mult><type>`` item."""

    count: int
    size: int
    rights: MemoryRights

    def to_string(self) -> str:
        """Canonical text of the group (see the module docstring)."""
        if self.size % KIB == 0 and self.size // KIB < 1000:
            size, mult = self.size // KIB, "K"
        elif self.size % MIB == 0:
            size, mult = self.size // MIB, "M"
        elif self.size % KIB == 0:
            size, mult = self.size // KIB, "K"
        else:
            size, mult = self.size, " "
        return f"{self.count:02d}*{size:03d}{mult}{rights_letter(self.rights)}"


def _runs(sectors: tuple[Sector, ...]) -> tuple[int, ...]:
    """Counts of maximal runs of equal size and rights."""
    counts: list[int] = []
    previous: Sector | None = None
    for sector in sectors:
        if previous is not None and (sector.size, sector.rights) == (
            previous.size,
            previous.rights,
        ):
            counts[-1] += 1
        else:
            counts.append(1)
        previous = sector
    return tuple(counts)


@dataclass(frozen=True, slots=True)
class MemoryRegion:
    """Contiguous sectors from ``address`` (one ``/0xADDR/groups`` part of a layout, §3.1).

    ``group_counts`` remembers how the sectors were grouped in the string (empty: maximal runs of
    equal size and rights); it only affects :meth:`to_string` and equality.
    """

    address: int
    sectors: tuple[Sector, ...]
    group_counts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.sectors:
            raise FormatError(f"memory region at 0x{self.address:08x} has no sectors")
        expected = self.address
        for sector in self.sectors:
            if sector.address != expected or sector.size <= 0:
                raise FormatError(
                    f"sectors of the region at 0x{self.address:08x} are not contiguous "
                    f"(0x{sector.address:08x}, expected 0x{expected:08x})"
                )
            expected = sector.end
        if expected > ADDRESS_LIMIT:
            raise FormatError(
                f"memory region at 0x{self.address:08x} runs past the 32-bit address space"
            )
        if self.group_counts:
            self._check_groups()

    def _check_groups(self) -> None:
        if sum(self.group_counts) != len(self.sectors) or min(self.group_counts) <= 0:
            raise FormatError(
                f"group counts {self.group_counts} do not add up to {len(self.sectors)} sectors"
            )
        index = 0
        for count in self.group_counts:
            first = self.sectors[index]
            for sector in self.sectors[index : index + count]:
                if (sector.size, sector.rights) != (first.size, first.rights):
                    raise FormatError(
                        f"group at 0x{first.address:08x} mixes sector sizes or rights"
                    )
            index += count

    @property
    def end(self) -> int:
        """First address after the region."""
        return self.sectors[-1].end

    @property
    def size(self) -> int:
        return self.end - self.address

    def groups(self) -> tuple[SectorGroup, ...]:
        """The groups of the layout string, as given (or maximal runs)."""
        counts = self.group_counts or _runs(self.sectors)
        out: list[SectorGroup] = []
        index = 0
        for count in counts:
            first = self.sectors[index]
            out.append(SectorGroup(count, first.size, first.rights))
            index += count
        return tuple(out)

    def to_string(self) -> str:
        """``/0x08000000/06*002Ka,250*002Kg``."""
        return f"/0x{self.address:08X}/" + ",".join(g.to_string() for g in self.groups())


@dataclass(frozen=True, slots=True)
class MemoryMap:
    """A named memory (one alternate setting): regions of sectors, as a layout string says.

    ``name`` keeps its trailing spaces (they are part of the string, §3.1); :attr:`label` drops
    them for messages. ``size`` counts mapped bytes only. ``notes`` say what the parser left
    out or read in an unusual way (see :mod:`pydfuse.layout.parse`); they do not take part in
    equality.
    """

    name: str
    regions: tuple[MemoryRegion, ...]
    notes: tuple[str, ...] = field(default=(), compare=False)
    _sectors: tuple[Sector, ...] = field(init=False, repr=False, compare=False)
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.regions:
            raise FormatError(f"memory {self.name.strip()!r} has no regions")
        sectors = tuple(sorted((s for r in self.regions for s in r.sectors), key=_address))
        for before, after in pairwise(sectors):
            if after.address < before.end:
                raise FormatError(
                    f"memory {self.name.strip()!r}: regions overlap at 0x{after.address:08x}"
                )
        object.__setattr__(self, "_sectors", sectors)
        object.__setattr__(self, "_starts", tuple(s.address for s in sectors))

    @property
    def label(self) -> str:
        """The name without surrounding spaces."""
        return self.name.strip()

    @property
    def sectors(self) -> tuple[Sector, ...]:
        """All sectors of all regions, in address order."""
        return self._sectors

    @property
    def start(self) -> int:
        return self._sectors[0].address

    @property
    def end(self) -> int:
        """First address after the highest sector."""
        return self._sectors[-1].end

    @property
    def size(self) -> int:
        """Mapped bytes (gaps between regions excluded)."""
        return sum(s.size for s in self._sectors)

    def sector_at(self, address: int) -> Sector | None:
        """The sector holding ``address``, or None when it is unmapped."""
        index = bisect_right(self._starts, address) - 1
        if index >= 0 and address < self._sectors[index].end:
            return self._sectors[index]
        return None

    def contains(self, address: int) -> bool:
        return self.sector_at(address) is not None

    def sectors_between(self, start: int, end: int) -> tuple[Sector, ...]:
        """Sectors overlapping the half-open range ``[start, end)``, in address order."""
        if end <= start:
            return ()
        first = max(bisect_right(self._starts, start) - 1, 0)
        out: list[Sector] = []
        for sector in self._sectors[first:]:
            if sector.address >= end:
                break
            if sector.end > start:
                out.append(sector)
        return tuple(out)

    def spans(self) -> tuple[tuple[int, int], ...]:
        """Mapped address ranges ``(start, end)`` with adjacent regions joined."""
        out: list[tuple[int, int]] = []
        for sector in self._sectors:
            if out and out[-1][1] == sector.address:
                out[-1] = (out[-1][0], sector.end)
            else:
                out.append((sector.address, sector.end))
        return tuple(out)

    def describe_spans(self) -> str:
        """``0x08000000..0x0807ffff`` (comma-separated when there are several)."""
        return ", ".join(f"0x{a:08x}..0x{b - 1:08x}" for a, b in self.spans())

    def to_string(self) -> str:
        """The canonical layout string: ``@Internal Flash  /0x08000000/06*002Ka,250*002Kg``."""
        return "@" + self.name + "".join(r.to_string() for r in self.regions)


def _address(sector: Sector) -> int:
    return sector.address
