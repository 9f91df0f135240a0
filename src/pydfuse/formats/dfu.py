"""DFU files, both kinds: DfuSe (.dfu, §4) and plain DFU 1.1 with a suffix (§4.8)
(layer: formats; imports pydfuse.errors and the sibling formats modules only).

This is the public face of ``dfuse.py``, ``plain.py`` and ``suffix.py``; :func:`read_dfu`
decides which kind a file is.
"""

from __future__ import annotations

import os

from pydfuse.errors import FormatError
from pydfuse.formats.dfuse import (
    DEFAULT_TARGET_NAME,
    DFUSE_SIGNATURE,
    DfuseFile,
    DfuseTarget,
    ImageSizeConvention,
    read_file_bytes,
)
from pydfuse.formats.image import Segment
from pydfuse.formats.plain import PlainDfuFile
from pydfuse.formats.suffix import (
    BCD_DFU_1_1,
    BCD_DFUSE,
    DfuSuffix,
    SuffixInfo,
    append_suffix,
    dfu_crc,
    has_suffix,
    inspect_suffix,
    split_suffix,
)

__all__ = [
    "BCD_DFUSE",
    "BCD_DFU_1_1",
    "DEFAULT_TARGET_NAME",
    "DfuSuffix",
    "DfuseElement",
    "DfuseFile",
    "DfuseTarget",
    "ImageSizeConvention",
    "PlainDfuFile",
    "SuffixInfo",
    "append_suffix",
    "dfu_crc",
    "has_suffix",
    "inspect_suffix",
    "parse_dfu",
    "read_dfu",
    "split_suffix",
]

DfuseElement = Segment  # a DfuSe image element is exactly an address + bytes (§4.4)


def _not_dfu_hint(head: bytes) -> str:
    """What a file that is not a DFU file looks like, so the user can name it right."""
    stripped = head.lstrip()
    if head.startswith(b"\x7fELF"):
        kind = "an ELF file"
    elif stripped[:1] == b":":
        kind = "an Intel HEX file"
    elif stripped[:1] == b"S" and stripped[1:2].isdigit():
        kind = "an S-record file"
    else:
        return "build a .dfu with dfuse pack, or add a suffix with dfuse suffix add"
    return f"it looks like {kind}: give it the matching extension, or pack it with dfuse pack"


def parse_dfu(
    data: bytes | bytearray | memoryview, path: str | None = None
) -> DfuseFile | PlainDfuFile:
    """A DfuSe file if ``data`` starts with the "DfuSe" signature, else a plain DFU file.

    Both need a valid suffix. A DfuSe-signed file with bcdDFU other than 0x011A still parses as
    DfuSe (with a warning); a plain file whose suffix says 0x011A gets a warning too.
    """
    if bytes(data[: len(DFUSE_SIGNATURE)]) == DFUSE_SIGNATURE:
        return DfuseFile.from_bytes(data, path=path)
    if not data:
        raise FormatError("the file is empty, not a DFU file", path=path)
    if inspect_suffix(data, path=path) is None:
        raise FormatError(
            "not a DFU file: it neither starts with 'DfuSe' nor ends with a DFU suffix",
            path=path,
            hint=_not_dfu_hint(bytes(data[:8])),
        )
    plain = PlainDfuFile.from_bytes(data, path=path)
    if plain.suffix.bcd_dfu == BCD_DFUSE:
        note = "suffix bcdDFU is 0x011a (DfuSe) but the file has no 'DfuSe' prefix"
        kept = tuple(w for w in plain.warnings if not w.startswith("suffix bcdDFU"))
        return PlainDfuFile(plain.payload, plain.suffix, (*kept, note))
    return plain


def read_dfu(path: str | os.PathLike[str]) -> DfuseFile | PlainDfuFile:
    """Read ``path`` as a DfuSe or plain DFU file (see :func:`parse_dfu`)."""
    return parse_dfu(read_file_bytes(path), path=str(path))
