"""The only host-side use of pyusb: devices, control transfers, error translation (layer: host).

Imports ``usb`` (pyusb), ``libusb_package`` (lazily) and ``pydfuse.errors``. Everything above this
module sees :class:`UsbDevice` and the exceptions of :mod:`pydfuse.errors`; a
``usb.core.USBError`` never escapes (it is kept as ``__cause__``). The pyusb backend is always
passed in, never probed from the environment (design.md, principle 5).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import usb.core
import usb.util

from pydfuse.errors import (
    DeviceDisconnectedError,
    StallError,
    TransportError,
    TransportTimeoutError,
)

log = logging.getLogger("pydfuse.host")

# dfu-util uses 5000 ms for every request (§1.2); a control request must finish within 5 s.
DEFAULT_TIMEOUT_MS = 5000
US_ENGLISH = 0x0409  # the only LANGID ST devices report (§2.9)

# libusb error codes, for backends that fill backend_error_code but not errno.
_LIBUSB_IO, _LIBUSB_ACCESS, _LIBUSB_NO_DEVICE, _LIBUSB_NOT_FOUND = -1, -3, -4, -5
_LIBUSB_BUSY, _LIBUSB_TIMEOUT, _LIBUSB_PIPE, _LIBUSB_NOT_SUPPORTED = -6, -7, -9, -12
DOCTOR = "`dfuse doctor` looks at the setup and says what to change"

UDEV_HINT = (
    "on Linux, `sudo dfuse udev-rules --install` lets you use every known DFU bootloader "
    "without root; on Windows install WinUSB (Zadig); "
    + DOCTOR
    + " (with the udev line for any other device)"
)
BUSY_HINT = (
    "close other programs using the board (dfu-util, STM32CubeProgrammer, a terminal on its "
    "serial port, ModemManager), or unbind the kernel driver holding it; " + DOCTOR
)
WINUSB_HINT = (
    "on Windows, install the WinUSB driver for the board's DFU interface (Zadig: choose the "
    "device, WinUSB, Replace Driver); " + DOCTOR
)
BACKEND_HINT = (
    "install libusb-1.0 (Debian: apt install libusb-1.0-0) or pip install libusb-package; "
)
BACKEND_HINT += DOCTOR


def translate(exc: BaseException, what: str) -> TransportError:
    """The pydfuse error for a pyusb/libusb failure during ``what`` (caller raises it ``from``)."""
    code = getattr(exc, "backend_error_code", None)
    num = getattr(exc, "errno", None)
    detail = str(exc) or type(exc).__name__
    timed_out = isinstance(exc, usb.core.USBTimeoutError) or num == errno.ETIMEDOUT
    if timed_out or code == _LIBUSB_TIMEOUT:
        return TransportTimeoutError(f"USB timeout during {what} ({detail})")
    if num == errno.EPIPE or code == _LIBUSB_PIPE:
        return StallError(f"device stalled {what} ({detail})")
    if num in (errno.ENODEV, errno.ENOENT) or code in (_LIBUSB_NO_DEVICE, _LIBUSB_NOT_FOUND):
        return DeviceDisconnectedError(
            f"device disconnected during {what} ({detail})",
            hint="check the cable and that nothing else reset the board, then try again",
        )
    if num == errno.EACCES or code == _LIBUSB_ACCESS:
        return TransportError(f"no permission to use the USB device ({detail})", hint=UDEV_HINT)
    if num == errno.EBUSY or code == _LIBUSB_BUSY:
        return TransportError(
            f"the USB device is busy during {what}: another program or a kernel driver holds "
            f"it ({detail})",
            hint=BUSY_HINT,
        )
    if code == _LIBUSB_NOT_SUPPORTED:
        return TransportError(
            f"the operating system does not let libusb open the device ({detail})",
            hint=WINUSB_HINT,
        )
    if isinstance(exc, usb.core.NoBackendError):
        return TransportError("no libusb backend available", hint=BACKEND_HINT)
    return TransportError(f"USB error during {what} ({detail})")


@contextmanager
def usb_errors(what: str) -> Iterator[None]:
    """Turn pyusb failures inside the block into :mod:`pydfuse.errors` exceptions."""
    try:
        yield
    except (usb.core.USBError, usb.core.NoBackendError, NotImplementedError) as exc:
        raise translate(exc, what) from exc


def libusb_backend() -> Any:
    """pyusb's libusb1 backend on the library bundled by ``libusb_package``."""
    import libusb_package

    with usb_errors("loading libusb"):
        backend = libusb_package.get_libusb1_backend()
    if backend is None:
        raise TransportError("no libusb backend available", hint=BACKEND_HINT)
    return backend


@dataclass(frozen=True, slots=True)
class InterfaceDescriptor:
    """One alternate setting of one interface, as the configuration descriptor lists it."""

    number: int
    alternate: int
    interface_class: int
    interface_subclass: int
    interface_protocol: int
    string_index: int
    extra: bytes


def list_devices(backend: Any) -> list[UsbDevice]:
    """Every device the backend sees, wrapped."""
    with usb_errors("enumerating USB devices"):
        found = usb.core.find(find_all=True, backend=backend)
        return [UsbDevice(dev) for dev in found]


class UsbDevice:
    """A pyusb device with the few operations DFU needs; all errors are translated."""

    def __init__(self, device: Any) -> None:
        self._dev = device
        self.vid: int = int(device.idVendor)
        self.pid: int = int(device.idProduct)
        self.bcd_device: int = int(device.bcdDevice)
        self.device_class: int = int(device.bDeviceClass)
        self.max_packet_size0: int = int(device.bMaxPacketSize0)
        self.bus: int | None = device.bus
        self.address: int | None = device.address
        ports = getattr(device, "port_numbers", None) or ()
        self.port_numbers: tuple[int, ...] = tuple(int(p) for p in ports)
        self._strings: dict[int, str | None] = {}
        self.access_error: TransportError | None = None  # set when the OS refused to open it
        self._no_langid_told = False

    @property
    def path(self) -> str:
        """Bus path "bus-port.port" (as dfu-util -p shows it), or "bus:address" without ports."""
        if self.port_numbers:
            return f"{self.bus}-{'.'.join(str(p) for p in self.port_numbers)}"
        return f"{self.bus}:{self.address}"

    def string(self, index: int) -> str | None:
        """String descriptor ``index`` cut at the first NUL (§3.4, §7.6); None if unreadable."""
        if index == 0:
            return None
        if index not in self._strings:
            text = self._read_string(index)
            if text is None:
                return None  # not cached: a transient failure must not hide the string forever
            self._strings[index] = text.split("\x00", 1)[0]
        return self._strings[index]

    def _read_string(self, index: int) -> str | None:
        # pyusb forgets the language list after one failure; a third try rides out two
        # transient faults in a row (a stall, then a timeout) on a string the host needs.
        for langid in (None, US_ENGLISH, US_ENGLISH):
            try:
                with usb_errors(f"reading string {index}"):
                    return str(usb.util.get_string(self._dev, index, langid))
            except ValueError:
                # pyusb read no language list (string 0 failed, or the device has none).
                if not self._no_langid_told:
                    self._no_langid_told = True
                    log.info("the language list (string 0) could not be read; asking in US English")
                continue
            except (StallError, TransportTimeoutError) as exc:
                log.info("reading string %d failed (%s); asking again", index, exc)
                continue  # a missing or broken string is not worth failing for
            except DeviceDisconnectedError:
                raise
            except TransportError as exc:  # EACCES: keep it for "no device found" (udev hint)
                self.access_error = exc
                return None
        return None

    @property
    def serial(self) -> str | None:
        return self.string(int(self._dev.iSerialNumber))

    @property
    def manufacturer(self) -> str | None:
        return self.string(int(self._dev.iManufacturer))

    @property
    def product(self) -> str | None:
        return self.string(int(self._dev.iProduct))

    def configuration(self) -> tuple[bytes, list[InterfaceDescriptor]]:
        """Extra bytes of the first configuration and all its interface alternates."""
        with usb_errors("reading the configuration descriptor"):
            cfg = self._dev[0]
            extra = bytes(cfg.extra_descriptors or b"")
            intfs = [
                InterfaceDescriptor(
                    number=int(i.bInterfaceNumber),
                    alternate=int(i.bAlternateSetting),
                    interface_class=int(i.bInterfaceClass),
                    interface_subclass=int(i.bInterfaceSubClass),
                    interface_protocol=int(i.bInterfaceProtocol),
                    string_index=int(i.iInterface),
                    extra=bytes(i.extra_descriptors or b""),
                )
                for i in cfg
            ]
        return extra, intfs

    def get_descriptor(self, desc_type: int, index: int, length: int) -> bytes | None:
        """GET_DESCRIPTOR(type, index) from the device, or None if it stalls."""
        try:
            with usb_errors("GET_DESCRIPTOR"):
                data = self._dev.ctrl_transfer(0x80, 0x06, (desc_type << 8) | index, 0, length)
        except StallError:
            return None
        return bytes(data)

    def select(self, interface: int, alternate: int) -> None:
        """Configure the device if needed and select ``alternate`` of ``interface``."""
        with usb_errors("selecting the configuration"):
            try:
                self._dev.get_active_configuration()
            except usb.core.USBError:
                self._dev.set_configuration()
        try:
            with usb_errors(f"SET_INTERFACE alt {alternate}"):
                self._dev.set_interface_altsetting(interface, alternate)
        except StallError:
            if alternate != 0:
                raise  # devices with a single setting may stall SET_INTERFACE(0): harmless

    def control_in(
        self, request: int, value: int, index: int, length: int, *, what: str, timeout_ms: int
    ) -> bytes:
        """Class IN request to the interface (bmRequestType 0xA1, §1.2)."""
        with usb_errors(what):
            data = self._dev.ctrl_transfer(0xA1, request, value, index, length, timeout_ms)
        return bytes(data)

    def control_out(
        self, request: int, value: int, index: int, data: bytes, *, what: str, timeout_ms: int
    ) -> None:
        """Class OUT request to the interface (bmRequestType 0x21, §1.2)."""
        with usb_errors(what):
            self._dev.ctrl_transfer(0x21, request, value, index, data, timeout_ms)

    def reset(self) -> None:
        """USB bus reset; the device may re-enumerate (then it is gone: that is fine)."""
        with suppress(DeviceDisconnectedError), usb_errors("USB reset"):
            self._dev.reset()

    def close(self) -> None:
        """Release the interface and the handle; never raises."""
        with suppress(usb.core.USBError, NotImplementedError, ValueError):
            usb.util.dispose_resources(self._dev)
