"""Reusable click parameter types: addresses, sizes, 16-bit IDs, VID:PID, FILE@ADDR, ALT:NAME=FILE
(layer: cli).

May import click and the standard library only. Each type turns a bad value into click's usual
one-line usage error (exit code 2). The plain ``parse_*`` functions raise
:class:`click.BadParameter`, which the CLI's error boundary shows the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple, TypeVar, cast

import click

__all__ = [
    "ADDRESS",
    "FILE_ADDRESS",
    "ID16",
    "SIZE",
    "TARGET_SPEC",
    "VID_PID",
    "AddressType",
    "FileAddress",
    "FileAddressType",
    "IntType",
    "SizeType",
    "TargetSpec",
    "TargetSpecType",
    "VidPid",
    "VidPidType",
    "parse_address",
    "parse_file_address",
    "parse_int",
    "parse_size",
    "parse_target_spec",
    "parse_vid_pid",
]

_NUMBER_RE = re.compile(
    r"^\s*(?P<num>0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)\s*(?P<unit>[kKmMgG](?:i?[bB])?)?\s*$"
)
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
ADDRESS_LIMIT = 1 << 32
SIZE_LIMIT = 1 << 32  # lengths within a 32-bit address space (4 GiB)


def _number(text: str, units: str) -> int | None:
    """``text`` as hex or decimal with one of ``units``' suffixes (K/M/G, KiB/KB spellings);
    None when it is not written so."""
    match = _NUMBER_RE.match(text)
    if match is None or (match["unit"] and match["unit"][0].lower() not in units):
        return None
    value = int(match["num"].replace("_", ""), 0 if match["num"][:2].lower() == "0x" else 10)
    return value * _UNITS[match["unit"][0].lower()] if match["unit"] else value


def parse_address(text: str, *, limit: int = ADDRESS_LIMIT) -> int:
    """``0x08003000``, ``134230016``, ``12K``, ``1M`` (K = 1024, M = 1024²) -> int.

    Raises :class:`click.BadParameter` for anything else or a value not below ``limit``.
    """
    value = _number(text, "km")
    if value is None:
        raise click.BadParameter(
            f"{text!r} is not an address; use hex (0x08003000), decimal, or a K/M suffix (16K)"
        )
    if value >= limit:
        raise click.BadParameter(f"{text!r} is too large (must be below 0x{limit:x})")
    return value


def parse_size(text: str, *, minimum: int = 0, limit: int = SIZE_LIMIT) -> int:
    """A number of bytes: ``65536``, ``0x10000``, ``64K``, ``128M``, ``1G`` (K = 1024,
    M = 1024², G = 1024³; ``KiB``/``KB`` spellings too), from ``minimum`` to ``limit``.

    Raises :class:`click.BadParameter` saying it wants a size (not an address).
    """
    value = _number(text, "kmg")
    if value is None:
        raise click.BadParameter(
            f"{text!r} is not a size; use a number of bytes (65536), hex (0x10000), "
            "or a K/M/G suffix (64K, 128M)"
        )
    if value < minimum:
        raise click.BadParameter(f"{text!r} is too small: the size must be at least {minimum}")
    if value > limit:
        raise click.BadParameter(f"{text!r} is too large: the size must be at most 0x{limit:x}")
    return value


def parse_int(text: str, *, maximum: int = 0xFFFF) -> int:
    """A hex (``0x0483``) or decimal integer from 0 to ``maximum``."""
    try:
        value = int(text.strip(), 0)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a number; use hex (0x0483) or decimal") from None
    if not 0 <= value <= maximum:
        raise click.BadParameter(f"{text!r} is out of range (0..0x{maximum:x})")
    return value


_T = TypeVar("_T")


class _TextType(click.ParamType[_T]):
    """A click type parsed from text by :meth:`parse`; a value already of ``value_type`` passes
    through (defaults, programmatic calls), and a :class:`click.BadParameter` from the parser
    becomes click's usual usage error."""

    value_type: type

    def parse(self, text: str) -> _T:
        raise NotImplementedError

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> _T:
        if isinstance(value, self.value_type):
            return cast(_T, value)
        try:
            return self.parse(str(value))
        except click.BadParameter as error:
            self.fail(error.message, param, ctx)


class AddressType(_TextType[int]):
    """A 32-bit address: ``0x08003000``, decimal, or with a K/M suffix (``12K``, ``1M``)."""

    name = "ADDRESS"
    value_type = int

    def parse(self, text: str) -> int:
        return parse_address(text)


class SizeType(_TextType[int]):
    """A number of bytes: decimal, hex, or with a K/M/G suffix (``64K``, ``128M``)."""

    name = "SIZE"
    value_type = int

    def __init__(self, minimum: int = 0) -> None:
        self.minimum = minimum

    def parse(self, text: str) -> int:
        return parse_size(text, minimum=self.minimum)


class IntType(_TextType[int]):
    """An integer in hex (``0x0483``) or decimal, from 0 to ``maximum`` (default 16 bits)."""

    name = "INT"
    value_type = int

    def __init__(self, maximum: int = 0xFFFF, name: str | None = None) -> None:
        self.maximum = maximum
        if name is not None:
            self.name = name

    def parse(self, text: str) -> int:
        return parse_int(text, maximum=self.maximum)


class VidPid(NamedTuple):
    """A USB vendor/product pair; either part may be left open (``None`` = any).

    dfu-util's two-mode form ``[RT_VID:RT_PID],DFU_VID:DFU_PID`` fills ``dfu`` (the IDs in DFU
    mode); ``runtime`` is False when no run-time IDs were given (``,0483:df11``: run-time
    devices are ignored)."""

    vid: int | None
    pid: int | None
    dfu: tuple[int | None, int | None] | None = None
    runtime: bool = True

    def __str__(self) -> str:
        def pair(vid: int | None, pid: int | None) -> str:
            return f"{'' if vid is None else f'{vid:04x}'}:{'' if pid is None else f'{pid:04x}'}"

        head = pair(self.vid, self.pid) if self.runtime else ""
        return head if self.dfu is None else f"{head},{pair(*self.dfu)}"


def _hex16(text: str, what: str, whole: str) -> int | None:
    text = text.strip()
    if not text or text == "*":
        return None
    try:
        value = int(text, 16)
    except ValueError:
        raise click.BadParameter(f"{whole!r}: {what} {text!r} is not hexadecimal") from None
    if not 0 <= value <= 0xFFFF:
        raise click.BadParameter(f"{whole!r}: {what} {text!r} does not fit in 16 bits")
    return value


def parse_vid_pid(text: str) -> VidPid:
    """``0483:df11`` (hex, as lsusb prints it; ``0x`` allowed); ``0483:`` or ``:df11`` leave
    one part open; ``*`` is any. dfu-util 0.11's two-mode form too: ``RT_VID:RT_PID,DFU_VID:
    DFU_PID`` (a DFU-mode part left empty takes the run-time value) and ``,DFU_VID:DFU_PID``
    (or ``-,...``: run-time devices ignored)."""
    if text.count(",") > 1:
        raise click.BadParameter(f"{text!r}: at most one comma (RUNTIME,DFU)")
    head, comma, tail = text.partition(",")
    runtime = head.strip() not in ("", "-") or not comma
    vid, pid = _pair(head, text) if runtime else (None, None)
    if not comma:
        return VidPid(vid, pid)
    if not tail.strip():
        return VidPid(vid, pid, (vid, pid), runtime)
    if tail.count(":") != 1:
        raise click.BadParameter(f"{text!r}: the DFU-mode part is not VID:PID")
    vid_text, pid_text = tail.split(":")
    dfu_vid = vid if not vid_text.strip() else _hex16(vid_text, "VID", text)
    dfu_pid = pid if not pid_text.strip() else _hex16(pid_text, "PID", text)
    return VidPid(vid, pid, (dfu_vid, dfu_pid), runtime)


def _pair(part: str, whole: str) -> tuple[int | None, int | None]:
    if part.count(":") != 1:
        raise click.BadParameter(f"{whole!r} is not VID:PID; write it like 0483:df11")
    vid_text, pid_text = part.split(":")
    return _hex16(vid_text, "VID", whole), _hex16(pid_text, "PID", whole)


class VidPidType(_TextType[VidPid]):
    """``VID:PID`` in hex, e.g. ``0483:df11``."""

    name = "VID:PID"
    value_type = VidPid

    def parse(self, text: str) -> VidPid:
        return parse_vid_pid(text)


class FileAddress(NamedTuple):
    """``FILE`` or ``FILE@ADDR``: an input file and, for raw binaries, where it goes."""

    path: Path
    address: int | None = None


def parse_file_address(text: str) -> FileAddress:
    """``app.bin@0x08000000`` -> FileAddress; the part after the last ``@`` is an address only
    if it parses as one, so paths containing ``@`` still work."""
    if not text.strip():
        raise click.BadParameter("empty file name")
    head, sep, tail = text.rpartition("@")
    if sep and head:
        try:
            return FileAddress(Path(head), parse_address(tail))
        except click.BadParameter:
            if re.fullmatch(r"\s*(0[xX])?[0-9a-fA-F_]+\s*[kKmM]?\s*", tail):
                raise  # looks like a meant-to-be address: report it rather than guess
    return FileAddress(Path(text), None)


def file_and_address(source: Path, address: int | None) -> tuple[Path, int | None]:
    """A command's FILE argument taken as ``FILE@ADDR`` too (when no file has that very name),
    with ``--address``: one address, or a usage error when the two differ."""
    if source.exists() or "@" not in source.name:
        return source, address
    given = parse_file_address(str(source))
    if given.address is not None and address is not None and given.address != address:
        raise click.UsageError("give the address once: FILE@ADDR or --address")
    return given.path, given.address if given.address is not None else address


class FileAddressType(_TextType[FileAddress]):
    """``FILE`` or ``FILE@ADDR`` (address needed for .bin)."""

    name = "FILE[@ADDR]"
    value_type = FileAddress

    def parse(self, text: str) -> FileAddress:
        return parse_file_address(text)


class TargetSpec(NamedTuple):
    """One ``-t`` of ``dfuse pack``: alternate setting, optional target name, input file."""

    alt: int
    name: str | None
    source: FileAddress


_TARGET_RE = re.compile(
    r"^\s*(?P<alt>[0-9]+|0[xX][0-9a-fA-F]+)\s*(?::(?P<name>[^=]*))?=(?P<file>.+)$"
)


def parse_target_spec(text: str) -> TargetSpec:
    """``ALT:NAME=FILE[@ADDR]`` or ``ALT=FILE[@ADDR]``, e.g. ``0:Internal Flash=app.hex``."""
    match = _TARGET_RE.match(text)
    if match is None:
        raise click.BadParameter(
            f"{text!r} is not ALT:NAME=FILE[@ADDR] or ALT=FILE[@ADDR] "
            '(example: 0:"Internal Flash"=app.hex)'
        )
    alt = int(match["alt"], 0)
    if alt > 255:
        raise click.BadParameter(f"{text!r}: alternate setting {alt} is above 255")
    name = match["name"]
    if name is not None and len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1]  # quotes that reached us literally (Makefiles, cmd.exe): not the name
    if name is not None and len(name.encode("utf-8", "replace")) > 254:
        raise click.BadParameter(f"{text!r}: target name longer than 254 bytes")
    return TargetSpec(alt, name, parse_file_address(match["file"]))


class TargetSpecType(_TextType[TargetSpec]):
    """``ALT:NAME=FILE[@ADDR]`` or ``ALT=FILE[@ADDR]``."""

    name = "ALT[:NAME]=FILE[@ADDR]"
    value_type = TargetSpec

    def parse(self, text: str) -> TargetSpec:
        return parse_target_spec(text)


ADDRESS = AddressType()
SIZE = SizeType()
ID16 = IntType(0xFFFF, "ID")
VID_PID = VidPidType()
FILE_ADDRESS = FileAddressType()
TARGET_SPEC = TargetSpecType()
