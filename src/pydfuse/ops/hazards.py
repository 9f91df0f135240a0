"""The protection rules of ``flash`` as one list that ``flash``, ``check`` on a device and
``check`` against a board profile all run, so the three refuse the same files with the same
codes (layer: ops; imports ``pydfuse.optionbytes``, ``pydfuse.checks``, ``pydfuse.formats``,
``pydfuse.layout``, ``pydfuse.errors`` and the sibling ``protection``, ``session`` and
``records``).

Each rule looks at one target (its alternate, memory, image and the spans its plan erases or
programs) and either returns warnings or raises :class:`PlanError` whose ``code`` is the
finding code ``dfuse check`` reports: ``protection.write`` (write-protected sectors),
``protection.option-bytes`` (option bytes a file must not write), ``protection.otp``
(one-time-programmable bytes: refused without ``force``, and never where no write can succeed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from pydfuse.checks import Finding
from pydfuse.errors import PlanError, ReadProtectedError
from pydfuse.formats import Image
from pydfuse.layout import MemoryMap
from pydfuse.ops.protection import (
    OPTION_CODE,
    READ_CODE,
    WRITE_CODE,
    OptionBlock,
    alternate_named,
    block_from,
    check_option_targets,
    flash_alternate,
    load_block,
    refuse_write_protected,
    whole_block,
)
from pydfuse.ops.records import AltInfo, TargetPlan
from pydfuse.ops.session import Session
from pydfuse.optionbytes.otp import is_otp, otp_write
from pydfuse.plan import Plan, make_plan

OTP_CODE = "protection.otp"


@dataclass(frozen=True, slots=True)
class HazardTarget:
    """One target as the protection rules see it. ``spans``: [start, end) of what its plan
    erases or programs; ``current``: what an OTP memory holds now (None: not read, a new chip
    whose every OTP byte is 0xFF)."""

    info: AltInfo
    memory: MemoryMap
    image: Image
    spans: tuple[tuple[int, int], ...]
    current: bytes | None = None


def touched_spans(
    plan: Plan | None, image: Image, memory: MemoryMap
) -> tuple[tuple[int, int], ...]:
    """[start, end) of everything ``plan`` erases or programs (a mass erase: the whole memory);
    without a plan (its checks failed), the image's own extent."""
    if plan is None:
        return tuple((seg.address, seg.end) for seg in image)
    if plan.mass_erase:
        return ((memory.start, memory.end),)
    spans = [(s.address, s.end) for s in plan.erases]
    return tuple(spans + [(w.address, w.address + len(w.data)) for w in plan.writes])


Rule = Callable[[OptionBlock | None, int | None, HazardTarget, bool], list[str]]


def _write_rule(
    block: OptionBlock | None, flash_alt: int | None, t: HazardTarget, force: bool
) -> list[str]:
    """Write-protected units are refused whatever ``force`` (the ROM ignores those writes)."""
    refuse_write_protected(block, flash_alt, [(t.info, t.spans)])
    return []


def _option_rule(
    block: OptionBlock | None, flash_alt: int | None, t: HazardTarget, force: bool
) -> list[str]:
    return check_option_targets(block, [(t.info, t.image)], force=force)


def _otp_rule(
    block: OptionBlock | None, flash_alt: int | None, t: HazardTarget, force: bool
) -> list[str]:
    """Writing OTP bytes (and above all its lock bytes) is for ever: refused unless ``force``;
    never where the chip cannot take the bytes (bits back to 1, a locked block)."""
    if not is_otp(t.memory):
        return []
    write = otp_write(t.memory, t.image, t.current)
    if write.impossible:
        more = f" (and {len(write.impossible) - 3} more)" if len(write.impossible) > 3 else ""
        raise PlanError(
            f"{write.memory} cannot take these bytes: {'; '.join(write.impossible[:3])}{more}",
            hint="one-time-programmable bytes can never be erased; `dfuse upload` shows what "
            "the chip holds",
            code=OTP_CODE,
        )
    if not write.permanent:
        return []
    if not force:
        raise PlanError(
            f"refusing to write one-time-programmable memory: {write.describe()}",
            hint="if these bytes are to be set for good, add --force (Python: force=True)",
            code=OTP_CODE,
        )
    return [f"PERMANENT (--force): {write.describe()}"]


RULES: tuple[tuple[str, Rule], ...] = (
    (WRITE_CODE, _write_rule),
    (OPTION_CODE, _option_rule),
    (OTP_CODE, _otp_rule),
)


def enforce_hazards(
    block: OptionBlock | None,
    flash_alt: int | None,
    targets: Sequence[HazardTarget],
    *,
    force: bool,
) -> list[str]:
    """``flash``'s protection rules: raises the first refusal (PlanError with its ``code``,
    nothing written), else returns the warnings."""
    warnings: list[str] = []
    for _, rule in RULES:
        for t in targets:
            warnings += rule(block, flash_alt, t, force)
    return warnings


def hazard_findings(
    block: OptionBlock | None, flash_alt: int | None, targets: Sequence[HazardTarget]
) -> list[tuple[int, Finding]]:
    """Every refusal and warning of :func:`enforce_hazards` without ``force``, as (alt,
    finding) for ``dfuse check``."""
    out: list[tuple[int, Finding]] = []
    for t in targets:
        for code, rule in RULES:
            try:
                notes = rule(block, flash_alt, t, False)
            except PlanError as error:
                text = f"{error}; {error.hint}" if error.hint else str(error)
                out.append((t.info.alt, Finding("error", error.code or code, text)))
            else:
                out += [(t.info.alt, Finding("warning", code, n)) for n in notes]
    return out


def read_otp(session: Session, t: HazardTarget) -> HazardTarget:
    """``t`` with what its OTP memory holds now (read from the device); others as they are."""
    if not is_otp(t.memory) or not t.image:
        return t
    session.select(t.info.alt)
    start = t.memory.start
    current = session.dfuse.read(start, t.memory.end - start, phase="compare")
    return replace(t, current=current)


def device_findings(session: Session, targets: Sequence[HazardTarget]) -> list[tuple[int, Finding]]:
    """What ``flash`` would refuse for protection on the session's device, as (alt, finding):
    read protection, then :func:`hazard_findings` against the option bytes and OTP it holds."""
    if not targets:
        return []
    try:
        block = load_block(session)
    except ReadProtectedError as error:
        found = Finding("error", READ_CODE, f"{error}; {error.hint}")
        return [(targets[0].info.alt, found)]
    flash_info = flash_alternate(session)
    flash_alt = flash_info.alt if flash_info is not None else None
    return hazard_findings(block, flash_alt, [read_otp(session, t) for t in targets])


def profile_findings(
    memories: Mapping[int, MemoryMap],
    product: str | None,
    option_bytes: bytes | None,
    targets: Sequence[tuple[int, Image, Plan | None]],
) -> list[tuple[int, Finding]]:
    """:func:`hazard_findings` for a board known only from its profile (``dfuse check
    --profile``, ``--sim``): its memories by alternate, USB product string and factory option
    bytes (what a new chip holds; its OTP all 0xFF), and each (alternate, image, plan) target."""
    alternates = [AltInfo(alt, m.label, f"@{m.name}", m) for alt, m in sorted(memories.items())]
    block = block_from(alternates, product, option_bytes) if option_bytes is not None else None
    flash_info = alternate_named(alternates, "internal flash")
    by_alt = {a.alt: a for a in alternates}
    checked = [
        HazardTarget(by_alt[alt], memories[alt], image, touched_spans(plan, image, memories[alt]))
        for alt, image, plan in targets
        if alt in memories
    ]
    return hazard_findings(block, flash_info.alt if flash_info else None, checked)


def check_hazards(
    session: Session, block: OptionBlock | None, plans: Sequence[TargetPlan], *, force: bool
) -> tuple[list[TargetPlan], list[str]]:
    """:func:`enforce_hazards` for ``flash`` on the session's device, whose option bytes are
    ``block`` (OTP memories read first). Returns the plans as they are to be written
    (:func:`as_written`) and the warnings."""
    flash_info = flash_alternate(session)
    checked = _read_targets(session, plans)
    flash_alt = flash_info.alt if flash_info is not None else None
    warnings = enforce_hazards(block, flash_alt, checked, force=force)
    kept, notes = as_written(block, plans, checked, force=force)
    return kept, warnings + notes


def planned_writes(
    session: Session, plans: Sequence[TargetPlan]
) -> tuple[list[TargetPlan], list[str]]:
    """:func:`as_written` on the session's device (reads its option bytes and OTP), for
    ``check``, which shows what ``flash`` will write. For plans the rules accept."""
    return as_written(load_block(session), plans, _read_targets(session, plans), force=False)


def _read_targets(session: Session, plans: Sequence[TargetPlan]) -> list[HazardTarget]:
    return [
        read_otp(
            session,
            HazardTarget(tp.info, tp.memory, tp.image, touched_spans(tp.plan, tp.image, tp.memory)),
        )
        for tp in plans
    ]


def as_written(
    block: OptionBlock | None,
    plans: Sequence[TargetPlan],
    checked: Sequence[HazardTarget],
    *,
    force: bool,
) -> tuple[list[TargetPlan], list[str]]:
    """``plans`` as ``flash`` writes them: the option block completed and whole
    (:func:`whole_option_blocks`), the OTP bytes the chip already holds left out
    (:func:`otp_changes_only`); and the notes that says so."""
    return otp_changes_only(whole_option_blocks(block, plans, force=force), checked)


def otp_changes_only(
    plans: Sequence[TargetPlan], checked: Sequence[HazardTarget]
) -> tuple[list[TargetPlan], list[str]]:
    """``plans`` without the OTP bytes the chip already holds (a backup of the chip flashed
    back writes nothing there: OTP is never erased, and a locked block takes no write at all),
    and a note for each OTP memory left with nothing to write."""
    current = {t.info.alt: t.current for t in checked if t.current is not None}
    out: list[TargetPlan] = []
    notes: list[str] = []
    for tp in plans:
        now = current.get(tp.info.alt)
        if now is None:
            out.append(tp)
            continue
        pieces = _changed_runs(tp.image, tp.memory.start, now)
        if not pieces:
            notes.append(
                f"{tp.memory.label} already holds every byte of the file: nothing written there"
            )
            out.append(replace(tp, plan=replace(tp.plan, writes=(), image_writes=())))
            continue
        image = Image.from_segments(pieces)
        if image != tp.image:
            plan = make_plan(image, tp.memory, transfer_size=tp.plan.transfer_size)
            tp = replace(tp, image=image, plan=plan)
        out.append(tp)
    return out, notes


def _changed_runs(image: Image, start: int, now: bytes) -> list[tuple[int, bytes]]:
    """(address, data) runs of ``image`` that differ from ``now`` (the memory from ``start``)."""
    pieces = []
    for seg in image:
        run: int | None = None
        for i, value in enumerate(seg.data):
            at = seg.address + i - start
            same = 0 <= at < len(now) and now[at] == value
            if not same and run is None:
                run = i
            elif same and run is not None:
                pieces.append((seg.address + run, seg.data[run:i]))
                run = None
        if run is not None:
            pieces.append((seg.address + run, seg.data[run:]))
    return pieces


def whole_option_blocks(
    block: OptionBlock | None, plans: Sequence[TargetPlan], *, force: bool
) -> list[TargetPlan]:
    """``plans`` with the option-byte target's block completed from ``block`` (what the chip
    holds: :func:`pydfuse.ops.protection.whole_block`) and planned again, so ``flash`` writes
    the option bytes whole, in one write from the block's start, and never erases them."""
    out = list(plans)
    if block is None:
        return out
    start, end = block.address, block.address + len(block.raw)
    for i, tp in enumerate(out):
        if tp.info.alt != block.alt.alt:
            continue
        whole, covered = whole_block(block, tp.image)
        if covered in (0, len(whole)):
            continue
        image = tp.image.without(start, end).merged_with(Image.from_segments([(start, whole)]))
        plan = make_plan(image, tp.memory, transfer_size=tp.plan.transfer_size, force=force)
        out[i] = replace(tp, image=image, plan=plan)
    return out
