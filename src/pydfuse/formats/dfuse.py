"""DfuSe ``.dfu`` files: model, strict reader, exact writer (layer: formats).

Imports pydfuse.errors and the sibling formats modules only. Layout (§4.1–§4.5 of
dfuse-spec.md)::

    prefix (11)  "DfuSe" | bVersion=1 | DFUImageSize u32 | bTargets u8
    target (274) "Target" | bAlternateSetting u8 | bTargetNamed u32 | szTargetName[255]
                 | dwTargetSize u32 | dwNbElements u32,   then the elements:
    element      dwElementAddress u32 | dwElementSize u32 | data
    suffix (16)  bcdDFU = 0x011A

Reading keeps what a byte-exact rewrite needs (the DFUImageSize convention, the raw
bTargetNamed value, the raw 255-byte name field). Offsets in error messages are byte offsets
into the file; targets and elements are numbered from 0.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Literal

from pydfuse.errors import FormatError
from pydfuse.formats.atomic import atomic_write, read_file_bytes
from pydfuse.formats.image import Image, Segment
from pydfuse.formats.suffix import (
    BCD_DFUSE,
    SUFFIX_LENGTH,
    DfuSuffix,
    append_suffix,
    split_suffix,
)

__all__ = [
    "DEFAULT_TARGET_NAME",
    "DFUSE_SIGNATURE",
    "DfuseFile",
    "DfuseTarget",
    "ImageSizeConvention",
    "read_file_bytes",  # (it lives in atomic; kept here for its importers)
]

DFUSE_SIGNATURE = b"DfuSe"
TARGET_SIGNATURE = b"Target"
DEFAULT_TARGET_NAME = "ST..."  # what ST's tools, dfuse-pack and micropython write (§4.9)
NAME_FIELD_LENGTH = 255
_PREFIX = struct.Struct("<5sBIB")  # 11 bytes, §4.2
_TARGET = struct.Struct("<6sBI255sII")  # 274 bytes, §4.3
_ELEMENT = struct.Struct("<II")  # 8 bytes, §4.4

# "len-16": ST's convention, DFUImageSize = file length - 16 (§4.2) — what we write.
# "len": dfuse-pack.py's, the full file length.  "raw": anything else, kept as found.
ImageSizeConvention = Literal["len-16", "len", "raw"]


def _decode_name(field_bytes: bytes) -> str:
    raw = field_bytes.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _encode_name(name: str) -> bytes:
    raw = name.encode("utf-8")
    if b"\0" in raw or len(raw) >= NAME_FIELD_LENGTH:
        raise FormatError(
            f"target name {name!r} must be under {NAME_FIELD_LENGTH} bytes and contain no NUL"
        )
    return raw.ljust(NAME_FIELD_LENGTH, b"\0")


@dataclass(frozen=True, slots=True)
class DfuseTarget:
    """One target: the elements for alternate setting ``alt``.

    ``name_bytes`` is the raw 255-byte name field as read (bytes after the NUL are not always
    zero in ST's files, §4.3); it is written back only while it still spells ``name``.
    ``named_value`` is the raw bTargetNamed (``None``: 1 if ``named`` else 0).
    """

    alt: int
    name: str = DEFAULT_TARGET_NAME
    elements: tuple[Segment, ...] = ()
    named: bool = True
    name_bytes: bytes | None = field(default=None, repr=False)
    named_value: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.alt <= 0xFF:
            raise FormatError(f"alternate setting {self.alt} is outside 0..255")
        if self.name_bytes is not None and len(self.name_bytes) != NAME_FIELD_LENGTH:
            raise FormatError(f"name_bytes must be {NAME_FIELD_LENGTH} bytes")
        for element in self.elements:
            if not 0 <= element.address <= 0xFFFFFFFF or len(element.data) > 0xFFFFFFFF:
                raise FormatError(
                    f"element at 0x{element.address:x} does not fit DfuSe's 32-bit fields"
                )

    @classmethod
    def from_image(cls, alt: int, image: Image, name: str = DEFAULT_TARGET_NAME) -> DfuseTarget:
        """A named target with one element per segment of ``image`` (sorted, merged)."""
        return cls(alt=alt, name=name, elements=image.segments)

    @property
    def image(self) -> Image:
        """The elements merged into one image; overlapping elements raise FormatError."""
        return Image.from_segments(self.elements)

    @property
    def size(self) -> int:
        """Data bytes in all elements."""
        return sum(len(e.data) for e in self.elements)

    def name_field(self) -> bytes:
        """The 255-byte szTargetName to write."""
        if self.name_bytes is not None and _decode_name(self.name_bytes) == self.name:
            return self.name_bytes
        return _encode_name(self.name)

    def header_bytes(self) -> bytes:
        """The 274-byte target prefix (§4.3)."""
        named = self.named_value if self.named_value is not None else int(self.named)
        target_size = sum(_ELEMENT.size + len(e.data) for e in self.elements)
        if target_size > 0xFFFFFFFF or len(self.elements) > 0xFFFFFFFF:
            raise FormatError(f"target for alt {self.alt} is too large for a DfuSe file")
        return _TARGET.pack(
            TARGET_SIGNATURE, self.alt, named, self.name_field(), target_size, len(self.elements)
        )


@dataclass(frozen=True, slots=True)
class DfuseFile:
    """A DfuSe file: targets plus the suffix IDs (§4). ``warnings`` lists tolerated quirks."""

    targets: tuple[DfuseTarget, ...]
    vid: int = 0x0483
    pid: int = 0xDF11
    bcd_device: int = 0xFFFF
    bcd_dfu: int = BCD_DFUSE
    image_size_convention: ImageSizeConvention = "len-16"
    image_size_raw: int = 0  # the stored DFUImageSize, used only with convention "raw"
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if len(self.targets) > 0xFF:
            raise FormatError(f"{len(self.targets)} targets; a DfuSe file holds at most 255")
        DfuSuffix(self.bcd_device, self.pid, self.vid, self.bcd_dfu)  # range checks

    @property
    def suffix(self) -> DfuSuffix:
        """The suffix fields of this file."""
        return DfuSuffix(self.bcd_device, self.pid, self.vid, self.bcd_dfu)

    def image(self, alt: int) -> Image:
        """All elements of every target for ``alt``, merged."""
        return Image.from_segments(e for t in self.targets if t.alt == alt for e in t.elements)

    def to_bytes(self) -> bytes:
        """The file, byte for byte (DFUImageSize as ``image_size_convention`` says)."""
        parts: list[bytes] = [b""]
        for target in self.targets:
            parts.append(target.header_bytes())
            for element in target.elements:
                parts.append(_ELEMENT.pack(element.address, len(element.data)))
                parts.append(element.data)
        body_length = _PREFIX.size + sum(len(p) for p in parts)
        if self.image_size_convention == "len-16":
            image_size = body_length
        elif self.image_size_convention == "len":
            image_size = body_length + SUFFIX_LENGTH
        else:
            image_size = self.image_size_raw
        if image_size > 0xFFFFFFFF:
            raise FormatError(f"DfuSe file of {body_length} bytes exceeds the 4 GiB format limit")
        parts[0] = _PREFIX.pack(DFUSE_SIGNATURE, 1, image_size, len(self.targets))
        return append_suffix(b"".join(parts), self.suffix)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write atomically (nothing half-written on error)."""
        atomic_write(path, self.to_bytes())

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> DfuseFile:
        """Read and strictly check a DfuSe file."""
        return cls.from_bytes(read_file_bytes(path), path=str(path))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, path: str | None = None) -> DfuseFile:
        """Parse ``data``; raises FormatError/ChecksumError naming the field and offset."""
        return _parse(memoryview(data).cast("B") if isinstance(data, memoryview) else data, path)


class _Cursor:
    """Walks the body of a file (suffix excluded) with bounds checks naming each field."""

    def __init__(self, data: bytes | bytearray | memoryview, end: int, path: str | None) -> None:
        self.data = data
        self.end = end
        self.path = path
        self.pos = 0

    def fail(self, message: str, offset: int | None = None) -> FormatError:
        return FormatError(message, path=self.path, offset=self.pos if offset is None else offset)

    def need(self, size: int, what: str) -> int:
        """Offset of ``size`` bytes for ``what``; fail if they are not all there."""
        remaining = self.end - self.pos
        if size > remaining:
            raise self.fail(f"{what} needs {size} bytes but only {remaining} remain")
        start = self.pos
        self.pos += size
        return start


def _parse(data: bytes | bytearray | memoryview, path: str | None) -> DfuseFile:
    payload, suffix = split_suffix(data, path=path)
    cur = _Cursor(data, len(payload), path)
    signature, version, image_size, n_targets = _PREFIX.unpack_from(
        data, cur.need(_PREFIX.size, "the DfuSe prefix")
    )
    if signature != DFUSE_SIGNATURE:
        raise cur.fail(f"signature is {bytes(signature)!r}, expected b'DfuSe'", 0)
    if version != 1:
        raise cur.fail(f"DfuSe bVersion is {version}, only version 1 exists", 5)
    warnings: list[str] = []
    if suffix.bcd_dfu != BCD_DFUSE:
        warnings.append(f"suffix bcdDFU is 0x{suffix.bcd_dfu:04x}, DfuSe files use 0x011a")
    if n_targets * _TARGET.size > cur.end - cur.pos:  # fail fast on absurd counts
        raise cur.fail(
            f"bTargets says {n_targets} targets ({n_targets * _TARGET.size} bytes of headers) "
            f"but only {cur.end - cur.pos} bytes remain",
            10,
        )
    targets = tuple(_parse_target(cur, index) for index in range(n_targets))
    if cur.pos != cur.end:
        raise cur.fail(f"{cur.end - cur.pos} unexpected bytes after the last target")
    # A suffix longer than 16 bytes (§4.9) does not count: DFUImageSize conventions are about
    # the standard suffix.
    standard_length = len(payload) + SUFFIX_LENGTH
    convention, raw = _image_size_convention(image_size, standard_length, warnings)
    if not targets:
        warnings.append("the file holds no targets")
    return DfuseFile(
        targets=targets,
        vid=suffix.vid,
        pid=suffix.pid,
        bcd_device=suffix.bcd_device,
        bcd_dfu=suffix.bcd_dfu,
        image_size_convention=convention,
        image_size_raw=raw,
        warnings=tuple(warnings),
    )


def _image_size_convention(
    stored: int, file_length: int, warnings: list[str]
) -> tuple[ImageSizeConvention, int]:
    # §4.2: ST writes length - 16, dfuse-pack.py the full length; readers ignore the field.
    if stored == file_length - SUFFIX_LENGTH:
        return "len-16", 0
    if stored == file_length:
        warnings.append(
            f"DFUImageSize is {stored}, the full file length (dfuse-pack style); "
            f"ST's tools write {file_length - SUFFIX_LENGTH}"
        )
        return "len", 0
    warnings.append(
        f"DFUImageSize is {stored}, expected {file_length - SUFFIX_LENGTH} (file length - 16)"
    )
    return "raw", stored


def _parse_target(cur: _Cursor, index: int) -> DfuseTarget:
    start = cur.need(_TARGET.size, f"target {index} header")
    signature, alt, named, name_field, target_size, n_elements = _TARGET.unpack_from(
        cur.data, start
    )
    if signature != TARGET_SIGNATURE:
        raise cur.fail(
            f"target {index}: signature is {bytes(signature)!r}, expected b'Target'", start
        )
    remaining = cur.end - cur.pos
    if target_size > remaining:
        raise cur.fail(
            f"target {index} claims {target_size} bytes of elements but only {remaining} remain",
            start + 266,
        )
    if n_elements * _ELEMENT.size > target_size:
        raise cur.fail(
            f"target {index} claims {n_elements} elements, which cannot fit in its "
            f"{target_size} bytes",
            start + 270,
        )
    body_start = cur.pos
    elements = []
    for number in range(n_elements):
        at = cur.need(_ELEMENT.size, f"element {number} of target {index} header")
        address, size = _ELEMENT.unpack_from(cur.data, at)
        if size > cur.end - cur.pos:
            raise cur.fail(
                f"element {number} of target {index} claims {size} bytes but only "
                f"{cur.end - cur.pos} remain",
                at + 4,
            )
        if address + size > 1 << 32:
            raise cur.fail(
                f"element {number} of target {index} at 0x{address:08x} with {size} bytes "
                "runs past the 32-bit address space",
                at,
            )
        elements.append(Segment(address, bytes(cur.data[cur.pos : cur.pos + size])))
        cur.pos += size
    if cur.pos - body_start != target_size:
        raise cur.fail(
            f"target {index}: dwTargetSize says {target_size} bytes but its elements take "
            f"{cur.pos - body_start}",
            start + 266,
        )
    name_bytes = bytes(name_field)
    name = _decode_name(name_bytes)
    canonical = name_bytes == name.encode("utf-8").ljust(NAME_FIELD_LENGTH, b"\0")
    return DfuseTarget(
        alt=alt,
        name=name,
        elements=tuple(elements),
        named=bool(named),
        name_bytes=None if canonical else name_bytes,
        named_value=named if named not in (0, 1) else None,
    )
