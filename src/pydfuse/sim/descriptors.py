"""Descriptor sets of the virtual board in DFU mode and as the application (layer: sim).

Imports only ``pydfuse.spec`` and sibling sim modules. DFU mode reproduces §2.9 byte for byte
for the ST demo profiles (device descriptor, 45-byte configuration with three alternates and the
functional descriptor once, after the last alternate, strings with their U+0000 padding, §3.4).
"""

from __future__ import annotations

import struct

from pydfuse.sim.profiles import BoardProfile
from pydfuse.sim.usbdev import (
    ClassHandler,
    ConfigDescriptor,
    DeviceDescriptor,
    InterfaceDescriptor,
    UsbDevice,
    string_descriptor,
)
from pydfuse.spec import (
    DFU_FUNCTIONAL_DESCRIPTOR_LENGTH,
    DFU_FUNCTIONAL_DESCRIPTOR_TYPE,
    DFU_INTERFACE_CLASS,
    DFU_INTERFACE_SUBCLASS,
    DFU_PROTOCOL_DFU_MODE,
    DFU_PROTOCOL_RUNTIME,
)

__all__ = ["application_device", "bootloader_device", "functional_descriptor", "uid_serial"]

_I_MANUFACTURER, _I_PRODUCT, _I_SERIAL, _I_FIRST_ALT = 1, 2, 3, 4


def functional_descriptor(
    attributes: int, detach_timeout_ms: int, transfer_size: int, dfu_version: int
) -> bytes:
    """The 9-byte DFU functional descriptor (§1.1)."""
    return struct.pack(
        "<BBBHHH",
        DFU_FUNCTIONAL_DESCRIPTOR_LENGTH,
        DFU_FUNCTIONAL_DESCRIPTOR_TYPE,
        attributes,
        detach_timeout_ms,
        transfer_size,
        dfu_version,
    )


def uid_serial(uid: tuple[int, int, int]) -> str:
    """§2.9: 8 hex digits of (UID word 0 + UID word 2) then the top 4 of UID word 1."""
    total = (uid[0] + uid[2]) & 0xFFFFFFFF
    if total == 0:
        return "STM32"  # the demo's placeholder stays when the sum is 0
    return f"{total:08X}{uid[1] >> 16:04X}"


def bootloader_device(profile: BoardProfile, serial: str, handler: ClassHandler) -> UsbDevice:
    """The device as it enumerates in DFU mode."""
    device = DeviceDescriptor(
        bcdUSB=profile.bcd_usb,
        bDeviceClass=0,
        bDeviceSubClass=0,
        bDeviceProtocol=0,
        bMaxPacketSize0=profile.max_packet_size0,
        idVendor=profile.vid,
        idProduct=profile.pid,
        bcdDevice=profile.bcd_device,
        iManufacturer=_I_MANUFACTURER,
        iProduct=_I_PRODUCT,
        iSerialNumber=_I_SERIAL,
    )
    functional = functional_descriptor(
        profile.attributes, profile.detach_timeout_ms, profile.transfer_size, profile.dfu_version
    )
    last = len(profile.alternates) - 1
    interfaces = tuple(
        InterfaceDescriptor(
            bInterfaceNumber=0,
            bAlternateSetting=i,
            bInterfaceClass=DFU_INTERFACE_CLASS,
            bInterfaceSubClass=DFU_INTERFACE_SUBCLASS,
            bInterfaceProtocol=DFU_PROTOCOL_DFU_MODE,
            iInterface=_I_FIRST_ALT + i,
            # §1.1: ST puts the functional descriptor once, after the last alternate.
            extra=functional if i == last else b"",
        )
        for i in range(len(profile.alternates))
    )
    config = ConfigDescriptor(
        bConfigurationValue=1,
        bmAttributes=profile.config_attributes,
        bMaxPower=profile.config_max_power,
        interfaces=interfaces,
    )
    strings = {
        _I_MANUFACTURER: string_descriptor(profile.manufacturer),
        _I_PRODUCT: string_descriptor(profile.product),
        _I_SERIAL: string_descriptor(serial),
    }
    for i, alt in enumerate(profile.alternates):
        strings[_I_FIRST_ALT + i] = string_descriptor(alt.layout, alt.descriptor_length)
    return UsbDevice(device, config, strings, handler, functional)


def application_device(
    profile: BoardProfile, serial: str, handler: ClassHandler | None
) -> UsbDevice:
    """The device as the application presents it (run-time identity of the profile)."""
    rt = profile.runtime
    device = DeviceDescriptor(
        bcdUSB=0x0200,
        bDeviceClass=0,
        bDeviceSubClass=0,
        bDeviceProtocol=0,
        bMaxPacketSize0=profile.max_packet_size0,
        idVendor=rt.vid,
        idProduct=rt.pid,
        bcdDevice=rt.bcd_device,
        iManufacturer=_I_MANUFACTURER,
        iProduct=_I_PRODUCT,
        iSerialNumber=_I_SERIAL,
    )
    functional = b""
    if rt.dfu_runtime:
        functional = functional_descriptor(
            rt.attributes, rt.detach_timeout_ms, profile.transfer_size, profile.dfu_version
        )
        interface = InterfaceDescriptor(
            bInterfaceNumber=0,
            bAlternateSetting=0,
            bInterfaceClass=DFU_INTERFACE_CLASS,
            bInterfaceSubClass=DFU_INTERFACE_SUBCLASS,
            bInterfaceProtocol=DFU_PROTOCOL_RUNTIME,
            iInterface=0,
            extra=functional,
        )
    else:
        interface = InterfaceDescriptor(0, 0, 0xFF, 0x00, 0x00, 0)  # vendor-specific, no DFU
    config = ConfigDescriptor(
        bConfigurationValue=1,
        bmAttributes=profile.config_attributes,
        bMaxPower=profile.config_max_power,
        interfaces=(interface,),
    )
    strings = {
        _I_MANUFACTURER: string_descriptor(rt.manufacturer),
        _I_PRODUCT: string_descriptor(rt.product),
        _I_SERIAL: string_descriptor(serial),
    }
    return UsbDevice(device, config, strings, handler if rt.dfu_runtime else None, functional)
