"""Load and save firmware images: Intel HEX, S-record, ELF, raw binary (layer: formats).

Imports bincopy and pyelftools (inside the functions using them, so a command reading a .dfu
does not pay for them), pydfuse.errors and the sibling formats modules. HEX and S-record
records are decoded by bincopy and put together by :mod:`pydfuse.formats.records` (Intel HEX
takes the fast path in :mod:`pydfuse.formats.ihex` first; both refuse overlapping data), ELF
through pyelftools using each PT_LOAD segment's *load* address ``p_paddr`` — where the bytes
must be flashed — not its run address ``p_vaddr`` (they differ for initialised data copied
from flash to RAM at start-up).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydfuse.errors import DfuseError, FormatError
from pydfuse.formats.atomic import atomic_write
from pydfuse.formats.dfuse import DFUSE_SIGNATURE, read_file_bytes
from pydfuse.formats.ihex import ihex_chunks, parse_ihex_fast
from pydfuse.formats.image import Image, Segment
from pydfuse.formats.suffix import strip_suffix

__all__ = [
    "ImageFormat",
    "SaveFormat",
    "detect_format",
    "image_from_bytes",
    "image_to_bytes",
    "load_image",
    "save_image",
]

ImageFormat = Literal["ihex", "srec", "elf", "bin", "dfu"]
SaveFormat = Literal["hex", "srec", "bin"]

_EXTENSIONS: dict[str, ImageFormat] = {
    **dict.fromkeys((".hex", ".ihex", ".ihx"), "ihex"),
    **dict.fromkeys((".s19", ".s28", ".s37", ".srec", ".mot", ".s"), "srec"),
    **dict.fromkeys((".elf", ".axf", ".out"), "elf"),
    ".bin": "bin",
    ".dfu": "dfu",
}
_SAVE_EXTENSIONS: dict[str, SaveFormat] = {
    **dict.fromkeys((".hex", ".ihex", ".ihx"), "hex"),
    **dict.fromkeys((".s19", ".s28", ".s37", ".srec", ".mot", ".s"), "srec"),
    ".bin": "bin",
}
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def _sniff(data: bytes) -> ImageFormat | None:
    """Guess the format from the contents (used when the extension says nothing)."""
    if data.startswith(b"\x7fELF"):
        return "elf"
    if data.startswith(DFUSE_SIGNATURE):
        return "dfu"
    head = data[:64].lstrip()
    if head[:1] == b":" and len(head) > 1 and all(c in _HEX_DIGITS for c in head[1:9]):
        return "ihex"
    if head[:1] == b"S" and head[1:2].isdigit() and all(c in _HEX_DIGITS for c in head[2:8]):
        return "srec"
    return None


def detect_format(path: str | os.PathLike[str], data: bytes | None = None) -> ImageFormat | None:
    """The format of ``path`` by extension, else by sniffing ``data``; None if unknown."""
    by_extension = _EXTENSIONS.get(Path(path).suffix.lower())
    if by_extension is not None:
        return by_extension
    return _sniff(data) if data is not None else None


def load_image(
    path: str | os.PathLike[str], *, address: int | None = None, notes: list[str] | None = None
) -> Image:
    """Load a HEX, S-record, ELF or raw binary file (raw needs ``address``).

    Raises :class:`FormatError` for malformed files, overlapping data (identical overlapping
    bytes of a HEX/S-record file merge, with a note appended to ``notes``), a .bin without an
    address, or a .dfu file (read those with :func:`pydfuse.formats.read_dfu`).
    """
    data = read_file_bytes(path)
    fmt = detect_format(path, data)
    return image_from_bytes(data, fmt, address=address, path=str(path), notes=notes)


def image_from_bytes(
    data: bytes,
    fmt: ImageFormat | None,
    *,
    address: int | None = None,
    path: str | None = None,
    notes: list[str] | None = None,
) -> Image:
    """Decode ``data`` in format ``fmt`` (None: sniff; unknown content is raw binary); notes
    (identical overlapping bytes merged) are appended to ``notes``."""
    if not data:
        raise FormatError("the file is empty", path=path)
    if fmt is None:
        fmt = _sniff(data) or "bin"
    if address is not None and fmt != "bin":
        raise FormatError(
            f"an address (0x{address:08x}) applies only to raw binary files, not {fmt} files",
            path=path,
            hint="HEX, S-record and ELF files carry their own addresses; drop the address "
            "(@ADDR, --address or -s)",
        )
    if fmt == "dfu":
        what = "a DfuSe .dfu file" if data.startswith(b"DfuSe") else "named .dfu"
        raise FormatError(
            f"this file is {what}, a container of images, not one firmware image "
            "(read it with read_dfu)",
            path=path,
            hint="to get its images as files: dfuse unpack FILE -o DIR",
        )
    if fmt in ("ihex", "srec"):
        return _load_records(data, fmt, path, notes)
    if fmt == "elf":
        return _load_elf(data, path)
    return _load_bin(data, address, path, notes)


def _load_bin(data: bytes, address: int | None, path: str | None, notes: list[str] | None) -> Image:
    """A raw binary at ``address``; a DFU suffix it ends with is left out, with a note."""
    if address is None:
        raise FormatError(
            "a raw binary file needs a load address",
            path=path,
            hint="give it as FILE@ADDR (e.g. app.bin@0x08000000) or with --address",
        )
    data, _, note = strip_suffix(data, path=path)
    if note is not None and notes is not None:
        notes.append(note)
    if not data:
        raise FormatError("the binary file is empty", path=path)
    return Image.from_segments([Segment(address, data)], source=path)


def _load_records(
    data: bytes, kind: Literal["ihex", "srec"], path: str | None, notes: list[str] | None
) -> Image:
    """An Intel HEX or S-record file: the fast path for plain Intel HEX, else record by record
    (:mod:`pydfuse.formats.records`); overlapping data is refused on both (identical bytes
    merge, with a note appended to ``notes``)."""
    what = "Intel HEX" if kind == "ihex" else "S-record"
    fast = parse_ihex_fast(data, path) if kind == "ihex" else None
    if fast is None:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError as error:
            hint = (
                "it starts with 'DfuSe': it is a .dfu file; rename it .dfu"
                if data.startswith(b"DfuSe")
                else ("it is an ELF file; rename it .elf" if data.startswith(b"\x7fELF") else None)
            )
            raise FormatError(
                f"not a text {what} file (non-ASCII byte)", path=path, offset=error.start, hint=hint
            ) from None
        from pydfuse.formats.records import read_records  # bincopy: only when needed

        fast = read_records(text, kind, path=path)
    image, found = fast
    if notes is not None:
        notes.extend(found)
    return image


def _load_elf(data: bytes, path: str | None) -> Image:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(data))
        segments = []
        for segment in elf.iter_segments():
            header = segment.header
            if header.p_type != "PT_LOAD" or header.p_filesz == 0:
                continue
            payload = segment.data()[: header.p_filesz]
            if len(payload) != header.p_filesz:
                raise FormatError(
                    f"PT_LOAD segment at 0x{header.p_paddr:x} is cut short", path=path
                )
            segments.append(Segment(header.p_paddr, payload))
    except DfuseError:
        raise
    except (ELFError, ValueError, KeyError, IndexError, EOFError, OSError) as error:
        raise FormatError(f"not a valid ELF file: {error}", path=path) from None
    except Exception as error:  # pyelftools raises assorted errors on hostile input
        raise FormatError(
            f"not a valid ELF file ({type(error).__name__}: {error})", path=path
        ) from None
    if not segments:
        raise FormatError("the ELF file has no loadable (PT_LOAD) data", path=path)
    return Image.from_segments(segments, source=path)


def save_image(
    image: Image,
    path: str | os.PathLike[str],
    fmt: SaveFormat | None = None,
    *,
    fill: int | None = None,
) -> None:
    """Write ``image`` as Intel HEX, S-record or raw binary (by ``fmt`` or the extension).

    A binary file holds one contiguous run: an image with gaps is refused unless ``fill`` (a
    byte value, e.g. 0xFF) says what to put in them. Written atomically.
    """
    if fmt is None:
        fmt = _SAVE_EXTENSIONS.get(Path(path).suffix.lower())
        if fmt is None:
            raise FormatError(
                f"cannot tell the output format from the name {Path(path).name!r}",
                hint="use .hex, .s19/.srec or .bin, or pass the format explicitly",
            )
    atomic_write(path, image_chunks(image, fmt, fill=fill))


def image_to_bytes(image: Image, fmt: SaveFormat, *, fill: int | None = None) -> bytes:
    """The file contents of ``image`` in ``fmt`` (see :func:`save_image`)."""
    return b"".join(image_chunks(image, fmt, fill=fill))


def image_chunks(image: Image, fmt: SaveFormat, *, fill: int | None = None) -> Iterator[bytes]:
    """The file contents of ``image`` in ``fmt``, in pieces (Intel HEX is produced as it is
    written: a 64 MiB image would be 152 MiB of text). Errors come at the first piece."""
    if fmt == "hex":
        return ihex_chunks(image)
    return iter((_image_bytes(image, fmt, fill=fill),))


def _image_bytes(image: Image, fmt: SaveFormat, *, fill: int | None = None) -> bytes:
    import bincopy

    if fmt == "bin":
        if len(image) > 1 and fill is None:
            raise FormatError(
                f"the image has {len(image)} separate runs (first gap at "
                f"0x{image.segments[0].end:08x}); a .bin holds one contiguous run",
                hint="write one .bin per run, or fill the gaps (e.g. with 0xFF)",
            )
        return image.read(image.start, image.end - image.start, fill if fill is not None else 0xFF)
    binfile = bincopy.BinFile()
    for segment in image:
        binfile.add_binary(segment.data, address=segment.address)
    text: str = binfile.as_srec()
    return text.encode("ascii")
