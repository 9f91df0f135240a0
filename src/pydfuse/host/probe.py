"""Looking at every USB device the way ``dfuse doctor`` needs to (layer: host).

Imports pyusb, ``pydfuse.host.trace`` (libusb error names) and ``pydfuse.spec``. Unlike
:mod:`pydfuse.host.discovery`, which keeps only the DFU devices it can use, this reports every
device that looks like DFU — by its interface class (FE/01) or by a known bootloader VID:PID
— and what happened when it was opened: whether the OS let us open it, whether its interface
could be claimed, whether a kernel driver holds it. Nothing is written to any device.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import usb.core
import usb.util

from pydfuse.host.trace import device_path, error_kind
from pydfuse.spec import DFU_INTERFACE_CLASS, DFU_INTERFACE_SUBCLASS, DFU_PROTOCOL_RUNTIME


@dataclass(frozen=True, slots=True)
class Probe:
    """One device as the doctor sees it. ``problem`` is None when it could be opened and its
    DFU interface claimed; else a libusb error kind (``access``, ``busy``, ``not_supported``,
    ``no_device``, ``error``) with ``detail``."""

    vid: int
    pid: int
    path: str
    dfu_interface: int | None  # None: no DFU interface in its descriptors
    runtime: bool  # the DFU interface is a run-time one (protocol 1): the application runs
    product: str | None = None
    serial: str | None = None
    problem: str | None = None
    detail: str = ""
    kernel_driver: bool = False

    @property
    def id_text(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"


def _dfu_interface(dev: Any) -> tuple[int | None, bool]:
    """The first DFU interface number of ``dev`` (from cached descriptors) and run-time-ness."""
    with contextlib.suppress(usb.core.USBError, NotImplementedError, ValueError, IndexError):
        for intf in dev[0]:
            if (intf.bInterfaceClass, intf.bInterfaceSubClass) == (
                DFU_INTERFACE_CLASS,
                DFU_INTERFACE_SUBCLASS,
            ):
                return int(intf.bInterfaceNumber), intf.bInterfaceProtocol == DFU_PROTOCOL_RUNTIME
    return None, False


def _string(dev: Any, index: int) -> str | None:
    if not index:
        return None
    try:
        return str(usb.util.get_string(dev, index)).split("\x00", 1)[0]
    except ValueError:  # no language list
        return None


def probe_device(dev: Any) -> Probe:
    """Open ``dev``, read its names, claim its DFU interface and let it go again."""
    number, runtime = _dfu_interface(dev)
    base: dict[str, Any] = {
        "vid": int(dev.idVendor),
        "pid": int(dev.idProduct),
        "path": device_path(dev),
        "dfu_interface": number,
        "runtime": runtime,
    }
    try:
        base["product"] = _string(dev, int(dev.iProduct))
        base["serial"] = _string(dev, int(dev.iSerialNumber))
        if number is not None:
            with contextlib.suppress(NotImplementedError, usb.core.USBError):
                base["kernel_driver"] = bool(dev.is_kernel_driver_active(number))
            usb.util.claim_interface(dev, number)
            usb.util.release_interface(dev, number)
    except (usb.core.USBError, NotImplementedError) as exc:
        return Probe(**base, problem=error_kind(exc), detail=str(exc))
    finally:
        with contextlib.suppress(usb.core.USBError, NotImplementedError, ValueError):
            usb.util.dispose_resources(dev)
    return Probe(**base)


def probe_bus(backend: Any, wanted: set[tuple[int, int]]) -> list[Probe]:
    """Every device with a DFU interface or a VID:PID in ``wanted``, probed; sorted by path.
    Raises ``usb.core.NoBackendError`` when there is no libusb (the caller says what to do)."""
    found = []
    for dev in usb.core.find(find_all=True, backend=backend):
        number, _ = _dfu_interface(dev)
        if number is not None or (int(dev.idVendor), int(dev.idProduct)) in wanted:
            found.append(probe_device(dev))
    return sorted(found, key=lambda p: (p.path, p.id_text))
