"""USB device core of the simulator: descriptors and standard requests (layer: sim).

Imports only ``pydfuse.spec``. Like facedancer's device model, this answers the USB 2.0 chapter 9
requests itself and hands class requests to a :class:`ClassHandler`, so the DFU code only replies,
acknowledges or stalls (design principle 4). One method, :meth:`UsbDevice.control`, is the whole
transport-facing surface; the pyusb backend is a thin adapter around it.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from pydfuse.spec import (
    DESC_CONFIGURATION,
    DESC_DEVICE,
    DESC_STRING,
    DFU_FUNCTIONAL_DESCRIPTOR_TYPE,
    STD_CLEAR_FEATURE,
    STD_GET_CONFIGURATION,
    STD_GET_DESCRIPTOR,
    STD_GET_INTERFACE,
    STD_GET_STATUS,
    STD_SET_CONFIGURATION,
    STD_SET_INTERFACE,
)

__all__ = [
    "ClassHandler",
    "ConfigDescriptor",
    "DeviceDescriptor",
    "InterfaceDescriptor",
    "NoResponse",
    "Setup",
    "Stall",
    "StringTable",
    "UsbDevice",
    "string_descriptor",
]

LANGID_EN_US = 0x0409
_TYPE_MASK = 0x60
_TYPE_STANDARD = 0x00
_TYPE_CLASS = 0x20
_RECIPIENT_MASK = 0x1F
_RECIPIENT_DEVICE = 0
_RECIPIENT_INTERFACE = 1
_RECIPIENT_ENDPOINT = 2


class Stall(Exception):
    """The device stalls EP0 (the host sees EPIPE)."""


class NoResponse(Exception):
    """The device does not answer at all (the host sees a timeout), e.g. MANIFEST-WAIT-RESET."""


class Setup(NamedTuple):
    """The 8-byte SETUP packet of a control transfer (a named tuple: one is built for every
    transfer, and that is several times cheaper than a frozen dataclass)."""

    bmRequestType: int
    bRequest: int
    wValue: int
    wIndex: int
    wLength: int

    @property
    def is_in(self) -> bool:
        return bool(self.bmRequestType & 0x80)

    @property
    def request_type(self) -> int:
        return self.bmRequestType & _TYPE_MASK

    @property
    def recipient(self) -> int:
        return self.bmRequestType & _RECIPIENT_MASK


@dataclass(frozen=True, slots=True)
class DeviceDescriptor:
    """Standard device descriptor (USB 2.0 table 9-8)."""

    bcdUSB: int
    bDeviceClass: int
    bDeviceSubClass: int
    bDeviceProtocol: int
    bMaxPacketSize0: int
    idVendor: int
    idProduct: int
    bcdDevice: int
    iManufacturer: int
    iProduct: int
    iSerialNumber: int
    bNumConfigurations: int = 1
    bLength: int = 18
    bDescriptorType: int = DESC_DEVICE

    def to_bytes(self) -> bytes:
        return struct.pack(
            "<BBHBBBBHHHBBBB",
            self.bLength,
            self.bDescriptorType,
            self.bcdUSB,
            self.bDeviceClass,
            self.bDeviceSubClass,
            self.bDeviceProtocol,
            self.bMaxPacketSize0,
            self.idVendor,
            self.idProduct,
            self.bcdDevice,
            self.iManufacturer,
            self.iProduct,
            self.iSerialNumber,
            self.bNumConfigurations,
        )


@dataclass(frozen=True, slots=True)
class InterfaceDescriptor:
    """Interface descriptor plus the class descriptors that follow it (``extra``, as libusb)."""

    bInterfaceNumber: int
    bAlternateSetting: int
    bInterfaceClass: int
    bInterfaceSubClass: int
    bInterfaceProtocol: int
    iInterface: int
    extra: bytes = b""
    bNumEndpoints: int = 0
    bLength: int = 9
    bDescriptorType: int = 0x04

    def to_bytes(self) -> bytes:
        head = struct.pack(
            "<BBBBBBBBB",
            self.bLength,
            self.bDescriptorType,
            self.bInterfaceNumber,
            self.bAlternateSetting,
            self.bNumEndpoints,
            self.bInterfaceClass,
            self.bInterfaceSubClass,
            self.bInterfaceProtocol,
            self.iInterface,
        )
        return head + self.extra


@dataclass(frozen=True, slots=True)
class ConfigDescriptor:
    """Configuration descriptor with its interfaces (one interface, several alternates here)."""

    bConfigurationValue: int
    bmAttributes: int
    bMaxPower: int
    interfaces: tuple[InterfaceDescriptor, ...]
    iConfiguration: int = 0
    extra: bytes = b""
    bLength: int = 9
    bDescriptorType: int = DESC_CONFIGURATION

    @property
    def bNumInterfaces(self) -> int:
        return len({i.bInterfaceNumber for i in self.interfaces})

    @property
    def wTotalLength(self) -> int:
        return len(self.to_bytes())

    def to_bytes(self) -> bytes:
        body = self.extra + b"".join(i.to_bytes() for i in self.interfaces)
        head = struct.pack(
            "<BBHBBBBB",
            self.bLength,
            self.bDescriptorType,
            self.bLength + len(body),
            self.bNumInterfaces,
            self.bConfigurationValue,
            self.iConfiguration,
            self.bmAttributes,
            self.bMaxPower,
        )
        return head + body


def string_descriptor(text: str, length: int | None = None) -> bytes:
    """UTF-16LE string descriptor; ``length`` > natural size pads with U+0000 (§3.4)."""
    encoded = text.encode("utf-16-le")
    natural = 2 + len(encoded)
    total = natural if length is None else length
    if total < natural or total > 255 or total % 2:
        raise ValueError(f"bad string descriptor length {total} for {text!r}")
    return bytes((total, DESC_STRING)) + encoded + b"\0" * (total - natural)


StringTable = Mapping[int, bytes]  # index -> complete string descriptor (index 0 = LANGIDs)


class ClassHandler(Protocol):
    """What a USB function (DFU here) plugs into :class:`UsbDevice`."""

    def class_request(self, setup: Setup, data: bytes) -> bytes:
        """Answer a class request to the interface; raise Stall / NoResponse to refuse."""
        ...

    def select_alternate(self, alternate: int) -> None:
        """SET_INTERFACE selected ``alternate`` (already validated)."""
        ...


class UsbDevice:
    """Descriptors, configuration/alternate state and the chapter 9 requests."""

    def __init__(
        self,
        device: DeviceDescriptor,
        config: ConfigDescriptor,
        strings: StringTable,
        handler: ClassHandler | None,
        functional: bytes = b"",
    ) -> None:
        self.device = device
        self.config = config
        self.strings = dict(strings)
        self.strings.setdefault(0, struct.pack("<BBH", 4, DESC_STRING, LANGID_EN_US))
        self.handler = handler
        self.functional = functional  # the DFU functional descriptor, for GET_DESCRIPTOR 0x21
        # Like an operating system's hub driver (Linux usbcore) we hand the device over already
        # configured; a host may still SET_CONFIGURATION(0/1) itself.
        self.configuration = config.bConfigurationValue
        self.alternate = 0

    @property
    def alternates(self) -> int:
        return len(self.config.interfaces)

    def control(self, setup: Setup, data: bytes) -> bytes:
        """Answer one control transfer: IN data (at most wLength bytes), or b"" for OUT."""
        if not setup.is_in and len(data) != setup.wLength:
            raise Stall  # a data stage that does not match wLength never reaches a function
        if setup.request_type == _TYPE_STANDARD:
            reply = self._standard(setup)
        elif setup.request_type == _TYPE_CLASS:
            # The function checks recipient and interface itself (DFU 1.1 table 3.1): a DFU
            # request sent to the wrong place is its error to report, not a silent stall.
            if self.handler is None or self.configuration == 0:
                raise Stall
            reply = self.handler.class_request(setup, data)
        else:
            raise Stall  # vendor and reserved request types
        return reply[: setup.wLength] if setup.is_in else b""

    def _standard(self, setup: Setup) -> bytes:
        request = setup.bRequest
        if request == STD_GET_DESCRIPTOR and setup.is_in:
            return self._descriptor(setup.wValue >> 8, setup.wValue & 0xFF)
        if request == STD_GET_STATUS and setup.is_in:
            return self._status(setup)
        if request == STD_CLEAR_FEATURE and not setup.is_in:
            return b""  # ENDPOINT_HALT on EP0 / DEVICE_REMOTE_WAKEUP: nothing to undo
        if request == STD_GET_CONFIGURATION and setup.is_in:
            return bytes((self.configuration,))
        if request == STD_SET_CONFIGURATION and not setup.is_in:
            if setup.wValue not in (0, self.config.bConfigurationValue):
                raise Stall
            self.configuration = setup.wValue
            self._select(0)
            return b""
        if request == STD_GET_INTERFACE and setup.is_in:
            self._check_interface(setup.wIndex)
            return bytes((self.alternate,))
        if request == STD_SET_INTERFACE and not setup.is_in:
            self._check_interface(setup.wIndex)
            if setup.wValue >= self.alternates:
                raise Stall
            self._select(setup.wValue)
            return b""
        raise Stall  # SET_ADDRESS is the host controller's business; others are unsupported

    def _check_interface(self, index: int) -> None:
        if self.configuration == 0 or index != 0:
            raise Stall

    def _select(self, alternate: int) -> None:
        self.alternate = alternate
        if self.handler is not None:
            self.handler.select_alternate(alternate)

    def _status(self, setup: Setup) -> bytes:
        if setup.recipient == _RECIPIENT_DEVICE:
            self_powered = 1 if self.config.bmAttributes & 0x40 else 0
            return bytes((self_powered, 0))
        if setup.recipient in (_RECIPIENT_INTERFACE, _RECIPIENT_ENDPOINT):
            if setup.wIndex & 0xFF != 0:
                raise Stall
            return b"\0\0"
        raise Stall

    def _descriptor(self, kind: int, index: int) -> bytes:
        if kind == DESC_DEVICE and index == 0:
            return self.device.to_bytes()
        if kind == DESC_CONFIGURATION and index == 0:
            return self.config.to_bytes()
        if kind == DESC_STRING and index in self.strings:
            return self.strings[index]
        if kind == DFU_FUNCTIONAL_DESCRIPTOR_TYPE and index == 0 and self.functional:
            return self.functional  # dfu-util asks for it when no copy is found (§1.1)
        raise Stall  # includes the device qualifier: a full-speed-only device stalls it
