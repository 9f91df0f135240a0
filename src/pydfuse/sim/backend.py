"""pyusb backend for virtual boards (layer: sim; imports pyusb and sim modules only).

``usb.core.find(find_all=True, backend=get_backend(board1, board2))`` enumerates the boards as
if they were on a real bus: distinct serials, bus 1, ports 1..n, and a fresh address at every
(re-)enumeration. Every ``ctrl_transfer`` (standard requests too) goes to the board's device
model through :meth:`VirtualBoard.control`. Errors look like libusb's (design.md "pyusb backend
notes"): a stall is EPIPE/-9, a timeout ETIMEDOUT/-7, a vanished device ENODEV/-4, and a bus
reset after which the device came back as something else NOT_FOUND/-5 (what libusb returns when
the descriptors changed; dfu-util ignores exactly that code after its reset).
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import usb.backend
import usb.core
import usb.util

from pydfuse.sim.board import DeviceGone, TransferTimeout, VirtualBoard
from pydfuse.sim.usbdev import ConfigDescriptor, InterfaceDescriptor, Setup, Stall, UsbDevice

__all__ = ["SimBackend", "get_backend"]

LIBUSB_ERROR_ACCESS = -3
LIBUSB_ERROR_BUSY = -6
LIBUSB_ERROR_NOT_SUPPORTED = -12
LIBUSB_ERROR_NOT_FOUND = -5
LIBUSB_ERROR_NO_DEVICE = -4
LIBUSB_ERROR_TIMEOUT = -7
LIBUSB_ERROR_PIPE = -9
_BUS = 1


def _gone() -> usb.core.USBError:
    return usb.core.USBError(
        "No such device (it may have been disconnected)", LIBUSB_ERROR_NO_DEVICE, errno.ENODEV
    )


def _stall() -> usb.core.USBError:
    return usb.core.USBError("Pipe error", LIBUSB_ERROR_PIPE, errno.EPIPE)


def _timeout() -> usb.core.USBError:
    return usb.core.USBTimeoutError("Operation timed out", LIBUSB_ERROR_TIMEOUT, errno.ETIMEDOUT)


@dataclass(eq=False)
class _SimDevice:
    """What enumerate_devices yields: one board at one enumeration (generation)."""

    board: VirtualBoard
    generation: int
    usb: UsbDevice  # descriptors as cached at enumeration, like libusb's device list
    address: int
    port: int


@dataclass(eq=False)
class _SimHandle:
    device: _SimDevice
    claimed: set[int] = field(default_factory=set)

    def live_board(self) -> VirtualBoard:
        board = self.device.board
        if not board.usb_connected or board.generation != self.device.generation:
            raise _gone()
        return board


class _Descriptor:
    """Attribute bag handed to pyusb (it copies the USB field names it knows)."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def _config_view(config: ConfigDescriptor) -> _Descriptor:
    return _Descriptor(
        bLength=config.bLength,
        bDescriptorType=config.bDescriptorType,
        wTotalLength=config.wTotalLength,
        bNumInterfaces=config.bNumInterfaces,
        bConfigurationValue=config.bConfigurationValue,
        iConfiguration=config.iConfiguration,
        bmAttributes=config.bmAttributes,
        bMaxPower=config.bMaxPower,
        extra_descriptors=list(config.extra),
    )


def _interface_view(intf: InterfaceDescriptor) -> _Descriptor:
    return _Descriptor(
        bLength=intf.bLength,
        bDescriptorType=intf.bDescriptorType,
        bInterfaceNumber=intf.bInterfaceNumber,
        bAlternateSetting=intf.bAlternateSetting,
        bNumEndpoints=intf.bNumEndpoints,
        bInterfaceClass=intf.bInterfaceClass,
        bInterfaceSubClass=intf.bInterfaceSubClass,
        bInterfaceProtocol=intf.bInterfaceProtocol,
        iInterface=intf.iInterface,
        # §1.1: libusb reports class descriptors after an interface in its "extra" bytes.
        extra_descriptors=list(intf.extra),
    )


class SimBackend(usb.backend.IBackend):  # type: ignore[misc]
    """pyusb ``IBackend`` over a set of :class:`VirtualBoard` objects."""

    def __init__(
        self, boards: Iterable[VirtualBoard], *, visible: VirtualBoard | None = None
    ) -> None:
        self.boards: list[VirtualBoard] = list(boards)
        self.visible = visible
        self._addresses: dict[tuple[int, int], int] = {}
        self._next_address = 1

    def add(self, board: VirtualBoard) -> None:
        """Plug another board into this virtual bus."""
        self.boards.append(board)

    def only(self, board: VirtualBoard) -> SimBackend:
        """A backend on the same bus that enumerates ``board`` alone, at its own port: what
        one worker of many uses, so it never touches (or waits for) the other boards."""
        return SimBackend(self.boards, visible=board)

    def _address(self, board: VirtualBoard) -> int:
        key = (id(board), board.generation)
        if key not in self._addresses:
            self._next_address = self._next_address % 127 + 1  # USB addresses are 1..127
            self._addresses[key] = self._next_address
        return self._addresses[key]

    # -- enumeration and descriptors ----------------------------------------------------------
    def _host(self, board: VirtualBoard) -> str | None:
        return board.faults.host

    def enumerate_devices(self) -> Iterator[_SimDevice]:
        if any(self._host(board) == "no-backend" for board in self.boards):
            raise usb.core.NoBackendError("No backend available")  # what pyusb says
        for port, board in enumerate(self.boards, start=1):
            if self.visible is not None and board is not self.visible:
                continue
            if board.usb_connected and board.usb is not None:
                yield _SimDevice(board, board.generation, board.usb, self._address(board), port)

    def get_parent(self, dev: _SimDevice) -> None:
        return None

    def get_device_descriptor(self, dev: _SimDevice) -> _Descriptor:
        d = dev.usb.device
        return _Descriptor(
            bLength=d.bLength,
            bDescriptorType=d.bDescriptorType,
            bcdUSB=d.bcdUSB,
            bDeviceClass=d.bDeviceClass,
            bDeviceSubClass=d.bDeviceSubClass,
            bDeviceProtocol=d.bDeviceProtocol,
            bMaxPacketSize0=d.bMaxPacketSize0,
            idVendor=d.idVendor,
            idProduct=d.idProduct,
            bcdDevice=d.bcdDevice,
            iManufacturer=d.iManufacturer,
            iProduct=d.iProduct,
            iSerialNumber=d.iSerialNumber,
            bNumConfigurations=d.bNumConfigurations,
            bus=_BUS,
            address=dev.address,
            port_number=dev.port,
            port_numbers=(dev.port,),
            speed=usb.util.SPEED_FULL,
        )

    def get_configuration_descriptor(self, dev: _SimDevice, config: int) -> _Descriptor:
        if config != 0:
            raise usb.core.USBError("Entity not found", LIBUSB_ERROR_NOT_FOUND, errno.ENOENT)
        return _config_view(dev.usb.config)

    def get_interface_descriptor(
        self, dev: _SimDevice, intf: int, alt: int, config: int
    ) -> _Descriptor:
        interfaces = [i for i in dev.usb.config.interfaces if i.bInterfaceNumber == intf]
        if config != 0 or not interfaces:
            raise IndexError(f"Invalid interface index {intf}")
        if alt >= len(interfaces):
            raise IndexError(f"Invalid alternate setting index {alt}")  # how pyusb walks alts
        return _interface_view(interfaces[alt])

    def get_endpoint_descriptor(
        self, dev: _SimDevice, ep: int, intf: int, alt: int, config: int
    ) -> _Descriptor:
        raise IndexError(f"Invalid endpoint index {ep}")  # DFU uses EP0 only (§1.1)

    # -- handles ---------------------------------------------------------------------------------
    def open_device(self, dev: _SimDevice) -> _SimHandle:
        handle = _SimHandle(dev)
        board = handle.live_board()
        if self._host(board) == "access":
            raise usb.core.USBError(
                "Access denied (insufficient permissions)", LIBUSB_ERROR_ACCESS, errno.EACCES
            )
        if self._host(board) == "no-winusb":
            raise usb.core.USBError(
                "Operation not supported or unimplemented on this platform",
                LIBUSB_ERROR_NOT_SUPPORTED,
                errno.ENOSYS,
            )
        return handle

    def close_device(self, dev_handle: _SimHandle) -> None:
        dev_handle.claimed.clear()

    def claim_interface(self, dev_handle: _SimHandle, intf: int) -> None:
        board = dev_handle.live_board()
        if self._host(board) in ("busy", "kernel-driver"):
            raise usb.core.USBError("Resource busy", LIBUSB_ERROR_BUSY, errno.EBUSY)
        numbers = {i.bInterfaceNumber for i in dev_handle.device.usb.config.interfaces}
        if intf not in numbers:
            raise usb.core.USBError("Entity not found", LIBUSB_ERROR_NOT_FOUND, errno.ENOENT)
        dev_handle.claimed.add(intf)

    def release_interface(self, dev_handle: _SimHandle, intf: int) -> None:
        dev_handle.claimed.discard(intf)

    def set_configuration(self, dev_handle: _SimHandle, config_value: int) -> None:
        self._control(dev_handle, 0x00, 0x09, config_value, 0, b"", 0, 1000)

    def get_configuration(self, dev_handle: _SimHandle) -> int:
        # libusb on Linux answers from the kernel's cached value: no bus traffic, no hold.
        board = dev_handle.live_board()
        assert board.usb is not None
        return board.usb.configuration

    def set_interface_altsetting(self, dev_handle: _SimHandle, intf: int, altsetting: int) -> None:
        self._control(dev_handle, 0x01, 0x0B, altsetting, intf, b"", 0, 1000)

    def reset_device(self, dev_handle: _SimHandle) -> None:
        board = dev_handle.live_board()
        try:
            changed = board.bus_reset()
        except DeviceGone:
            raise _gone() from None
        if changed:
            # The device re-enumerated with other descriptors (new address): libusb says
            # NOT_FOUND and the handle is dead.
            raise usb.core.USBError("Entity not found", LIBUSB_ERROR_NOT_FOUND, errno.ENOENT)

    def clear_halt(self, dev_handle: _SimHandle, ep: int) -> None:
        dev_handle.live_board()

    def is_kernel_driver_active(self, dev_handle: _SimHandle, intf: int) -> bool:
        return self._host(dev_handle.device.board) == "kernel-driver"

    def detach_kernel_driver(self, dev_handle: _SimHandle, intf: int) -> None:
        return None

    def attach_kernel_driver(self, dev_handle: _SimHandle, intf: int) -> None:
        return None

    # -- transfers -------------------------------------------------------------------------------
    def ctrl_transfer(
        self,
        dev_handle: _SimHandle,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: Any,
        timeout: int,
    ) -> int:
        length = int(len(data) * data.itemsize)
        is_in = bool(bmRequestType & 0x80)
        payload = b"" if is_in else data.tobytes()
        reply = self._control(
            dev_handle, bmRequestType, bRequest, wValue, wIndex, payload, length, timeout
        )
        if not is_in:
            return length
        memoryview(data).cast("B")[: len(reply)] = reply  # fill the caller's buffer, as libusb
        return len(reply)

    def _control(
        self,
        dev_handle: _SimHandle,
        request_type: int,
        request: int,
        value: int,
        index: int,
        payload: bytes,
        length: int,
        timeout: int,
    ) -> bytes:
        board = dev_handle.live_board()
        setup = Setup(
            request_type & 0xFF, request & 0xFF, value & 0xFFFF, index & 0xFFFF, length & 0xFFFF
        )
        try:
            return board.control(setup, payload, timeout, generation=dev_handle.device.generation)
        except Stall:
            raise _stall() from None
        except TransferTimeout:
            raise _timeout() from None
        except DeviceGone:
            raise _gone() from None


def get_backend(*boards: VirtualBoard) -> SimBackend:
    """A backend with ``boards`` plugged into ports 1..n of one virtual bus."""
    return SimBackend(boards)
