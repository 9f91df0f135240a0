"""Values the public verbs take and return: selectors, device info, progress, results
(layer: ops).

Imports ``pydfuse.host``, ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.spec``. Every record
is a frozen slotted dataclass; results have ``to_dict()`` for ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydfuse.formats import Image
from pydfuse.host.discovery import FoundDevice
from pydfuse.layout import MemoryMap
from pydfuse.plan import Plan
from pydfuse.spec import Attributes

Phase = Literal["compare", "erase", "program", "verify", "upload"]


@dataclass(frozen=True, slots=True)
class DeviceSelector:
    """Which device (and alternate) to use; every given field must match.

    ``alt`` is a number or the name / unique prefix of an alternate's memory name
    ("Internal Flash", "spi"). ``path`` is the bus path "bus-port.port".

    ``vid``/``pid`` match a device in either mode. With ``dfu_ids`` (dfu-util's ``-d
    [RT_VID:RT_PID],DFU_VID:DFU_PID``) they match run-time devices only (none at all when
    ``runtime`` is False), and ``dfu_vid``/``dfu_pid`` match devices in DFU mode.
    ``wait_s``: wait that long (None: not at all, ``inf``: for ever) for a matching device to
    appear on the bus (dfu-util ``-w``).
    """

    vid: int | None = None
    pid: int | None = None
    serial: str | None = None
    path: str | None = None
    alt: int | str | None = None
    dfu_ids: bool = False
    dfu_vid: int | None = None
    dfu_pid: int | None = None
    runtime: bool = True
    wait_s: float | None = None

    def admits(self, mode: str, vid: int, pid: int) -> bool:
        """Whether a device in ``mode`` ("dfu"/"runtime") with these IDs fits the IDs given."""
        if self.dfu_ids and mode == "dfu":
            return _fits(self.dfu_vid, vid) and _fits(self.dfu_pid, pid)
        if self.dfu_ids and not self.runtime:
            return False
        return _fits(self.vid, vid) and _fits(self.pid, pid)

    def ids_text(self) -> str:
        """The IDs asked for, dfu-util style: ``0483:df11``, ``,0483:df11``, ``any``."""

        def pair(v: int | None, p: int | None) -> str:
            return f"{'*' if v is None else f'{v:04x}'}:{'*' if p is None else f'{p:04x}'}"

        if not self.dfu_ids and self.vid is None and self.pid is None:
            return "any"
        runtime = pair(self.vid, self.pid) if self.runtime else ""
        return f"{runtime},{pair(self.dfu_vid, self.dfu_pid)}" if self.dfu_ids else runtime

    def matches(self, info: DeviceInfo) -> bool:
        """Whether a listed device fits every given field (the alternate is not used)."""
        return (
            self.admits(info.mode, info.vid, info.pid)
            and (self.serial is None or info.serial == self.serial)
            and (self.path is None or info.path == self.path)
        )


def _fits(wanted: int | None, value: int) -> bool:
    return wanted is None or wanted == value


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Progress of one phase: ``done_bytes`` of ``total_bytes``, last block at ``address``."""

    phase: Phase
    done_bytes: int
    total_bytes: int
    address: int | None = None


@dataclass(frozen=True, slots=True)
class AltInfo:
    """One alternate setting: its string, memory name and parsed layout.

    ``memory_map`` is None for a string that is not a DfuSe layout (plain DFU, run-time) or that
    could not be read; ``layout_error`` then says why it could not be read (None otherwise).
    """

    alt: int
    name: str
    layout: str
    memory_map: MemoryMap | None
    layout_error: str | None = None

    @property
    def layout_notes(self) -> tuple[str, ...]:
        """What the parser left out or read unusually (see :mod:`pydfuse.layout.parse`)."""
        return self.memory_map.notes if self.memory_map is not None else ()

    def to_dict(self) -> dict[str, Any]:
        regions = []
        if self.memory_map is not None:
            for region in self.memory_map.regions:
                regions.append(
                    {
                        "address": region.address,
                        "size": region.size,
                        "groups": [
                            {"count": g.count, "size": g.size, "type": g.to_string()[-1]}
                            for g in region.groups()
                        ],
                    }
                )
        return {
            "alt": self.alt,
            "name": self.name,
            "layout": self.layout,
            "regions": regions,
            "layout_error": self.layout_error,
            "layout_notes": list(self.layout_notes),
        }


UNPROTECT_HINT = (
    "`dfuse unprotect --force` removes read protection by MASS-ERASING the flash (the firmware "
    "on it is lost); nothing else can read this chip over DFU"
)


@dataclass(frozen=True, slots=True)
class ProtectionState:
    """What a DFU-mode ROM says about its read protection (``dfuse list``)."""

    level: int | None  # 0/1/2 when known; 1 when reads are refused; None when unknown
    readable: bool | None  # the option bytes could be read; None: not probed
    family: str | None = None
    detail: str | None = None  # why the state is unknown

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "readable": self.readable,
            "family": self.family,
            "detail": self.detail,
        }

    def describe(self) -> str:
        """One line for people, with the way out when the chip is read-protected."""
        if self.readable is False:
            return "read-protected (RDP level 1): " + UNPROTECT_HINT
        if self.level == 0:
            return "no read protection (RDP level 0)"
        if self.level is not None:
            return f"RDP level {self.level}"
        if self.readable:
            return "not read-protected (its option bytes can be read; family not recognised)"
        return f"read protection unknown ({self.detail})" if self.detail else "unknown"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What ``dfuse list`` shows about one DFU interface."""

    vid: int
    pid: int
    serial: str | None
    path: str
    mode: str  # "dfu" or "runtime"
    dfu_version: str  # "1.1a" for DfuSe
    dfuse: bool
    transfer_size: int
    attributes: Attributes
    detach_timeout_ms: int
    manufacturer: str | None
    product: str | None
    bcd_device: int
    alternates: tuple[AltInfo, ...]
    protection: ProtectionState | None = None  # probed by ``list_devices(probe=True)``
    problem: str | None = None  # the OS would not let it be opened (permissions, driver)

    @property
    def id_text(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"

    @classmethod
    def from_found(cls, found: FoundDevice, alternates: tuple[AltInfo, ...]) -> DeviceInfo:
        fd = found.functional
        return cls(
            vid=found.vid,
            pid=found.pid,
            serial=found.serial,
            path=found.path,
            mode=found.mode,
            dfu_version=fd.version_text,
            dfuse=fd.is_dfuse,
            transfer_size=fd.transfer_size,
            attributes=fd.attributes,
            detach_timeout_ms=fd.detach_timeout_ms,
            manufacturer=found.manufacturer,
            product=found.product,
            bcd_device=found.bcd_device,
            alternates=alternates,
            problem=found.problem,
        )

    def attribute_names(self) -> list[str]:
        return [a.name.lower() for a in Attributes if a in self.attributes and a.name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id_text,
            "vid": self.vid,
            "pid": self.pid,
            "serial": self.serial,
            "path": self.path,
            "mode": self.mode,
            "dfu_version": self.dfu_version,
            "dfuse": self.dfuse,
            "transfer_size": self.transfer_size,
            "attributes": self.attribute_names(),
            "detach_timeout_ms": self.detach_timeout_ms,
            "manufacturer": self.manufacturer,
            "product": self.product,
            "bcd_device": f"0x{self.bcd_device:04x}",
            "alternates": [a.to_dict() for a in self.alternates],
            "protection": None if self.protection is None else self.protection.to_dict(),
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class TargetPlan:
    """One target of a flash resolved against the device: alternate, memory map, image, plan."""

    info: AltInfo
    memory: MemoryMap
    image: Image
    plan: Plan


@dataclass(frozen=True, slots=True)
class TargetResult:
    """What happened to one target (alternate) of a flash."""

    alt: int
    name: str
    bytes_written: int
    erased_sectors: tuple[int, ...]  # sector addresses, each erased once
    runs: tuple[tuple[int, int], ...]  # (address, length) programmed with one Set Address each
    verified: bool | None  # None: not verified
    warnings: tuple[str, ...] = ()
    skipped_sectors: tuple[int, ...] = ()  # delta: already held their final bytes (compared)
    bytes_compared: int = 0  # delta: bytes read back before erasing

    def to_dict(self) -> dict[str, Any]:
        return {
            "alt": self.alt,
            "name": self.name,
            "bytes_written": self.bytes_written,
            "erased_sectors": list(self.erased_sectors),
            "skipped_sectors": list(self.skipped_sectors),
            "bytes_compared": self.bytes_compared,
            "runs": [{"address": a, "length": n} for a, n in self.runs],
            "verified": self.verified,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class FlashResult:
    """Outcome of :func:`pydfuse.ops.flash`. ``elapsed_s`` is read from the environment's clock
    (virtual time on the simulator, real time on hardware)."""

    device: str
    targets: tuple[TargetResult, ...]
    mass_erased: bool
    verified: bool | None
    left: bool
    dry_run: bool
    elapsed_s: float
    warnings: tuple[str, ...] = ()
    plans: tuple[Plan, ...] = ()  # what was (or, with dry_run, would be) done, per target
    steps: tuple[str, ...] = ()  # with dry_run: what else the real run would do (detach, leave)

    @property
    def bytes_written(self) -> int:
        """Bytes programmed (with ``dry_run``: bytes that would be programmed)."""
        return sum(t.bytes_written for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "targets": [t.to_dict() for t in self.targets],
            "bytes_written": self.bytes_written,
            "mass_erased": self.mass_erased,
            "verified": self.verified,
            "left": self.left,
            "dry_run": self.dry_run,
            "elapsed_s": round(self.elapsed_s, 6),
            "warnings": list(self.warnings),
            "plan": [line for plan in self.plans for line in plan.describe()],
            "steps": list(self.steps),
        }


@dataclass(frozen=True, slots=True)
class UploadResult:
    """Memory read from one alternate."""

    alt: int
    name: str
    image: Image
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "alt": self.alt,
            "name": self.name,
            "bytes": self.image.size,
            "segments": [{"address": s.address, "length": len(s)} for s in self.image],
            "elapsed_s": round(self.elapsed_s, 6),
        }


@dataclass(frozen=True, slots=True)
class LeaveResult:
    """Outcome of :func:`pydfuse.ops.leave_device`."""

    device: str
    left: bool  # out of DFU mode afterwards: its application runs, or it left the bus
    already_running: bool = False  # it ran its application already: nothing was sent
    detached: bool = False  # it ran its application and was sent DFU_DETACH first

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "left": self.left,
            "already_running": self.already_running,
            "detached": self.detached,
        }


@dataclass(frozen=True, slots=True)
class EraseResult:
    """Sectors erased on one alternate (or a mass erase)."""

    alt: int
    name: str
    mass: bool
    erased_sectors: tuple[int, ...] = field(default=())
    erased_bytes: int = 0
    elapsed_s: float = 0.0
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "alt": self.alt,
            "name": self.name,
            "mass": self.mass,
            "erased_sectors": list(self.erased_sectors),
            "erased_bytes": self.erased_bytes,
            "elapsed_s": round(self.elapsed_s, 6),
            "warnings": list(self.warnings),
        }
