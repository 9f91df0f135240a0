"""What to flash: paths, images and DFU files turned into per-alternate jobs (layer: ops).

Imports ``pydfuse.formats`` and ``pydfuse.errors``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from pydfuse.errors import FormatError
from pydfuse.formats import (
    DfuseFile,
    DfuSuffix,
    Image,
    PlainDfuFile,
    Segment,
    detect_format,
    load_image,
    read_dfu,
    strip_suffix,
)
from pydfuse.formats.dfuse import read_file_bytes


@dataclass(frozen=True, slots=True)
class ImageSource:
    """An image for one alternate (number, or name/prefix; None = the selector's or the first)."""

    image: Image
    alt: int | str | None = None
    name: str | None = None
    notes: tuple[str, ...] = ()  # what loading it said (a DFU suffix left out, ...)


FirmwareSource = Union[
    str, "os.PathLike[str]", Image, ImageSource, DfuseFile, PlainDfuFile, "Firmware"
]
"""A path (.dfu: every target to its alternate; plain DFU file; .hex/.s19/.elf; .bin needs an
address), an :class:`Image` (goes to the selected alternate), an :class:`ImageSource`, an
already-read :class:`DfuseFile` / :class:`PlainDfuFile`, or :class:`Firmware` already loaded
(:func:`raw_firmware`)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One image for one alternate; ``elements`` are a DfuSe target's elements in file order
    (for the element-order check, §4.9)."""

    alt: int | str | None
    name: str | None
    image: Image
    elements: tuple[Segment, ...] = ()


@dataclass(frozen=True, slots=True)
class Firmware:
    """Loaded firmware: DfuSe jobs, or the raw payload of a plain DFU file."""

    jobs: tuple[Job, ...] = ()
    plain: PlainDfuFile | None = None
    suffix: DfuSuffix | None = None
    warnings: tuple[str, ...] = ()
    raw_path: str | None = None  # a raw .bin given without an address (``plain`` holds it)

    def addresses_error(self) -> FormatError:
        """Why this firmware cannot go to a DfuSe device: it has no addresses."""
        if self.raw_path is not None:
            return FormatError(
                "a raw binary file needs a load address",
                path=self.raw_path,
                hint="give it as FILE@ADDR (e.g. app.bin@0x08003000) or with --address; only a "
                "plain DFU 1.1 device takes one without",
            )
        return FormatError(
            "a plain DFU file (firmware + suffix) has no addresses, and this DfuSe device "
            "needs them",
            hint="strip the suffix (dfuse suffix remove) and flash the payload as FILE@ADDR",
        )


def load_firmware(source: FirmwareSource, *, address: int | None = None) -> Firmware:
    """Read ``source`` into :class:`Firmware`; FormatError for unreadable files."""
    if isinstance(source, Firmware):
        return source
    if isinstance(source, ImageSource):
        return Firmware(jobs=(Job(source.alt, source.name, source.image),), warnings=source.notes)
    if isinstance(source, Image):
        return Firmware(jobs=(Job(None, None, source),))
    if isinstance(source, DfuseFile):
        return _from_dfuse(source)
    if isinstance(source, PlainDfuFile):
        return Firmware(plain=source, suffix=source.suffix, warnings=source.warnings)
    path = Path(source)
    if path.suffix.lower() == ".dfu":
        if address is not None:
            raise FormatError(
                "a .dfu file carries its own addresses; an address cannot be given with it",
                path=str(path),
            )
        loaded = read_dfu(path)
        if isinstance(loaded, DfuseFile):
            return _from_dfuse(loaded)
        return Firmware(plain=loaded, suffix=loaded.suffix, warnings=loaded.warnings)
    data = read_file_bytes(path)
    if detect_format(path, data) in ("bin", None):  # .bin, or nothing else it could be
        return _load_raw(path, data, address)
    notes: list[str] = []
    image = load_image(path, address=address, notes=notes)
    return Firmware(jobs=(Job(None, None, image),), warnings=tuple(notes))


def raw_firmware(name: str, data: bytes, *, address: int | None = None) -> Firmware:
    """A raw binary held in memory (``name``: the file's name, for messages), loaded as a
    .bin file is: see :func:`_load_raw` (the GUI's uploads)."""
    return _load_raw(Path(name), data, address)


def _load_raw(path: Path, data: bytes, address: int | None) -> Firmware:
    """A raw binary: its DFU suffix, if any, is stripped (never written as firmware, as
    dfu-util strips it) and said so; without an address it is a payload for a plain DFU
    device (a DfuSe device refuses it: :meth:`Firmware.addresses_error`)."""
    data, suffix, note = strip_suffix(data, path=str(path))  # a bad CRC: ChecksumError
    warnings = (note,) if note is not None else ()
    if not data:
        raise FormatError("the file holds no firmware (only a DFU suffix)", path=str(path))
    if address is None:
        plain = PlainDfuFile(data, suffix if suffix is not None else DfuSuffix())
        return Firmware(plain=plain, suffix=suffix, warnings=warnings, raw_path=str(path))
    image = Image.from_segments([(address, data)], source=str(path))
    return Firmware(jobs=(Job(None, None, image),), suffix=suffix, warnings=warnings)


def _from_dfuse(dfu: DfuseFile) -> Firmware:
    if not dfu.targets:
        raise FormatError(
            "the .dfu file has no targets: there is nothing in it",
            hint="`dfuse info FILE` shows what it holds; rebuild it with dfuse pack",
        )
    jobs = tuple(Job(t.alt, t.name, t.image, tuple(t.elements)) for t in dfu.targets if t.elements)
    if not jobs:
        raise FormatError("the .dfu file holds no data: its targets have no elements")
    return Firmware(jobs=jobs, suffix=dfu.suffix, warnings=tuple(dfu.warnings))


def suffix_problem(suffix: DfuSuffix | None, ids: list[tuple[int, int]]) -> str | None:
    """Why the suffix's VID/PID rule out this device (0xFFFF = any, §4.6, §7.24), else None."""
    if suffix is None:
        return None
    for vid, pid in ids:
        if suffix.vid in (0xFFFF, vid) and suffix.pid in (0xFFFF, pid):
            return None
    wanted = " or ".join(f"{v:04x}:{p:04x}" for v, p in ids)
    return f"the file is for {suffix.vid:04x}:{suffix.pid:04x}, the device is {wanted}"
