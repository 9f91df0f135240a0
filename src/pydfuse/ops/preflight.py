"""Pre-flight checks of the images against the device's own layout before anything is written
(layer: ops).

Imports ``pydfuse.checks``, ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.errors`` and the
sibling ``records``.
"""

from __future__ import annotations

from pydfuse.checks import CheckReport, TargetImage, preflight
from pydfuse.errors import PlanError
from pydfuse.formats import Image
from pydfuse.layout import MemoryMap
from pydfuse.ops.records import AltInfo


def preflight_report(
    targets: list[tuple[AltInfo, MemoryMap, Image]],
    alternates: tuple[AltInfo, ...],
    *,
    sram: tuple[int, int] | None = None,
    app_address: int | None = None,
) -> CheckReport:
    """Every finding of the checks for ``targets`` (alternate, its memory, image) on a device
    whose alternates are ``alternates``; raises nothing (:func:`run_preflight` enforces)."""
    memories = {a.alt: a.memory_map for a in alternates if a.memory_map is not None}
    for info, memory, _ in targets:
        memories[info.alt] = memory
    return preflight(
        [TargetImage(info.alt, info.name, image) for info, _, image in targets],
        memories,
        sram=sram,
        app_address=app_address,
    )


def run_preflight(
    targets: list[tuple[AltInfo, MemoryMap, Image]],
    alternates: tuple[AltInfo, ...],
    *,
    force: bool,
    sram: tuple[int, int] | None = None,
    app_address: int | None = None,
) -> list[str]:
    """Warnings to report. An error finding raises :class:`PlanError` (nothing has been
    written yet) unless ``force``, which turns it into a loud "FORCED:" warning."""
    report = preflight_report(targets, alternates, sram=sram, app_address=app_address)
    warnings: list[str] = []
    for finding in report.findings:
        if finding.severity == "error":
            if not force:
                raise PlanError(
                    finding.message,
                    address=finding.address,
                    hint="nothing was written; fix the image, or use --force if you are sure",
                )
            warnings.append(f"FORCED: {finding.message}")
        elif finding.severity == "warning":
            warnings.append(finding.message)
    return warnings
