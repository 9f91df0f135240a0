"""Protocol numbers of USB DFU 1.1 and ST's DfuSe extensions (layer: spec).

No logic lives here: only the numbers the host and the simulator share, so that neither can
carry a private copy that drifts. Imports nothing from pydfuse. Section numbers refer to
``shared/reference/dfuse-spec.md``.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

# §1.1 class codes
DFU_INTERFACE_CLASS = 0xFE
DFU_INTERFACE_SUBCLASS = 0x01
DFU_PROTOCOL_RUNTIME = 0x01
DFU_PROTOCOL_DFU_MODE = 0x02
DFU_FUNCTIONAL_DESCRIPTOR_TYPE = 0x21
DFU_FUNCTIONAL_DESCRIPTOR_LENGTH = 9

# bcdDFUVersion values (§1.1)
DFU_VERSION_1_0 = 0x0100
DFU_VERSION_1_1 = 0x0110
DFU_VERSION_DFUSE = 0x011A

# §1.2 bmRequestType for class requests to the interface
REQUEST_TYPE_OUT = 0x21
REQUEST_TYPE_IN = 0xA1

# USB standard request numbers (USB 2.0 §9.4) the simulator answers itself
STD_GET_STATUS = 0x00
STD_CLEAR_FEATURE = 0x01
STD_SET_FEATURE = 0x03
STD_SET_ADDRESS = 0x05
STD_GET_DESCRIPTOR = 0x06
STD_SET_DESCRIPTOR = 0x07
STD_GET_CONFIGURATION = 0x08
STD_SET_CONFIGURATION = 0x09
STD_GET_INTERFACE = 0x0A
STD_SET_INTERFACE = 0x0B

DESC_DEVICE = 0x01
DESC_CONFIGURATION = 0x02
DESC_STRING = 0x03
DESC_INTERFACE = 0x04
DESC_ENDPOINT = 0x05

GET_STATUS_LENGTH = 6  # §1.5
DFUSE_DATA_BLOCK_OFFSET = 2  # §2.3: address = pointer + (wBlockNum - 2) * wTransferSize


class Request(IntEnum):
    """DFU class requests, bRequest values (§1.2)."""

    DETACH = 0
    DNLOAD = 1
    UPLOAD = 2
    GETSTATUS = 3
    CLRSTATUS = 4
    GETSTATE = 5
    ABORT = 6


class State(IntEnum):
    """bState values (§1.3)."""

    APP_IDLE = 0
    APP_DETACH = 1
    DFU_IDLE = 2
    DFU_DNLOAD_SYNC = 3
    DFU_DNBUSY = 4
    DFU_DNLOAD_IDLE = 5
    DFU_MANIFEST_SYNC = 6
    DFU_MANIFEST = 7
    DFU_MANIFEST_WAIT_RESET = 8
    DFU_UPLOAD_IDLE = 9
    DFU_ERROR = 10


class Status(IntEnum):
    """bStatus values (§1.4)."""

    OK = 0x00
    ERR_TARGET = 0x01
    ERR_FILE = 0x02
    ERR_WRITE = 0x03
    ERR_ERASE = 0x04
    ERR_CHECK_ERASED = 0x05
    ERR_PROG = 0x06
    ERR_VERIFY = 0x07
    ERR_ADDRESS = 0x08
    ERR_NOTDONE = 0x09
    ERR_FIRMWARE = 0x0A
    ERR_VENDOR = 0x0B
    ERR_USBR = 0x0C
    ERR_POR = 0x0D
    ERR_UNKNOWN = 0x0E
    ERR_STALLEDPKT = 0x0F


STATUS_DESCRIPTIONS: dict[Status, str] = {
    Status.OK: "no error",
    Status.ERR_TARGET: "file is not targeted for this device, or the address is not allowed",
    Status.ERR_FILE: "file is for this device but fails a vendor-specific check",
    Status.ERR_WRITE: "device is unable to write memory",
    Status.ERR_ERASE: "memory erase failed",
    Status.ERR_CHECK_ERASED: "memory erase check failed",
    Status.ERR_PROG: "program memory function failed",
    Status.ERR_VERIFY: "programmed memory failed verification",
    Status.ERR_ADDRESS: "address is out of range",
    Status.ERR_NOTDONE: "zero-length download but the device expected more data",
    Status.ERR_FIRMWARE: "device firmware is corrupt; cannot return to run-time operation",
    Status.ERR_VENDOR: "vendor-specific error (ST: read protection is active)",
    Status.ERR_USBR: "unexpected USB reset",
    Status.ERR_POR: "unexpected power-on reset",
    Status.ERR_UNKNOWN: "unknown error",
    Status.ERR_STALLEDPKT: "device stalled an unexpected request",
}


class DfuseCommand(IntEnum):
    """First byte of a DfuSe DNLOAD with wBlockNum = 0 (§2.2)."""

    GET_COMMANDS = 0x00
    SET_ADDRESS_POINTER = 0x21
    ERASE = 0x41
    READ_UNPROTECT = 0x92


class Attributes(IntFlag):
    """bmAttributes of the DFU functional descriptor (§1.1)."""

    CAN_DNLOAD = 0x01
    CAN_UPLOAD = 0x02
    MANIFESTATION_TOLERANT = 0x04
    WILL_DETACH = 0x08


class MemoryRights(IntFlag):
    """Low three bits of a layout type letter 'a'..'g' (§3.2)."""

    READABLE = 0x01
    ERASABLE = 0x02
    WRITABLE = 0x04
