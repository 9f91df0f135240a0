"""Erase/write plans: image + memory map -> :class:`Plan` (layer: plan; pure data, no I/O).

May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and ``pydfuse.errors``.
``pydfuse.ops`` executes a plan; ``--dry-run`` prints :meth:`Plan.describe`.

Rules (§2.11, §4.9, §7 items 20 and 23 of dfuse-spec.md):

* every sector the image touches is erased exactly once, in address order, before any write —
  hosts that erase per element or per chunk lose data when elements share a page;
* sectors that are writable but not erasable (type ``d``/``e``: option bytes, RAM) are written
  without an erase, and so are memories whose ``g`` letters are known to lie (option bytes,
  OTP, "Device Feature": :func:`pydfuse.layout.apply_quirks`);
* bytes in sectors without the write right, bytes outside every sector and images larger than
  the memory are refused with :class:`PlanError`. With ``force=True`` they are written anyway
  and each problem becomes a loud line in :attr:`Plan.warnings`: forced non-writable sectors are
  erased first (their rights are advisory on ST's demo bootloader, §7 item 10), forced unmapped
  bytes are written without an erase (there is no page to erase);
* with ``mass_erase=True`` no sector is erased one by one; every sector of the memory must be
  erasable (a read-only bootloader would be wiped) unless ``force=True``;
* delta (:func:`apply_delta`): given what the device holds, a sector that already holds exactly
  what a full flash would leave in it (the image's bytes, 0xFF elsewhere) is neither erased nor
  written; the verdict on every sector, skipped or not, is kept in :attr:`Plan.checks`, and
  verify still reads the whole image back once anything is written (:attr:`Plan.verify_runs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydfuse.errors import PlanError
from pydfuse.formats.image import Image, Segment
from pydfuse.layout import MemoryMap, Sector, apply_quirks
from pydfuse.layout.placement import (
    format_range,
    format_size,
    placement_problems,
    touched_sectors,
)

# §6.5: full-speed control transfers top out near 832 kB/s; DfuSe adds a Set Address and
# several GETSTATUS transfers per block, so half of that is a fair default for the bus share.
DEFAULT_BUS_BYTES_PER_S = 416_000.0


@dataclass(frozen=True, slots=True)
class PlanTiming:
    """Flash and bus timings used to model a plan's duration (filled from a board profile)."""

    erase_ms_by_sector_size: Mapping[int, float]
    program_unit_bytes: int
    program_unit_us: float
    mass_erase_ms: float
    bus_bytes_per_s: float = DEFAULT_BUS_BYTES_PER_S

    def erase_ms(self, sector_size: int) -> float:
        """Erase time of one sector; sizes missing from the table scale the nearest entry."""
        table = self.erase_ms_by_sector_size
        if sector_size in table:
            return float(table[sector_size])
        if not table:
            return 0.0
        nearest = min(table, key=lambda size: abs(size - sector_size))
        return float(table[nearest]) * sector_size / nearest

    def program_ms(self, n_bytes: int) -> float:
        units = -(-n_bytes // max(self.program_unit_bytes, 1))
        return units * self.program_unit_us / 1000.0

    def bus_ms(self, n_bytes: int) -> float:
        return n_bytes / self.bus_bytes_per_s * 1000.0 if self.bus_bytes_per_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class SectorCheck:
    """The delta verdict on one sector the image touches: skipped (``skip``) or written, and why.

    ``compared`` says whether the device's contents were read for the verdict (a sector is not
    read when it cannot be: not readable, upload refused).
    """

    address: int
    size: int
    skip: bool
    reason: str
    compared: bool = True

    @property
    def end(self) -> int:
        return self.address + self.size


# Reasons of :class:`SectorCheck` verdicts (also shown by ``--dry-run``).
IDENTICAL = "already holds exactly these bytes"
CHANGED = "holds other bytes"


@dataclass(frozen=True, slots=True)
class Plan:
    """What to erase and what to write, in order. Plain data: printable and testable."""

    memory_name: str
    transfer_size: int
    erases: tuple[Sector, ...]
    mass_erase: bool
    writes: tuple[Segment, ...]
    bytes_to_erase: int
    modeled_time_s: float | None = None
    warnings: tuple[str, ...] = ()
    checks: tuple[SectorCheck, ...] = ()  # delta verdicts (empty: every sector is written)
    image_writes: tuple[Segment, ...] = ()  # the writes before delta left sectors out

    @property
    def verify_runs(self) -> tuple[Segment, ...]:
        """What verify reads back: every write, and once this plan erases or writes anything,
        the whole image, skipped sectors included — their compare read came before the
        erases, and an erase that reaches further than the layout says (a loader's layout
        string can understate the erase block, §7 item 5) would go unseen. An unchanged
        memory was verified by its compare read."""
        if self.image_writes and (self.writes or self.erases):
            return self.image_writes
        return self.writes

    @property
    def bytes_to_write(self) -> int:
        return sum(len(w) for w in self.writes)

    @property
    def skipped(self) -> tuple[SectorCheck, ...]:
        """Sectors left alone because they already hold their final bytes."""
        return tuple(c for c in self.checks if c.skip)

    @property
    def bytes_compared(self) -> int:
        """Bytes read back from the device to decide what to skip."""
        return sum(c.size for c in self.checks if c.compared)

    @property
    def blocks(self) -> int:
        """DNLOAD blocks of at most ``transfer_size`` bytes needed for all writes."""
        return sum(-(-len(w) // self.transfer_size) for w in self.writes)

    def iter_blocks(self) -> Iterator[Segment]:
        """The writes cut into blocks of at most ``transfer_size`` bytes, in order."""
        for write in self.writes:
            for offset in range(0, len(write), self.transfer_size):
                chunk = write.data[offset : offset + self.transfer_size]
                yield Segment(write.address + offset, chunk)

    def summary(self) -> str:
        """One line: ``erase 3 sectors (6 KiB), write 5 KiB in 5 blocks, modeled 0.6 s``."""
        if self.mass_erase:
            erase = f"mass erase ({format_size(self.bytes_to_erase)})"
        else:
            count = len(self.erases)
            erase = f"erase {count} sector{'s' if count != 1 else ''}"
            erase += f" ({format_size(self.bytes_to_erase)})" if count else ""
        text = (
            f"{erase}, write {format_size(self.bytes_to_write)} in {self.blocks} "
            f"block{'s' if self.blocks != 1 else ''} of ≤ {self.transfer_size} B"
        )
        if self.checks:
            skipped = self.skipped
            text += (
                f"; {len(skipped)} of {len(self.checks)} sector"
                f"{'s' if len(self.checks) != 1 else ''} unchanged"
                f" ({format_size(sum(c.size for c in skipped))}) skipped"
            )
        if self.modeled_time_s is not None:
            text += f", modeled {self.modeled_time_s:.1f} s"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (addresses as integers)."""
        return {
            "memory": self.memory_name.strip(),
            "transfer_size": self.transfer_size,
            "mass_erase": self.mass_erase,
            "erases": [{"address": s.address, "size": s.size} for s in self.erases],
            "writes": [{"address": w.address, "size": len(w)} for w in self.writes],
            "blocks": self.blocks,
            "bytes_to_write": self.bytes_to_write,
            "bytes_to_erase": self.bytes_to_erase,
            "modeled_time_s": self.modeled_time_s,
            "warnings": list(self.warnings),
            "delta": [
                {"address": c.address, "size": c.size, "skip": c.skip, "reason": c.reason}
                for c in self.checks
            ],
            "bytes_compared": self.bytes_compared,
        }

    def describe(self) -> list[str]:
        """Human-readable lines for ``--dry-run``."""
        lines = [f"plan for {self.memory_name.strip()}:"]
        lines += [f"  WARNING: {w}" for w in self.warnings]
        for start, end, count, check in _check_runs(self.checks):
            noun = "sector" if count == 1 else "sectors"
            verb = "skip" if check.skip else "rewrite"
            lines.append(
                f"  {verb} {format_range(start, end)} ({count} {noun}, "
                f"{format_size(end - start)}): {check.reason}"
            )
        if self.mass_erase:
            lines.append(f"  mass erase ({format_size(self.bytes_to_erase)})")
        for start, end, count in _sector_runs(self.erases):
            noun = "sector" if count == 1 else "sectors"
            lines.append(
                f"  erase {format_range(start, end)} ({count} {noun}, {format_size(end - start)})"
            )
        for write in self.writes:
            n_blocks = -(-len(write) // self.transfer_size)
            lines.append(
                f"  write {format_range(write.address, write.end)} ({format_size(len(write))}) "
                f"in {n_blocks} block{'s' if n_blocks != 1 else ''} of ≤ {self.transfer_size} B"
            )
        total = (
            f"  total: {format_size(self.bytes_to_write)} in {self.blocks} blocks, "
            f"{format_size(self.bytes_to_erase)} erased"
        )
        if self.checks:
            total += (
                f", {len(self.skipped)} unchanged sector(s) skipped after reading back "
                f"{format_size(self.bytes_compared)}"
            )
        if self.modeled_time_s is not None:
            total += f", modeled time {self.modeled_time_s:.1f} s"
        lines.append(total)
        return lines


WRITING_ANYWAY = "; writing it anyway"  # ends a FORCED placement warning of the planner


def _sector_runs(sectors: tuple[Sector, ...]) -> list[tuple[int, int, int]]:
    runs: list[tuple[int, int, int]] = []
    for sector in sectors:
        if runs and runs[-1][1] == sector.address:
            start, _, count = runs[-1]
            runs[-1] = (start, sector.end, count + 1)
        else:
            runs.append((sector.address, sector.end, 1))
    return runs


def _check_runs(
    checks: tuple[SectorCheck, ...],
) -> list[tuple[int, int, int, SectorCheck]]:
    """Adjacent verdicts with the same outcome and reason as (start, end, count, first)."""
    runs: list[tuple[int, int, int, SectorCheck]] = []
    for check in checks:
        if runs:
            start, end, count, first = runs[-1]
            if end == check.address and (first.skip, first.reason) == (check.skip, check.reason):
                runs[-1] = (start, check.end, count + 1, first)
                continue
        runs.append((check.address, check.end, 1, check))
    return runs


def _split_writes(image: Image, memory: MemoryMap) -> tuple[Segment, ...]:
    """Image segments cut at region boundaries, so no write runs from one region into the
    next (or from mapped into unmapped addresses)."""
    cuts = sorted({r.address for r in memory.regions} | {r.end for r in memory.regions})
    writes: list[Segment] = []
    for segment in image:
        base = start = segment.address
        for cut in cuts:
            if start < cut < segment.end:
                writes.append(Segment(start, segment.data[start - base : cut - base]))
                start = cut
        writes.append(Segment(start, segment.data[start - base :]))
    return tuple(writes)


def _mass_erase_problem(memory: MemoryMap) -> tuple[str, bool] | None:
    """(message, forceable) when a mass erase of ``memory`` is not safe."""
    stuck = [s for s in memory.sectors if not s.erasable]
    if not stuck:
        return None
    if len(stuck) == len(memory.sectors):
        return f"{memory.label} has no erasable sectors: a mass erase cannot work", False
    runs = ", ".join(format_range(a, b) for a, b, _ in _sector_runs(tuple(stuck)))
    return (
        f"a mass erase of {memory.label} would also wipe {runs}, which the device marks as "
        "not erasable (e.g. the bootloader); erase sector by sector instead",
        True,
    )


def check_mass_erase(memory: MemoryMap, *, force: bool = False) -> list[str]:
    """Refuse (PlanError) a mass erase that would wipe sectors the device marks as not
    erasable, e.g. a flash-resident bootloader; with ``force``, a loud warning instead."""
    mass = _mass_erase_problem(memory)
    if mass is None:
        return []
    message, forceable = mass
    if not (force and forceable):
        raise PlanError(message, address=memory.start)
    return [f"FORCED: {message}"]


def _modeled_time(
    timing: PlanTiming, erases: tuple[Sector, ...], mass_erase: bool, n_bytes: int
) -> float:
    erase_ms = timing.mass_erase_ms if mass_erase else sum(timing.erase_ms(s.size) for s in erases)
    return (erase_ms + timing.program_ms(n_bytes) + timing.bus_ms(n_bytes)) / 1000.0


def make_plan(
    image: Image,
    memory: MemoryMap,
    *,
    transfer_size: int,
    force: bool = False,
    mass_erase: bool = False,
    timing: PlanTiming | None = None,
) -> Plan:
    """Plan the erases and writes that put ``image`` into ``memory`` (rules: module docstring).

    Raises :class:`PlanError` (carrying the address) when the image does not fit and ``force``
    is false, when the image is empty, or when ``transfer_size`` is not positive.
    """
    if transfer_size <= 0:
        raise PlanError(f"transfer size must be a positive number of bytes, not {transfer_size}")
    if not image:
        raise PlanError("the image holds no data: nothing to write")
    memory = apply_quirks(memory)
    warnings: list[str] = []
    for problem in placement_problems(image, memory):
        if not force:
            raise PlanError(
                problem.message,
                address=problem.address,
                hint="nothing was written; use --force only if you are sure of the address",
            )
        warnings.append(f"FORCED: {problem.message}{WRITING_ANYWAY}")
    if mass_erase:
        warnings += check_mass_erase(memory, force=force)
        erases: tuple[Sector, ...] = ()
        bytes_to_erase = sum(s.size for s in memory.sectors if s.erasable or force)
    else:
        # Non-writable sectors only get here when forced; erase them so the writes can land.
        erases = tuple(s for s in touched_sectors(image, memory) if s.erasable or not s.writable)
        bytes_to_erase = sum(s.size for s in erases)
    writes = _split_writes(image, memory)
    n_bytes = sum(len(w) for w in writes)
    modeled = _modeled_time(timing, erases, mass_erase, n_bytes) if timing is not None else None
    return Plan(
        memory_name=memory.name,
        transfer_size=transfer_size,
        erases=erases,
        mass_erase=mass_erase,
        writes=writes,
        bytes_to_erase=bytes_to_erase,
        modeled_time_s=modeled,
        warnings=tuple(warnings),
    )


def final_contents(sector: Sector, image: Image) -> bytes:
    """What a full flash leaves in ``sector``: the image's bytes, erased 0xFF everywhere else."""
    return image.read(sector.address, sector.size, fill=0xFF)


def without_ranges(
    segments: Iterable[Segment], ranges: Sequence[tuple[int, int]]
) -> tuple[Segment, ...]:
    """``segments`` with the bytes in the sorted, disjoint [start, end) ``ranges`` cut out."""
    out: list[Segment] = []
    for segment in segments:
        cursor = segment.address
        for start, end in ranges:
            if end <= cursor or start >= segment.end:
                continue
            if start > cursor:
                out.append(
                    Segment(
                        cursor, segment.data[cursor - segment.address : start - segment.address]
                    )
                )
            cursor = max(cursor, end)
        if cursor < segment.end:
            out.append(Segment(cursor, segment.data[cursor - segment.address :]))
    return tuple(out)


def apply_delta(
    plan: Plan, checks: Sequence[SectorCheck], *, timing: PlanTiming | None = None
) -> Plan:
    """``plan`` without the erases of, and the writes into, the sectors ``checks`` skip.

    Every erased sector of ``plan`` must have a verdict; writes outside erased sectors (memories
    written without an erase, forced unmapped bytes) stay. A mass-erase plan is returned as is:
    after a mass erase every sector must be written again. The modeled time (with ``timing``;
    else None) includes reading back the compared bytes.
    """
    if plan.mass_erase:
        return plan
    verdicts = {c.address: c for c in checks}
    missing = [s.address for s in plan.erases if s.address not in verdicts]
    if missing:
        raise ValueError(f"no delta verdict for sector 0x{missing[0]:08x}")
    skipped = sorted((c.address, c.end) for c in checks if c.skip)
    erases = tuple(s for s in plan.erases if not verdicts[s.address].skip)
    writes = without_ranges(plan.writes, skipped)
    checks = tuple(sorted(checks, key=lambda c: c.address))
    modeled = None
    if timing is not None:
        n_bytes = sum(len(w) for w in writes)
        compared = sum(c.size for c in checks if c.compared)
        modeled = _modeled_time(timing, erases, False, n_bytes) + timing.bus_ms(compared) / 1000
    return replace(
        plan,
        erases=erases,
        writes=writes,
        bytes_to_erase=sum(s.size for s in erases),
        checks=checks,
        modeled_time_s=modeled,
        image_writes=plan.image_writes or plan.writes,
    )
