"""Finding DFU interfaces on the bus and choosing one device (layer: host).

Imports ``pydfuse.host.usb``/``descriptors``, ``pydfuse.spec`` and ``pydfuse.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydfuse.errors import DeviceNotFoundError, TransportError
from pydfuse.host.descriptors import (
    FunctionalDescriptor,
    detect_mode,
    find_functional_descriptor,
    is_dfu_interface,
    layout_name,
    parse_functional_descriptor,
)
from pydfuse.host.usb import UDEV_HINT, UsbDevice, list_devices
from pydfuse.spec import DFU_FUNCTIONAL_DESCRIPTOR_LENGTH, DFU_FUNCTIONAL_DESCRIPTOR_TYPE

ST_DFU_ID = (0x0483, 0xDF11)


@dataclass(frozen=True, slots=True)
class Alternate:
    """One alternate setting of the DFU interface: a memory target in DFU mode (§1.1)."""

    alt: int
    string: str  # iInterface as sent, cut at the first NUL (§3.4); "" if none

    @property
    def name(self) -> str:
        """The memory name from a layout string ("Internal Flash"), else the whole string."""
        return layout_name(self.string)


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """A DFU interface of a device on the bus, described from its descriptors only."""

    vid: int
    pid: int
    bcd_device: int
    serial: str | None
    path: str
    manufacturer: str | None
    product: str | None
    mode: str  # "dfu" or "runtime"
    interface: int
    protocol: int
    functional: FunctionalDescriptor
    alternates: tuple[Alternate, ...]
    max_packet_size0: int = 64
    problem: str | None = None  # why the device could not be opened (its strings are unknown)

    @property
    def dfuse(self) -> bool:
        return self.functional.is_dfuse

    @property
    def id_text(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"

    def describe(self) -> str:
        """One line for messages: "0483:df11 serial A (bus 1-1)"."""
        serial = f" serial {self.serial}" if self.serial else ""
        return f"{self.id_text}{serial} (bus {self.path}, {self.mode} mode)"


def _fallback_functional(dev: UsbDevice) -> FunctionalDescriptor | None:
    """Ask the device for the functional descriptor itself, as dfu-util does (§1.1)."""
    try:
        data = dev.get_descriptor(
            DFU_FUNCTIONAL_DESCRIPTOR_TYPE, 0, DFU_FUNCTIONAL_DESCRIPTOR_LENGTH
        )
    except TransportError:
        return None
    return parse_functional_descriptor(data or b"", vid=dev.vid, pid=dev.pid)


def describe_device(dev: UsbDevice) -> FoundDevice | None:
    """The DFU interface of ``dev`` (first one), or None if it has none."""
    config_extra, intfs = dev.configuration()
    dfu = [i for i in intfs if is_dfu_interface(i.interface_class, i.interface_subclass)]
    if not dfu:
        return None
    number = dfu[0].number
    mine = [i for i in dfu if i.number == number]
    functional = find_functional_descriptor(
        config_extra, *(i.extra for i in intfs), vid=dev.vid, pid=dev.pid
    ) or _fallback_functional(dev)
    if functional is None:
        return None  # not usable without wTransferSize; dfu-util would assume DFU 1.0 here
    mode = detect_mode(
        mine[0].interface_protocol,
        functional,
        device_class=dev.device_class,
        vid=dev.vid,
        pid=dev.pid,
    )
    alternates = tuple(Alternate(i.alternate, dev.string(i.string_index) or "") for i in mine)
    return FoundDevice(
        vid=dev.vid,
        pid=dev.pid,
        bcd_device=dev.bcd_device,
        serial=dev.serial,
        path=dev.path,
        manufacturer=dev.manufacturer,
        product=dev.product,
        mode=mode,
        interface=number,
        protocol=mine[0].interface_protocol,
        functional=functional,
        alternates=alternates,
        max_packet_size0=dev.max_packet_size0,
        problem=None if dev.access_error is None else str(dev.access_error),
    )


def scan(backend: Any) -> list[tuple[FoundDevice, UsbDevice]]:
    """Every device with a DFU interface, with its open-able handle."""
    out: list[tuple[FoundDevice, UsbDevice]] = []
    for dev in list_devices(backend):
        try:
            found = describe_device(dev)
        except TransportError:
            found = None  # a device we cannot read (permissions, gone) is not ours to report
        if found is None:
            dev.close()
        else:
            out.append((found, dev))
    return out


def matches(
    found: FoundDevice,
    *,
    vid: int | None = None,
    pid: int | None = None,
    serial: str | None = None,
    path: str | None = None,
) -> bool:
    """Whether ``found`` fits every given criterion."""
    return (
        (vid is None or found.vid == vid)
        and (pid is None or found.pid == pid)
        and (serial is None or found.serial == serial)
        and (path is None or found.path == path)
    )


def choose(
    candidates: list[tuple[FoundDevice, UsbDevice]],
    *,
    vid: int | None = None,
    pid: int | None = None,
    serial: str | None = None,
    path: str | None = None,
) -> tuple[FoundDevice, UsbDevice]:
    """The one candidate that matches; closes the others. DeviceNotFoundError if 0 or > 1."""
    hits = [c for c in candidates if matches(c[0], vid=vid, pid=pid, serial=serial, path=path)]
    for c in candidates:
        if not any(c is h for h in hits[:1]) or len(hits) != 1:
            c[1].close()
    if len(hits) == 1:
        return hits[0]
    wanted = _wanted_text(vid, pid, serial, path)
    refused = [d.access_error for _, d in candidates if d.access_error is not None]
    if not hits and refused:
        raise TransportError(
            f"no DFU device found (looked for {wanted}), but {len(refused)} USB device(s) "
            "could not be opened to read their serial number and names",
            hint=UDEV_HINT,
        ) from refused[0]
    if not hits:
        raise DeviceNotFoundError(
            f"no DFU device found (looked for {wanted})",
            hint="is the board in DFU mode (BOOT0 high / key pressed) and plugged in? "
            "`dfuse list` shows what is connected, `dfuse doctor` what stands in the way",
        )
    listing = ", ".join(f.describe() for f, _ in hits)
    raise DeviceNotFoundError(
        f"{len(hits)} DFU devices match: {listing}",
        hint="choose one with -S SERIAL or -p PATH",
    )


def _wanted_text(vid: int | None, pid: int | None, serial: str | None, path: str | None) -> str:
    if vid is None and pid is None:
        parts = ["any DFU interface"]
    else:
        v = "*" if vid is None else f"{vid:04x}"
        p = "*" if pid is None else f"{pid:04x}"
        parts = [f"{v}:{p}"]
    if serial is not None:
        parts.append(f"serial {serial}")
    if path is not None:
        parts.append(f"bus path {path}")
    return ", ".join(parts)


def resolve_alternate(found: FoundDevice, alt: int | str | None) -> Alternate:
    """The alternate by number, or by name, unique prefix or unique part of the name (case
    insensitive); default: the first."""
    if not found.alternates:
        raise DeviceNotFoundError(f"{found.describe()} has no DFU alternate settings")
    if alt is None:
        return found.alternates[0]
    names = ", ".join(f"{a.alt} ({a.name})" for a in found.alternates)
    if isinstance(alt, int) or alt.isdigit():
        number = int(alt)
        for a in found.alternates:
            if a.alt == number:
                return a
        raise DeviceNotFoundError(
            f"{found.describe()} has no alternate setting {number}", hint=f"choose one of: {names}"
        )
    key = alt.strip().lower()
    exact = [a for a in found.alternates if key in (a.name.lower(), a.string.lower())]
    prefixed = (
        exact
        or [a for a in found.alternates if a.name.lower().startswith(key)]
        or [a for a in found.alternates if key in a.name.lower()]
    )
    if len(prefixed) == 1:
        return prefixed[0]
    problem = "matches several alternate settings" if prefixed else "matches no alternate setting"
    raise DeviceNotFoundError(
        f"{alt!r} {problem} of {found.describe()}", hint=f"choose one of: {names}"
    )
