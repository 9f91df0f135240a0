"""``flash --dry-run``: what the real run would do besides its erase/write plans, and a dry run
on a device that runs its application — both without sending anything that changes the device
(layer: ops).

Imports ``pydfuse.checks``, ``pydfuse.layout``, ``pydfuse.plan``, ``pydfuse.errors`` and the
sibling ops modules.

The real run sends DFU_DETACH to a running application and continues in DFU mode (§1.8 step
1); a dry run does not: it says it would. The device's memory layouts are only reported in DFU
mode, so the plan is then made against the layouts a board profile knows (a ``--sim`` board,
``--profile``), or the dry run says that the file was not checked against the device.
"""

from __future__ import annotations

from pydfuse.checks import BoardFacts, RamRange, TargetImage, application_alt, preflight
from pydfuse.errors import FormatError
from pydfuse.host.discovery import FoundDevice
from pydfuse.layout import MemoryMap, parse_layout
from pydfuse.ops.firmware import Firmware
from pydfuse.ops.preflight import enforce
from pydfuse.ops.records import FlashResult
from pydfuse.plan import Plan, make_plan

NOT_CHECKED = (
    "the device runs its application, and its memory layout is reported only in DFU mode: the "
    "file was not checked against it; run `dfuse detach`, then `dfuse flash --dry-run` again "
    "for the full plan (or give --profile BOARD)"
)


def detach_step(found: FoundDevice) -> str:
    """The line saying a DFU_DETACH would be sent."""
    return (
        f"would send DFU_DETACH to {found.describe()} (it runs its application) and continue "
        "in DFU mode — not sent: this is a dry run"
    )


def leave_step(to: int | None) -> str:
    """The line saying where a leave would start the application."""
    where = f"at 0x{to:08x}" if to is not None else "at the device's default address"
    return f"would leave DFU mode and start the application {where} — not done: this is a dry run"


def _memories(facts: BoardFacts | None) -> dict[int, MemoryMap]:
    out: dict[int, MemoryMap] = {}
    for alt, layout in enumerate(facts.layouts if facts is not None else ()):
        try:
            out[alt] = parse_layout(layout)
        except FormatError:
            continue  # a plain DFU alternate: a name, no layout
    return out


def _alt_of(job_alt: int | str | None, image_start: int, memories: dict[int, MemoryMap]) -> int:
    """The alternate of a job by number, memory name, or (none) the memory holding its start."""
    if isinstance(job_alt, int):
        return job_alt
    if isinstance(job_alt, str):
        key = job_alt.strip().lower()
        for alt, memory in sorted(memories.items()):
            if memory.label.lower().startswith(key):
                return alt
        return -1
    return next((a for a, m in sorted(memories.items()) if m.contains(image_start)), 0)


def dry_run_on_application(
    found: FoundDevice,
    firmware: Firmware,
    facts: BoardFacts | None,
    *,
    sram: RamRange | tuple[RamRange, ...] | None,
    app_address: int | None,
    force: bool,
    leave: bool,
    leave_address: int | None,
) -> FlashResult:
    """The dry run of a flash on a device that runs its application: nothing is sent to it."""
    steps = [detach_step(found)]
    warnings = list(firmware.warnings)
    memories = _memories(facts)
    targets = [
        TargetImage(_alt_of(j.alt, j.image.start, memories), j.name or "", j.image, j.elements)
        for j in firmware.jobs
    ]
    entry = leave_address
    if entry is None and leave:
        app_alt = application_alt(memories) if memories else 0
        entry = next((t.image.start for t in targets if t.alt == app_alt), None)
    plans: list[Plan] = []
    if not memories or not targets:
        warnings.append(NOT_CHECKED)
    else:
        report = preflight(targets, memories, sram=sram, app_address=app_address, entry=entry)
        warnings += enforce(report, force=force)
        warnings.append(
            f"planned against the layouts of the {facts.name if facts else 'board'} profile: "
            "the device reports its own only in DFU mode"
        )
        plans = [
            make_plan(t.image, memories[t.alt], transfer_size=found.functional.transfer_size)
            for t in targets
            if t.alt in memories
        ]
    if leave:
        steps.append(leave_step(entry))
    return FlashResult(
        device=found.describe(),
        targets=(),
        mass_erased=False,
        verified=None,
        left=False,
        dry_run=True,
        elapsed_s=0.0,
        warnings=tuple(warnings),
        plans=tuple(plans),
        steps=tuple(steps),
    )
