"""Pre-flight checks of a firmware's targets against the device's own layout before anything is
written (layer: ops).

Imports ``pydfuse.checks``, ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.errors`` and the
sibling ops modules. ``flash`` and ``check`` (with a device) share :func:`device_report`, so they
resolve the same alternates, leave out the same read-only bytes and say the same things.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydfuse.checks import CheckReport, RamRange, TargetImage, application_alt, preflight
from pydfuse.errors import DeviceNotFoundError, PlanError
from pydfuse.formats import Image, Segment
from pydfuse.layout import MemoryMap
from pydfuse.ops.firmware import Firmware
from pydfuse.ops.protected import drop_identical_protected
from pydfuse.ops.records import AltInfo, DeviceSelector
from pydfuse.ops.session import Session, alternate_holding


@dataclass(frozen=True, slots=True)
class Resolved:
    """One target on the device: its alternate, memory, the image to write (read-only bytes the
    device already holds left out), the file's name for it, and what was left out."""

    info: AltInfo
    memory: MemoryMap
    image: Image
    target_name: str | None = None
    left_out: tuple[tuple[int, int], ...] = ()
    elements: tuple[Segment, ...] = ()


def resolve_jobs(
    session: Session, firmware: Firmware, selector: DeviceSelector
) -> tuple[list[tuple[AltInfo, Image, str | None, tuple[Segment, ...]]], list[str]]:
    """(alternate, image, target name, elements) per alternate; with ``selector.alt`` set,
    only that alternate's jobs. Several targets for one alternate become one image, erased
    once (§4.9)."""
    out: list[tuple[AltInfo, Image, str | None, tuple[Segment, ...]]] = []
    warnings: list[str] = []
    only = session.alternate(selector.alt) if selector.alt is not None else None
    for job in firmware.jobs:
        if job.alt is None:
            info = only or _holding(session, job.image)
        else:
            if only is not None and isinstance(job.alt, int) and job.alt != only.alt:
                warnings.append(f"skipped the target for alternate {job.alt} ({job.name})")
                continue
            info = _alternate_of_target(session, job.alt)
            if only is not None and info.alt != only.alt:
                warnings.append(f"skipped the target for alternate {info.alt} ({info.name})")
                continue
        out.append((info, job.image, job.name, job.elements))
    if not out:
        raise PlanError("no target of the file is for the selected alternate")
    merged: dict[int, tuple[AltInfo, Image, str | None, tuple[Segment, ...]]] = {}
    for info, image, name, elements in out:
        prev = merged.get(info.alt)
        if prev is None:
            merged[info.alt] = (info, image, name, elements)
        else:
            joined = prev[1].merged_with(image)
            merged[info.alt] = (info, joined, prev[2] or name, prev[3] + elements)
    return [merged[k] for k in sorted(merged)], warnings


def _holding(session: Session, image: Image) -> AltInfo:
    """The alternate whose memory holds the image's first byte (a single image without ``-a``
    goes there, as ``check`` assumes: a NOR image at 0x64000000 to the NOR flash); else the
    device's first alternate."""
    found = alternate_holding(session.all_alternates(), image.start) if image else None
    return found if found is not None else session.alternate(None)


def unreadable_layouts(session: Session) -> list[str]:
    """One sentence per alternate whose layout string could not be read (issue #9: a memory
    never becomes unusable without a word)."""
    return [
        f"alternate {a.alt} ({a.name!r}) cannot be flashed: its memory layout string "
        f"{a.layout!r} could not be read ({a.layout_error})"
        for a in session.all_alternates()
        if a.layout_error is not None
    ]


def _alternate_of_target(session: Session, alt: int | str) -> AltInfo:
    """The device's alternate for a file target; a file made for another board is a placement
    problem (exit 3, like ``check``), not a missing device."""
    try:
        return session.alternate(alt)
    except DeviceNotFoundError as error:
        raise PlanError(
            f"the file has a target for alternate {alt}, which this device lacks: {error}",
            hint="was the file made for another board? `dfuse info FILE` lists its targets",
        ) from None


def entry_point(resolved: list[Resolved], *, leave: bool, leave_address: int | None) -> int | None:
    """Where a leave after the write jumps: the given address, else the start of the internal
    flash image (its first words are the vector table); None without a leave."""
    if leave_address is not None:
        return leave_address
    if not leave:
        return None
    memories = {r.info.alt: r.memory for r in resolved}
    app_alt = application_alt(memories)
    return next((r.image.start for r in resolved if r.info.alt == app_alt and r.image), None)


def device_report(
    session: Session,
    firmware: Firmware,
    selector: DeviceSelector,
    *,
    sram: RamRange | tuple[RamRange, ...] | None,
    app_address: int | None,
    leave: bool = False,
    leave_address: int | None = None,
) -> tuple[list[Resolved], CheckReport, list[str]]:
    """Resolve every target on the session's device, leave out the read-only bytes it already
    holds, and check the rest against its layout. Returns the targets, the report and the
    notes (targets skipped with ``selector.alt``, alternates whose layout is unreadable)."""
    jobs, skipped = resolve_jobs(session, firmware, selector)
    skipped = unreadable_layouts(session) + skipped
    resolved: list[Resolved] = []
    for info, image, name, elements in jobs:
        memory = session.memory_map(info)
        kept, spans = drop_identical_protected(session, info, memory, image)
        resolved.append(Resolved(info, memory, kept, name, tuple(spans), elements))
    memories = {a.alt: a.memory_map for a in session.all_alternates() if a.memory_map is not None}
    for r in resolved:
        memories[r.info.alt] = r.memory
    report = preflight(
        [
            TargetImage(r.info.alt, r.info.name, r.image, (), r.target_name, r.left_out)
            for r in resolved
        ],
        memories,
        sram=sram,
        app_address=app_address,
        entry=entry_point(resolved, leave=leave, leave_address=leave_address),
        device_compared=True,
    )
    return resolved, report, skipped


def enforce(report: CheckReport, *, force: bool) -> list[str]:
    """Warnings to report. An error finding raises :class:`PlanError` (nothing has been
    written yet) unless ``force``, which turns it into a loud "FORCED:" warning."""
    warnings: list[str] = []
    for finding in report.findings:
        if finding.severity == "error":
            if not force:
                raise PlanError(
                    finding.message,
                    address=finding.address,
                    hint="nothing was written; fix the image, or use --force if you are sure",
                    code=finding.code,
                )
            warnings.append(f"FORCED: {finding.message}")
        elif finding.severity == "warning":
            warnings.append(finding.message)
    return warnings
