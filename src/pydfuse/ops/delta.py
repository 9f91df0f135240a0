"""Delta flashing: read back what the plan would erase and leave out what is already there
(layer: ops).

Imports ``pydfuse.plan``, ``pydfuse.layout``, ``pydfuse.spec``, ``pydfuse.errors`` and the
sibling ops modules. Section numbers refer to dfuse-spec.md.

Before anything is erased, every sector a target's plan would erase is read back (UPLOAD, §2.4)
and compared with what a full flash would leave in it: the image's bytes, 0xFF elsewhere
(:func:`pydfuse.plan.final_contents`). A sector that already holds exactly that is neither
erased nor written; the read that found it equal is its verification. Reading is cheaper than
rewriting on every STM32 loader (a 2 KiB F1 page: ~1.7 ms of bus time against ~84 ms of erase
and programming), so this is the default; ``delta=False`` (``--full``) turns it off.

Never unsafe — a sector is written in full, and a warning says why, when it is write-protected
(only with ``--force``), not readable, refused by the device (read protection, §2.6), or when
the device cannot upload at all (bitCanUpload clear). A sector that misses its final bytes by
only a few (what a read glitch looks like) is read a second time; when the two reads disagree
it is written in full and a warning says the reads were unstable. The
vector-table rule of :mod:`pydfuse.ops.flash` still holds: when anything at all is written, the
sector holding the application's vector table is rewritten too, so it stays erased until the
very end and an update cut off mid-way leaves a board that boots into its bootloader (§5.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pydfuse.errors import ProtocolError, StallError
from pydfuse.layout import Sector
from pydfuse.ops.progress import Tracker
from pydfuse.ops.records import TargetPlan
from pydfuse.ops.session import Session
from pydfuse.plan import CHANGED, IDENTICAL, SectorCheck, apply_delta, final_contents
from pydfuse.spec import Attributes

VECTOR_TABLE = (
    "holds the vector table: rewritten, its first block last, so that an update cut off "
    "mid-way leaves the board in its bootloader"
)
UNSTABLE = "read back differently twice: not trusted, written in full"


def delta_plans(
    session: Session, plans: Sequence[TargetPlan], tracker: Tracker
) -> tuple[list[TargetPlan], list[str]]:
    """``plans`` with every sector that already holds its final bytes left out, and warnings
    for every sector that had to take the full path for a safety reason."""
    to_read = [tp for tp in plans if tp.plan.erases and not tp.plan.mass_erase]
    tracker.start("compare", sum(s.size for tp in to_read for s in tp.plan.erases))
    verdicts: dict[int, list[SectorCheck]] = {}
    warnings: list[str] = []
    for tp in to_read:
        session.select(tp.info.alt)
        verdicts[tp.info.alt], notes = _check_target(session, tp, tracker)
        warnings += notes
    out = _applied(plans, verdicts)
    if any(tp.plan.writes or tp.plan.mass_erase for tp in out) and _guard_vector_table(
        plans, verdicts
    ):
        out = _applied(plans, verdicts)
    return out, warnings


def _applied(
    plans: Sequence[TargetPlan], verdicts: dict[int, list[SectorCheck]]
) -> list[TargetPlan]:
    return [
        replace(tp, plan=apply_delta(tp.plan, verdicts[tp.info.alt]))
        if tp.info.alt in verdicts
        else tp
        for tp in plans
    ]


def _check_target(
    session: Session, tp: TargetPlan, tracker: Tracker
) -> tuple[list[SectorCheck], list[str]]:
    """A verdict for every sector ``tp`` would erase, reading back the sectors that can be."""
    name = f"alt {tp.info.alt} ({tp.info.name})"
    if not session.found.functional.attributes & Attributes.CAN_UPLOAD:
        reason = "the device cannot upload (bitCanUpload clear): written in full"
        return [_full(s, reason) for s in tp.plan.erases], [f"{name}: {reason}"]
    checks: list[SectorCheck] = []
    notes: list[str] = []
    readable: list[Sector] = []
    for sector in tp.plan.erases:
        if not sector.writable:
            checks.append(_full(sector, "write-protected (written only because of --force)"))
        elif not sector.readable:
            checks.append(_full(sector, "not readable: written in full"))
        else:
            readable.append(sector)
            continue
        notes.append(f"{name}: sector 0x{sector.address:08x} {checks[-1].reason}")
    for run in _runs(readable):
        checks += _check_run(session, tp, run, tracker, name, notes)
    return checks, notes


def _check_run(
    session: Session,
    tp: TargetPlan,
    run: list[Sector],
    tracker: Tracker,
    name: str,
    notes: list[str],
) -> list[SectorCheck]:
    start, end = run[0].address, run[-1].end
    tracker.address = start
    device = _read(session, start, end - start, tracker)
    if device is None:
        reason = "the device refused to read it back (read protection?): written in full"
        notes.append(f"{name}: 0x{start:08x}..0x{end - 1:08x} {reason.split(':')[0]}")
        return [_full(s, reason, compared=False) for s in run]
    checks = []
    for sector in run:
        wanted = final_contents(sector, tp.image)
        first = device[sector.address - start : sector.end - start]
        if first == wanted:
            checks.append(SectorCheck(sector.address, sector.size, True, IDENTICAL))
            continue
        if _few_differences(first, wanted):
            # What a read glitch looks like: read once more. Two reads that disagree (or a
            # second one that suddenly matches) mean the reads cannot be trusted there.
            second = _read(session, sector.address, sector.size, None)
            if second is None or second != first:
                checks.append(_full(sector, UNSTABLE))
                notes.append(f"{name}: sector 0x{sector.address:08x} {UNSTABLE}")
                continue
        checks.append(SectorCheck(sector.address, sector.size, False, CHANGED))
    return checks


def _few_differences(a: bytes, b: bytes) -> bool:
    """Whether equal-length ``a`` and ``b`` differ in at most 1/64 of their bytes (≥ 1).

    A fresh (erased) sector or a rebuilt one differs almost everywhere and is simply rewritten;
    only a near miss is worth a second read.
    """
    flags = (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")
    return len(a) - flags.count(0) <= max(1, len(a) // 64)


def _read(session: Session, address: int, length: int, tracker: Tracker | None) -> bytes | None:
    """``length`` bytes read back, or None when the device refuses (it is back in dfuIDLE)."""
    try:
        step = tracker.step if tracker is not None else None
        return session.dfuse.read(address, length, step, phase="compare")
    except (ProtocolError, StallError):  # refused (a DFU status, a stall, a short block)
        session.dfu.recover()
        return None


def _full(sector: Sector, reason: str, *, compared: bool = False) -> SectorCheck:
    return SectorCheck(sector.address, sector.size, False, reason, compared=compared)


def _runs(sectors: list[Sector]) -> list[list[Sector]]:
    """Address-contiguous runs of ``sectors`` (one Set Address and UPLOAD stream each)."""
    runs: list[list[Sector]] = []
    for sector in sectors:
        if runs and runs[-1][-1].end == sector.address:
            runs[-1].append(sector)
        else:
            runs.append([sector])
    return runs


def _guard_vector_table(
    plans: Sequence[TargetPlan], verdicts: dict[int, list[SectorCheck]]
) -> bool:
    """Turn a skip of the application's vector-table sector into a rewrite (module docstring);
    True if a verdict changed."""
    app = next((tp for tp in plans if tp.info.alt == 0), None)
    if app is None or 0 not in verdicts:
        return False
    table = app.image.start
    checks = verdicts[0]
    for i, check in enumerate(checks):
        if check.skip and check.address <= table < check.end:
            checks[i] = replace(check, skip=False, reason=VECTOR_TABLE)
            return True
    return False
