"""Memory semantics and timing of one DFU target (layer: sim; imports pydfuse.spec).

A :class:`Memory` is one alternate setting's storage: sectors with §3.2 rights, erased state
0xFF, programming per unit (§5.4 F1 half-words, §6.3 SPI pages, §6.4 NOR words, §5.5 F4 words)
with the rule of its :data:`ProgramRule`, and typical timing from the profile (§6). Storage is
sparse: a sector that was never written holds no bytes.

Operations return an :class:`OpResult` (status + modeled duration) rather than raising, because
the DFU state machine reports failures through GETSTATUS, not through exceptions (§2.6).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pydfuse.sim.profiles import AltProfile
from pydfuse.spec import MemoryRights, Status

__all__ = ["ERASED", "Memory", "OpResult", "Sector"]

ERASED = 0xFF


@dataclass(frozen=True, slots=True)
class Sector:
    address: int
    size: int
    rights: MemoryRights

    @property
    def end(self) -> int:
        return self.address + self.size


@dataclass(frozen=True, slots=True)
class OpResult:
    """Outcome of a program/erase: DFU status, modeled seconds, and what was touched."""

    status: Status
    duration_s: float
    units: int = 0  # program units written, or sectors erased
    address: int | None = None  # where a failure happened, for diagnostics

    @property
    def ok(self) -> bool:
        return self.status == Status.OK


class Memory:
    """Storage of one alternate, with the flash rules and timing of its profile."""

    def __init__(self, alt: AltProfile, *, enforce_readonly: bool = True) -> None:
        self.alt = alt
        self.enforce_readonly = enforce_readonly
        sectors = [
            Sector(g.address + i * g.size, g.size, g.rights)
            for g in alt.sectors
            for i in range(g.count)
        ]
        self.sectors = tuple(sorted(sectors, key=lambda s: s.address))
        self._starts = [s.address for s in self.sectors]
        self._data: dict[int, bytearray] = {}
        # Told of every change right after it is made: ("W", address, bytes written) or
        # ("E", sector address, size). A --sim-state file's journal listens (sim.boardfile).
        self.on_change: Callable[[str, int, bytes | int], None] | None = None

    # -- geometry -------------------------------------------------------------------------
    def sector_at(self, address: int) -> Sector | None:
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and address < self.sectors[i].end:
            return self.sectors[i]
        return None

    def _span(self, address: int, length: int) -> list[Sector] | None:
        """Sectors covering [address, address+length), or None if any byte is unmapped."""
        out: list[Sector] = []
        cursor, end = address, address + max(length, 1)
        while cursor < end:
            sector = self.sector_at(cursor)
            if sector is None:
                return None
            out.append(sector)
            cursor = sector.end
        return out

    def contains(self, address: int, length: int = 1) -> bool:
        return self._span(address, length) is not None

    # -- raw access (back door: ignores rights, needs mapped addresses) ---------------------
    def read(self, address: int, length: int) -> bytes:
        """Bytes at ``address``; ``ValueError`` if any of them is outside this memory."""
        if length < 0 or self._span(address, length) is None:
            raise ValueError(f"{length} bytes at 0x{address:08X} are outside {self._name}")
        out = bytearray()
        cursor, end = address, address + length
        while cursor < end:
            sector = self.sector_at(cursor)
            assert sector is not None
            stop = min(end, sector.end)
            block = self._data.get(sector.address)
            lo, hi = cursor - sector.address, stop - sector.address
            out += block[lo:hi] if block is not None else bytes([ERASED]) * (hi - lo)
            cursor = stop
        return bytes(out)

    def load(self, address: int, data: bytes) -> None:
        """Store ``data`` as is (test/demo set-up): no rights, no flash rules, no time."""
        if self._span(address, len(data)) is None:
            raise ValueError(f"{len(data)} bytes at 0x{address:08X} are outside {self._name}")
        self._write_raw(address, data)

    def _write_raw(self, address: int, data: bytes) -> None:
        cursor, end, offset = address, address + len(data), 0
        while cursor < end:
            sector = self.sector_at(cursor)
            assert sector is not None
            stop = min(end, sector.end)
            block = self._data.get(sector.address)
            if block is None:
                block = self._data[sector.address] = bytearray([ERASED]) * sector.size
            block[cursor - sector.address : stop - sector.address] = data[
                offset : offset + stop - cursor
            ]
            offset += stop - cursor
            cursor = stop
        if self.on_change is not None:
            self.on_change("W", address, bytes(data))

    def _drop(self, sector: Sector) -> None:
        """Erase ``sector`` (its bytes read 0xFF again)."""
        if self._data.pop(sector.address, None) is not None and self.on_change is not None:
            self.on_change("E", sector.address, sector.size)

    def used_sectors(self) -> Iterator[tuple[int, bytes]]:
        """(address, contents) of every sector holding anything but 0xFF, address order; in a
        memory that cannot be erased (option bytes) every written sector, since 0xFF there is
        a value (an all-0xFF F0 option block means read protection, RM0091 §4)."""
        for address in sorted(self._data):
            block = self._data[address]
            if block.count(ERASED) != len(block) or not self.alt.erasable:
                yield address, bytes(block)

    @property
    def _name(self) -> str:
        return repr(self.alt.layout)

    # -- device-side access (rights and flash rules) ---------------------------------------
    def readable_length(self, address: int, length: int) -> int:
        """How many of ``length`` bytes from ``address`` the device may read (0 = none)."""
        cursor, end = address, address + length
        while cursor < end:
            sector = self.sector_at(cursor)
            if sector is None or not self._allowed(sector, MemoryRights.READABLE):
                break
            cursor = min(end, sector.end)
        return cursor - address

    def _allowed(self, sector: Sector, right: MemoryRights) -> bool:
        return not self.enforce_readonly or bool(sector.rights & right)

    def erase_time_s(self, sector: Sector) -> float:
        return self.alt.timing.erase_sector_ms.get(sector.size, 0.0) / 1000.0

    def erase(self, address: int) -> OpResult:
        """Erase the sector containing ``address`` (§2.2: page erase)."""
        sector = self.sector_at(address)
        if (
            sector is None
            or not self.alt.erasable
            or not self._allowed(sector, MemoryRights.ERASABLE)
        ):
            # §2.6: erase at a non-allowed address -> errTARGET
            return OpResult(Status.ERR_TARGET, 0.0, address=address)
        self._drop(sector)
        return OpResult(Status.OK, self.erase_time_s(sector), units=1, address=sector.address)

    def mass_erase(self) -> OpResult:
        """Erase every sector the device may erase; protected ('a') sectors survive."""
        if not self.alt.erasable:
            return OpResult(Status.ERR_TARGET, 0.0)
        count = 0
        for sector in self.sectors:
            if self._allowed(sector, MemoryRights.ERASABLE):
                self._drop(sector)
                count += 1
        return OpResult(Status.OK, self.alt.timing.mass_erase_ms / 1000.0, units=count)

    def program(self, address: int, data: bytes) -> OpResult:
        """Program ``data`` at ``address`` unit by unit; stops at the first failing unit.

        The units are checked and written as whole blocks (integer operations over the block),
        with exactly the outcome of programming them one after the other: the units before a
        failing one are written, the failing one and those after it are not, and the time is
        that of every unit tried. A unit that sticks out of the memory (only possible at an
        unaligned edge) is programmed on its own, trimmed to the mapped part.
        """
        span = self._span(address, len(data))
        if span is None or not all(self._allowed(s, MemoryRights.WRITABLE) for s in span):
            # §2.6: write at a non-allowed address -> errTARGET; nothing is written
            return OpResult(Status.ERR_TARGET, 0.0, address=address)
        if not data:
            return OpResult(Status.OK, 0.0)  # no unit to program (was 0 or 1 by alignment)
        unit = self.alt.timing.program_unit_bytes
        unit_s = self.alt.timing.program_unit_us / 1e6
        first = address - address % unit
        last = -(-(address + len(data)) // unit) * unit
        written = 0
        for start, stop in self._program_pieces(first, last, unit):
            tried, failed_at = self._program_block(start, stop, unit, address, data)
            written += tried
            if failed_at is not None:
                return OpResult(Status.ERR_PROG, written * unit_s, written - 1, address=failed_at)
        return OpResult(Status.OK, written * unit_s, written)

    def _program_pieces(self, first: int, last: int, unit: int) -> list[tuple[int, int]]:
        """[first, last) cut so that an edge unit outside the memory stands alone."""
        if self.contains(first, last - first):
            return [(first, last)]
        pieces: list[tuple[int, int]] = []
        lo, hi = first, last
        if not self.contains(first, unit):
            pieces.append((first, first + unit))
            lo = first + unit
        tail = hi - unit > lo and not self.contains(hi - unit, unit)
        if tail:
            hi -= unit
        if lo < hi:
            pieces.append((lo, hi))
        if tail:
            pieces.append((hi, last))
        return pieces

    def _program_block(
        self, start: int, stop: int, unit: int, address: int, data: bytes
    ) -> tuple[int, int | None]:
        """Program the units of [start, stop): (units tried, address of the unit that failed)."""
        lo = max(start, address)
        hi = min(stop, address + len(data))
        if not self.contains(start, stop - start):  # one unit straddling the memory edge
            start, stop = lo, hi
        old = self.read(start, stop - start)
        rule = self.alt.program_rule
        # Bytes of a unit outside ``data``: ST pads with 0xFF (§2.9); on NOR-style memories a
        # 0xFF leaves a cell unchanged, so we keep the old value there.
        new = bytearray(b"\xff" * len(old)) if rule == "halfword-erased" else bytearray(old)
        new[lo - start : hi - start] = data[lo - address : hi - address]
        bad = _first_failure(rule, old, new)
        if bad is None:
            self._write_raw(start, bytes(new))
            return -(-(stop - start) // unit), None
        units_ok = bad // unit
        self._write_raw(start, bytes(new[: units_ok * unit]))
        return units_ok + 1, start + units_ok * unit


def _first_failure(rule: str, old: bytes, new: bytes | bytearray) -> int | None:
    """Offset of the first byte whose programming the flash refuses, or None.

    "halfword-erased" (§5.4, RM0008): a half-word must read 0xFFFF before programming unless
    0x0000 is written, else PGERR and the half-word keeps its value. "clear-bits" (§5.5, §6.3,
    §6.4): a bit can go from 1 to 0 only. Both are checked over the whole block at once with
    integer operations; ``old`` and ``new`` have the same, even (half-word aligned) length
    for "halfword-erased".
    """
    if rule == "clear-bits":
        n = int.from_bytes(new, "big")
        refused = (int.from_bytes(old, "big") & n) ^ n  # bits that would have to go 0 -> 1
    elif rule == "halfword-erased":
        even = len(old) & ~1  # a trimmed edge unit may end in a byte of no whole half-word
        old, new = old[:even], new[:even]
        if not old or old.count(ERASED) == len(old):
            return None  # erased flash takes anything (the usual case)
        ones, lows, highs = _halfword_masks(len(old))
        refused = _nonzero_lanes(int.from_bytes(old, "big") ^ ones, lows, highs)
        refused &= _nonzero_lanes(int.from_bytes(new, "big"), lows, highs)
    else:
        return None  # "overwrite": registers are written in place
    if not refused:
        return None
    flags = refused.to_bytes(len(old), "big")
    return len(flags) - len(flags.lstrip(b"\0"))


def _nonzero_lanes(value: int, lows: int, highs: int) -> int:
    """Bit 15 of every 16-bit lane of ``value`` set where that lane is not zero."""
    # (lane & 0x7FFF) + 0x7FFF carries into bit 15 exactly when the low 15 bits are not all
    # zero, and never out of the lane; OR-ing the lane itself adds its own bit 15.
    return (((value & lows) + lows) | value) & highs


@functools.lru_cache(maxsize=16)
def _halfword_masks(length: int) -> tuple[int, int, int]:
    """(all ones, 0x7FFF per lane, 0x8000 per lane) for ``length`` bytes of half-words."""
    lanes = length // 2
    return (
        int.from_bytes(b"\xff" * length, "big"),
        int.from_bytes(b"\x7f\xff" * lanes, "big"),
        int.from_bytes(b"\x80\x00" * lanes, "big"),
    )
