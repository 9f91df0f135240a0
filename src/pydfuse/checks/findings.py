"""Values the checks return: findings, per-target results and the whole report.

Layer: checks. May import ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec`` and
``pydfuse.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydfuse.formats.image import Image, Segment

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of a check. ``error`` means writing the image would leave the board broken or
    be refused; ``warning`` means it probably is not what you meant; ``info`` is worth knowing.
    ``code`` is stable (``vector.stack``, ``placement.read-only`` ...) for scripts."""

    severity: Severity
    code: str
    message: str
    address: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "address": self.address,
        }


@dataclass(frozen=True, slots=True)
class TargetImage:
    """One image to check and the alternate setting (memory) it is meant for.

    ``elements`` are the DfuSe elements as stored in the file, in file order (empty when
    unknown); they only serve the element-order check (§4.9). ``target_name`` is the name a
    DfuSe file gives the target (None for a plain image), compared with the alternate's memory
    name. ``left_out`` are ``[start, end)`` spans of read-only sectors already removed from
    ``image`` because the device holds exactly those bytes (a full backup flashed back).
    """

    alt: int
    name: str
    image: Image
    elements: tuple[Segment, ...] = ()
    target_name: str | None = None
    left_out: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class TargetReport:
    """The findings for one target; ``memory`` is the label of its alternate's memory."""

    alt: int
    name: str
    start: int
    end: int
    size: int
    memory: str | None
    application: bool
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alt": self.alt,
            "name": self.name,
            "start": self.start,
            "end": self.end,
            "size": self.size,
            "memory": self.memory,
            "application": self.application,
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Findings per target; ``ok`` is true when no finding is an error."""

    targets: tuple[TargetReport, ...]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.targets)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for t in self.targets for f in t.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "targets": [t.to_dict() for t in self.targets],
        }
