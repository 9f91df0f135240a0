"""``check_firmware``: every pre-flight finding for a firmware on one connected device, without
writing anything (layer: ops).

The same resolution and checks as :func:`pydfuse.ops.flash` (each target to its alternate,
read-only bytes the device already holds left out, :func:`pydfuse.ops.preflight.
device_report`), but the whole report is returned instead of the first error being raised, so
``dfuse check`` on a device and the GUI's device panel show every finding, and say exactly what
``flash`` will do. Imports ``pydfuse.checks``, ``pydfuse.plan``, ``pydfuse.layout``,
``pydfuse.formats`` and the sibling ops modules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pydfuse.checks import CheckReport, Finding, RamRange
from pydfuse.formats import Image
from pydfuse.layout import MemoryMap
from pydfuse.ops.env import Environment
from pydfuse.ops.firmware import FirmwareSource, load_firmware, suffix_problem
from pydfuse.ops.hazards import HazardTarget, device_findings, planned_writes, touched_spans
from pydfuse.ops.preflight import device_report
from pydfuse.ops.records import AltInfo, DeviceSelector, TargetPlan
from pydfuse.ops.session import Session, open_session
from pydfuse.plan import Plan, make_plan


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    """One target as flash would write it: the device's alternate, its memory and the image
    (read-only bytes the device already holds left out); ``plan`` when its checks passed."""

    info: AltInfo
    memory: MemoryMap
    image: Image
    plan: Plan | None


@dataclass(frozen=True, slots=True)
class DeviceCheck:
    """Outcome of :func:`check_firmware`. ``ok``: flash would accept the firmware as it is."""

    device: str
    report: CheckReport
    targets: tuple[CheckedTarget, ...]
    alternates: tuple[AltInfo, ...]  # every alternate of the device, with its memory map
    warnings: tuple[str, ...] = ()  # notes from resolving the targets, suffix mismatch

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def plans(self) -> tuple[Plan | None, ...]:
        return tuple(t.plan for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        data = {"device": self.device, **self.report.to_dict(), "notes": list(self.warnings)}
        for entry, target in zip(data["targets"], self.targets, strict=True):
            entry["plan"] = target.plan.to_dict() if target.plan is not None else None
        return data


def check_firmware(
    env: Environment,
    selector: DeviceSelector,
    firmware: FirmwareSource,
    *,
    address: int | None = None,
    sram: RamRange | tuple[RamRange, ...] | None = None,
    app_address: int | None = None,
    leave: bool = False,
    leave_address: int | None = None,
) -> DeviceCheck:
    """Check ``firmware`` against the selected DfuSe device's own memory layouts, as
    :func:`pydfuse.ops.flash` would before writing (``leave``/``leave_address``: and the image
    a leave would start). ``sram`` and ``app_address`` default to the environment's board
    facts, else they are inferred (:mod:`pydfuse.checks.board`).

    Nothing is written. The device must be in DFU mode (a running application is not
    detached: that would change the device); its status is cleared to dfuIDLE so that the
    read-only sectors can be compared. Raises what ``flash`` raises before checking
    (FormatError, DeviceNotFoundError, PlanError for a target the device lacks).
    """
    sram, app_address = env.board_facts(sram, app_address)
    loaded = load_firmware(firmware, address=address)
    with open_session(env, selector, auto_detach=False) as session:
        device = session.found.describe()
        notes: list[str] = list(loaded.warnings)
        problem = suffix_problem(loaded.suffix, [(session.found.vid, session.found.pid)])
        if problem is not None:
            notes.append(problem)
        alternates = session.all_alternates()
        if session.found.dfuse and loaded.plain is not None:
            raise loaded.addresses_error()
        if not session.found.dfuse:
            notes.append("a plain DFU device has no memory layout: there is nothing to check")
            return DeviceCheck(device, CheckReport(()), (), alternates, tuple(notes))
        resolved, report, more = device_report(
            session,
            loaded,
            selector,
            sram=sram,
            app_address=app_address,
            leave=leave,
            leave_address=leave_address,
        )
        targets = []
        for r, result in zip(resolved, report.targets, strict=True):
            plan = None
            if result.ok and r.image:
                plan = make_plan(r.image, r.memory, transfer_size=session.dfu.transfer_size)
            targets.append(CheckedTarget(r.info, r.memory, r.image, plan))
        report = with_findings(report, device_findings(session, hazard_targets(targets)))
        if report.ok:  # the plans flash carries out: option block whole, OTP changes only
            targets, written = _as_written(session, targets)
            more += written
        return DeviceCheck(device, report, tuple(targets), alternates, tuple(notes + more))


def hazard_targets(targets: list[CheckedTarget]) -> list[HazardTarget]:
    """Each target with the [start, end) spans flash would erase or program (#12)."""
    return [
        HazardTarget(t.info, t.memory, t.image, touched_spans(t.plan, t.image, t.memory))
        for t in targets
    ]


def _as_written(
    session: Session, targets: list[CheckedTarget]
) -> tuple[list[CheckedTarget], list[str]]:
    """``targets`` with the plans ``flash`` writes (:func:`pydfuse.ops.hazards.planned_writes`)
    and the notes that say so."""
    planned = [TargetPlan(t.info, t.memory, t.image, t.plan) for t in targets if t.plan]
    if not planned:
        return targets, []
    written, notes = planned_writes(session, planned)
    by_alt = {tp.info.alt: tp for tp in written}
    out = [
        replace(t, image=by_alt[t.info.alt].image, plan=by_alt[t.info.alt].plan)
        if t.info.alt in by_alt
        else t
        for t in targets
    ]
    return out, notes


def with_findings(report: CheckReport, found: list[tuple[int, Finding]]) -> CheckReport:
    """``report`` with the protection findings added to their targets' findings."""
    if not found:
        return report
    targets = tuple(
        replace(t, findings=t.findings + tuple(f for alt, f in found if alt == t.alt))
        for t in report.targets
    )
    return CheckReport(targets)
