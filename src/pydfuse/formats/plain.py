"""Plain DFU 1.1 files: firmware bytes followed by a DFU suffix (layer: formats).

Imports pydfuse.errors and the sibling formats modules only (§4.8 of dfuse-spec.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pydfuse.formats.atomic import atomic_write
from pydfuse.formats.dfuse import read_file_bytes
from pydfuse.formats.suffix import (
    BCD_DFU_1_1,
    BCD_DFU_1_1_XMOS,
    SUFFIX_LENGTH,
    DfuSuffix,
    append_suffix,
    split_suffix,
)

__all__ = ["PlainDfuFile"]


@dataclass(frozen=True, slots=True)
class PlainDfuFile:
    """Raw firmware (``payload``) for a non-DfuSe device plus its suffix (§4.8)."""

    payload: bytes
    suffix: DfuSuffix = field(default_factory=DfuSuffix)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_bytes(self) -> bytes:
        """Payload + suffix + CRC."""
        return append_suffix(self.payload, self.suffix)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write atomically (nothing half-written on error)."""
        atomic_write(path, self.to_bytes())

    @classmethod
    def from_bytes(
        cls, data: bytes | bytearray | memoryview, path: str | None = None
    ) -> PlainDfuFile:
        """Split ``data`` into payload and suffix; FormatError/ChecksumError if it has none
        or its CRC is wrong."""
        payload, suffix = split_suffix(data, path=path)
        warnings = []
        extra = len(data) - len(payload) - SUFFIX_LENGTH
        if extra:  # fwupd writes such files (§4.9); dfu-util does not send those bytes either
            warnings.append(
                f"the DFU suffix is {extra + SUFFIX_LENGTH} bytes long (bLength > 16): the "
                f"{extra} bytes before its standard 16 are part of it, not firmware"
            )
        # 0x0100 is the norm, 0x0110 comes from an XMOS header (§4.8); anything else is odd.
        if suffix.bcd_dfu not in (BCD_DFU_1_1, BCD_DFU_1_1_XMOS):
            warnings.append(f"suffix bcdDFU is 0x{suffix.bcd_dfu:04x}; plain DFU files use 0x0100")
        return cls(bytes(payload), suffix, tuple(warnings))

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> PlainDfuFile:
        """Read a plain DFU file."""
        return cls.from_bytes(read_file_bytes(path), path=str(path))
