"""The 16-byte DFU suffix and its CRC (layer: formats; imports pydfuse.errors only).

Layout (§4.5 of dfuse-spec.md), little-endian, the last 16 bytes of a file::

    bcdDevice u16 | idProduct u16 | idVendor u16 | bcdDFU u16 | "UFD" | bLength=16 | dwCRC u32

dwCRC is the "JAMCRC" of every byte of the file except the last four (§4.6). bLength may be
larger than 16 (fwupd writes such plain DFU files, §4.9): the suffix then starts bLength bytes
before the end, and the bytes before the standard 16 belong to it, not to the firmware, as
dfu-util reads it (bLength 16..file size).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import PurePath

from pydfuse.errors import ChecksumError, FormatError

__all__ = [
    "BCD_DFUSE",
    "BCD_DFU_1_1",
    "SUFFIX_LENGTH",
    "SUFFIX_SIGNATURE",
    "DfuSuffix",
    "SuffixInfo",
    "append_suffix",
    "dfu_crc",
    "has_suffix",
    "inspect_suffix",
    "split_suffix",
    "strip_suffix",
]

SUFFIX_LENGTH = 16
SUFFIX_SIGNATURE = b"UFD"  # "DFU" reversed, §4.5
BCD_DFU_1_1 = 0x0100  # plain DFU files (§4.8)
BCD_DFU_1_1_XMOS = 0x0110  # one XMOS header writes this on plain files (§4.8, §4.9)
BCD_DFUSE = 0x011A  # DfuSe files (§4.5)
_FIELDS = struct.Struct("<4H3sB")  # the 12 bytes before dwCRC
_CRC = struct.Struct("<I")


def dfu_crc(data: bytes | bytearray | memoryview) -> int:
    """CRC-32 without the final XOR ("JAMCRC"), as the DFU suffix uses it (§4.6).

    ``dfu_crc(b"123456789") == 0x340BC6D9``.
    """
    return zlib.crc32(data) ^ 0xFFFFFFFF


def _check_u16(name: str, value: int) -> None:
    if not 0 <= value <= 0xFFFF:
        raise FormatError(f"suffix {name} 0x{value:x} does not fit in 16 bits")


@dataclass(frozen=True, slots=True)
class DfuSuffix:
    """The identifying fields of a DFU suffix; 0xFFFF in an ID means "any device" (§4.5)."""

    bcd_device: int = 0xFFFF
    pid: int = 0xFFFF
    vid: int = 0xFFFF
    bcd_dfu: int = BCD_DFU_1_1

    def __post_init__(self) -> None:
        for name in ("bcd_device", "pid", "vid", "bcd_dfu"):
            _check_u16(name, getattr(self, name))

    def fields_bytes(self) -> bytes:
        """The first 12 suffix bytes (everything the CRC covers from the suffix)."""
        return _FIELDS.pack(
            self.bcd_device, self.pid, self.vid, self.bcd_dfu, SUFFIX_SIGNATURE, SUFFIX_LENGTH
        )


@dataclass(frozen=True, slots=True)
class SuffixInfo:
    """A suffix as found in a file, with the stored and the computed CRC."""

    suffix: DfuSuffix
    crc_stored: int
    crc_computed: int
    length: int = SUFFIX_LENGTH  # bLength: bytes at the end of the file that are suffix

    @property
    def extra(self) -> int:
        """Bytes of the suffix before its standard 16 (0 for an ordinary suffix)."""
        return self.length - SUFFIX_LENGTH

    @property
    def crc_ok(self) -> bool:
        """True if the stored CRC matches the file's contents."""
        return self.crc_stored == self.crc_computed


def append_suffix(payload: bytes | bytearray | memoryview, suffix: DfuSuffix) -> bytes:
    """``payload`` followed by ``suffix`` and the CRC over both (§4.6)."""
    body = bytes(payload) + suffix.fields_bytes()
    return body + _CRC.pack(dfu_crc(body))


def has_suffix(data: bytes | bytearray | memoryview) -> bool:
    """True if ``data`` ends with something shaped like a DFU suffix (signature and length)."""
    return (
        len(data) >= SUFFIX_LENGTH
        and bytes(data[-8:-5]) == SUFFIX_SIGNATURE
        and SUFFIX_LENGTH <= data[-5] <= len(data)
    )


def inspect_suffix(
    data: bytes | bytearray | memoryview, *, path: str | None = None
) -> SuffixInfo | None:
    """The suffix of ``data`` without judging the CRC; ``None`` if there is no suffix.

    Raises :class:`FormatError` if the "UFD" signature is there but bLength is below 16 or
    longer than the file (the limits dfu-util applies, §4.6).
    """
    if len(data) < SUFFIX_LENGTH or bytes(data[-8:-5]) != SUFFIX_SIGNATURE:
        return None
    start = len(data) - SUFFIX_LENGTH
    bcd_device, pid, vid, bcd_dfu, _sig, length = _FIELDS.unpack_from(data, start)
    if not SUFFIX_LENGTH <= length <= len(data):
        raise FormatError(
            f"DFU suffix bLength is {length}: it must be at least {SUFFIX_LENGTH} and at most "
            f"the file's {len(data)} bytes",
            path=path,
            offset=len(data) - 5,
        )
    (crc_stored,) = _CRC.unpack_from(data, len(data) - 4)
    crc_computed = dfu_crc(memoryview(data)[:-4])
    return SuffixInfo(
        DfuSuffix(bcd_device, pid, vid, bcd_dfu), crc_stored, crc_computed, int(length)
    )


def split_suffix(
    data: bytes | bytearray | memoryview, *, path: str | None = None
) -> tuple[memoryview, DfuSuffix]:
    """``(payload, suffix)`` of a file that must end with a valid suffix; the payload leaves
    out the whole suffix (bLength bytes, see the module docstring).

    Raises :class:`FormatError` if the suffix is missing or malformed and
    :class:`ChecksumError` if its CRC does not match.
    """
    info = inspect_suffix(data, path=path)
    if info is None:
        offset = max(len(data) - SUFFIX_LENGTH, 0)
        raise FormatError(
            "no DFU suffix (the file does not end with the 'UFD' signature)"
            if len(data) >= SUFFIX_LENGTH
            else f"file is {len(data)} bytes, too short for a {SUFFIX_LENGTH}-byte DFU suffix",
            path=path,
            offset=offset,
            hint="add one with: dfuse suffix add FILE",
        )
    if not info.crc_ok:
        raise ChecksumError(
            f"DFU suffix CRC mismatch: file says 0x{info.crc_stored:08x}, contents give "
            f"0x{info.crc_computed:08x}",
            path=path,
            offset=len(data) - 4,
            hint="the file is corrupt or was modified after the suffix was added",
        )
    return memoryview(data)[: len(data) - info.length], info.suffix


def strip_suffix(
    data: bytes | bytearray | memoryview, *, path: str | None = None
) -> tuple[bytes, DfuSuffix | None, str | None]:
    """A raw binary's firmware: ``(payload, suffix, note)`` — ``data`` without the DFU suffix
    it ends with (never firmware: dfu-util strips it too) and a note saying so, or ``data``
    itself, None and None when it has none.

    Raises :class:`ChecksumError` for a suffix whose CRC does not match (the file was changed
    after the suffix was added) and :class:`FormatError` for a malformed one.
    """
    if inspect_suffix(data, path=path) is None:
        return bytes(data), None, None
    payload, suffix = split_suffix(data, path=path)
    name = PurePath(path).name if path else "the file"
    note = (
        f"{name} ends with a {len(data) - len(payload)}-byte DFU suffix (VID "
        f"0x{suffix.vid:04x}, PID 0x{suffix.pid:04x}): it was stripped, only the "
        f"{len(payload)} bytes before it are firmware"
    )
    return bytes(payload), suffix, note
