"""USB/IP messages, as bytes (layer: sim; imports only the standard library).

The wire format of the Linux USB/IP protocol, version 0x0111 (kernel documentation
``usb/usbip_protocol``): every header field is big-endian; the 8-byte SETUP packet and the data
stages travel as they are on the bus. Two phases share one TCP connection:

- operations: an 8-byte header (version, code, status) with OP_REQ_DEVLIST / OP_REP_DEVLIST and
  OP_REQ_IMPORT / OP_REP_IMPORT;
- after a successful import, URBs: 48-byte headers for USBIP_CMD_SUBMIT / USBIP_RET_SUBMIT and
  USBIP_CMD_UNLINK / USBIP_RET_UNLINK, a SUBMIT's OUT data after its header, a RET_SUBMIT's IN
  data after its header.

Decoding never trusts a length from the wire: a field outside what a control-only full-speed
device can use raises :class:`ProtocolViolation`, and the server drops that connection.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass

__all__ = [
    "BUSID_SIZE",
    "CMD_SUBMIT",
    "CMD_UNLINK",
    "EXPORTED_DEVICE_SIZE",
    "OP_HEADER_SIZE",
    "OP_REP_DEVLIST",
    "OP_REP_IMPORT",
    "OP_REQ_DEVLIST",
    "OP_REQ_IMPORT",
    "RET_SUBMIT",
    "RET_UNLINK",
    "STATUS_ECONNRESET",
    "STATUS_EPIPE",
    "ST_DEV_BUSY",
    "ST_NODEV",
    "ST_OK",
    "URB_HEADER_SIZE",
    "USBIP_VERSION",
    "ExportedDevice",
    "ProtocolViolation",
    "Submit",
    "Unlink",
    "decode_busid",
    "decode_op_header",
    "decode_urb_header",
    "devlist_reply",
    "import_reply",
    "op_header",
    "ret_submit",
    "ret_unlink",
]

USBIP_VERSION = 0x0111
OP_REQ_DEVLIST = 0x8005
OP_REP_DEVLIST = 0x0005
OP_REQ_IMPORT = 0x8003
OP_REP_IMPORT = 0x0003
CMD_SUBMIT = 1
CMD_UNLINK = 2
RET_SUBMIT = 3
RET_UNLINK = 4
DIR_OUT = 0
DIR_IN = 1

# Operation status words (tools/usb/usbip's usbip_network.h).
ST_OK = 0x00
ST_NA = 0x01
ST_DEV_BUSY = 0x02
ST_DEV_ERR = 0x03
ST_NODEV = 0x04
ST_ERROR = 0x05

STATUS_EPIPE = -errno.EPIPE  # a stalled control transfer
STATUS_ECONNRESET = -errno.ECONNRESET  # an URB unlinked before it completed

OP_HEADER_SIZE = 8
URB_HEADER_SIZE = 48
BUSID_SIZE = 32
SPEED_FULL = 2  # enum usb_device_speed
# A control transfer moves at most wLength (16 bits) bytes; anything longer is not ours.
MAX_TRANSFER_BYTES = 0xFFFF
_NO_ISO_PACKETS = (0, 0xFFFFFFFF)  # what a non-isochronous URB carries

_OP = struct.Struct(">HHI")
_DEVICE = struct.Struct(">256s32sIIIHHHBBBBBB")  # struct usbip_usb_device, 312 bytes
_INTERFACE = struct.Struct(">BBBx")
_BASIC = struct.Struct(">IIIII")  # command, seqnum, devid, direction, ep
_SUBMIT = struct.Struct(">IiiiI8s")  # flags, length, start_frame, packets, interval, setup
_RET_SUBMIT = struct.Struct(">iiiii8x")  # status, actual, start_frame, packets, errors
_UNLINK = struct.Struct(">I24x")
_RET_UNLINK = struct.Struct(">i24x")
EXPORTED_DEVICE_SIZE = _DEVICE.size


class ProtocolViolation(ValueError):
    """Bytes from a client that are not a USB/IP message this server can take."""


@dataclass(frozen=True, slots=True)
class ExportedDevice:
    """What OP_REP_DEVLIST and OP_REP_IMPORT say about a device (struct usbip_usb_device)."""

    path: str
    busid: str
    busnum: int
    devnum: int
    id_vendor: int
    id_product: int
    bcd_device: int
    device_class: int
    device_subclass: int
    device_protocol: int
    configuration_value: int
    num_configurations: int
    interfaces: tuple[tuple[int, int, int], ...]  # (class, subclass, protocol) each
    speed: int = SPEED_FULL

    @property
    def devid(self) -> int:
        """The id URB headers carry for this device: bus number << 16 | device number."""
        return (self.busnum << 16) | self.devnum

    def to_bytes(self, *, with_interfaces: bool) -> bytes:
        head = _DEVICE.pack(
            self.path.encode(),
            self.busid.encode(),
            self.busnum,
            self.devnum,
            self.speed,
            self.id_vendor,
            self.id_product,
            self.bcd_device,
            self.device_class,
            self.device_subclass,
            self.device_protocol,
            self.configuration_value,
            self.num_configurations,
            len(self.interfaces),
        )
        if not with_interfaces:
            return head
        return head + b"".join(_INTERFACE.pack(*triple) for triple in self.interfaces)


@dataclass(frozen=True, slots=True)
class Submit:
    """USBIP_CMD_SUBMIT: one URB for endpoint ``ep`` (its OUT data is read separately)."""

    seqnum: int
    devid: int
    direction: int
    ep: int
    flags: int
    length: int
    packets: int
    setup: bytes

    @property
    def is_in(self) -> bool:
        return self.direction == DIR_IN

    @property
    def out_bytes(self) -> int:
        """How many data bytes follow this header on the wire."""
        return 0 if self.is_in else self.length


@dataclass(frozen=True, slots=True)
class Unlink:
    """USBIP_CMD_UNLINK: cancel the URB that was submitted with ``victim``."""

    seqnum: int
    devid: int
    victim: int


def op_header(code: int, status: int = ST_OK) -> bytes:
    return _OP.pack(USBIP_VERSION, code, status)


def decode_op_header(raw: bytes) -> tuple[int, int]:
    """(code, status) of an operation header; another protocol version is refused."""
    version, code, status = _OP.unpack(raw)
    if version != USBIP_VERSION:
        raise ProtocolViolation(f"USB/IP version 0x{version:04x} (this server speaks 0x0111)")
    if code not in (OP_REQ_DEVLIST, OP_REQ_IMPORT):
        raise ProtocolViolation(f"unknown operation 0x{code:04x}")
    return code, status


def decode_busid(raw: bytes) -> str:
    """The bus id of an OP_REQ_IMPORT (32 bytes, NUL-padded ASCII)."""
    text = raw.split(b"\0", 1)[0]
    try:
        return text.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolViolation("bus id is not ASCII") from None


def devlist_reply(devices: list[ExportedDevice]) -> bytes:
    body = b"".join(dev.to_bytes(with_interfaces=True) for dev in devices)
    return op_header(OP_REP_DEVLIST) + struct.pack(">I", len(devices)) + body


def import_reply(device: ExportedDevice | None, status: int = ST_OK) -> bytes:
    """OP_REP_IMPORT: the device on success; only the header with a failure status."""
    if device is None:
        return op_header(OP_REP_IMPORT, status if status != ST_OK else ST_NODEV)
    return op_header(OP_REP_IMPORT) + device.to_bytes(with_interfaces=False)


def decode_urb_header(raw: bytes) -> Submit | Unlink:
    """A CMD_SUBMIT or CMD_UNLINK header (48 bytes); anything else is a violation."""
    command, seqnum, devid, direction, ep = _BASIC.unpack_from(raw)
    if command == CMD_UNLINK:
        (victim,) = _UNLINK.unpack_from(raw, _BASIC.size)
        return Unlink(seqnum, devid, victim)
    if command != CMD_SUBMIT:
        raise ProtocolViolation(f"unknown URB command {command}")
    flags, length, _start, packets, _interval, setup = _SUBMIT.unpack_from(raw, _BASIC.size)
    if direction not in (DIR_OUT, DIR_IN):
        raise ProtocolViolation(f"URB direction {direction}")
    if ep > 15:
        raise ProtocolViolation(f"endpoint number {ep}")
    if not 0 <= length <= MAX_TRANSFER_BYTES:
        raise ProtocolViolation(f"transfer length {length}")
    if packets & 0xFFFFFFFF not in _NO_ISO_PACKETS:
        raise ProtocolViolation(f"{packets} isochronous packets for a device without them")
    return Submit(seqnum, devid, direction, ep, flags, length, packets, setup)


def ret_submit(cmd: Submit, status: int, data: bytes = b"", actual: int | None = None) -> bytes:
    """USBIP_RET_SUBMIT for ``cmd``: IN data follows the header; OUT reports ``actual``.

    devid, direction and ep are 0 in replies (the kernel documentation's rule); the number of
    isochronous packets echoes the request's (0 or 0xffffffff for control transfers).
    """
    count = len(data) if actual is None else actual
    head = _BASIC.pack(RET_SUBMIT, cmd.seqnum, 0, 0, 0)
    return head + _RET_SUBMIT.pack(status, count, 0, cmd.packets, 0) + (data if cmd.is_in else b"")


def ret_unlink(cmd: Unlink, status: int) -> bytes:
    """USBIP_RET_UNLINK: -ECONNRESET when the URB was cancelled, 0 when it had completed."""
    return _BASIC.pack(RET_UNLINK, cmd.seqnum, 0, 0, 0) + _RET_UNLINK.pack(status)
