"""Intel HEX and S-record files read record by record, and their data put together with one
overlap rule for every reader (layer: formats; imports pydfuse.errors and image, and bincopy
when it reads records).

bincopy's own ``add_ihex``/``add_srec`` merge a record that runs into data added before it and
keep the later bytes without a word when the records come out of address order (a file with a
leading blank, an empty record or a comment takes that path). Here bincopy only decodes and
checks each record (``unpack_ihex``/``unpack_srec``); :func:`assemble` puts the data together:
overlapping bytes are refused, naming both lines, unless they are identical — then they merge,
with a note.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydfuse.errors import ChecksumError, FormatError
from pydfuse.formats.image import Image, Segment

Piece = tuple[int, bytes, int]  # (address, data, line number)
MAX_NOTED = 3


def _overlap_error(
    address: int, lines: tuple[int, int], what: str, path: str | None
) -> FormatError:
    first, again = lines
    return FormatError(
        f"overlapping data in {what} file: 0x{address:08x} is given by line {first} and again, "
        f"with other bytes, by line {again}",
        path=path,
        line=again,
        hint="each address may be given only once; check how the file was made (srec_cat "
        "and objcopy write every address once)",
    )


def _lines(ordered: list[Piece], index: int, address: int) -> tuple[int, int]:
    """(earlier, later) file lines of piece ``index`` and the earlier piece holding
    ``address`` (looked up only when pieces overlap)."""
    line = ordered[index][2]
    for start, data, other in reversed(ordered[:index]):
        if start <= address < start + len(data):
            return (min(line, other), max(line, other))
    return (line, line)


def assemble(pieces: Iterable[Piece], *, what: str, path: str | None) -> tuple[Image, list[str]]:
    """The image of ``pieces`` and notes. Overlapping bytes that differ raise
    :class:`FormatError` naming both lines; identical ones are merged and noted."""
    ordered = sorted((p for p in pieces if p[1]), key=lambda p: p[0])
    runs: list[tuple[int, bytearray]] = []  # (start, data)
    merged: list[tuple[int, int, tuple[int, int]]] = []  # (start, end, lines) of the first few
    count = 0
    for index, (address, data, _) in enumerate(ordered):
        if runs and address <= runs[-1][0] + len(runs[-1][1]):
            start, buffer = runs[-1]
            offset = address - start
            common = buffer[offset : offset + len(data)]
            if common != data[: len(common)]:
                at = address + next(
                    i for i, (a, b) in enumerate(zip(common, data, strict=False)) if a != b
                )
                raise _overlap_error(at, _lines(ordered, index, at), what, path)
            if common:
                count += 1
                if len(merged) < MAX_NOTED:
                    lines = _lines(ordered, index, address)
                    merged.append((address, address + len(common), lines))
            buffer.extend(data[len(common) :])
        else:
            runs.append((address, bytearray(data)))
    image = Image.from_segments((Segment(s, bytes(d)) for s, d in runs), source=path)
    return image, _merge_notes(merged, count, what)


def _merge_notes(
    merged: list[tuple[int, int, tuple[int, int]]], count: int, what: str
) -> list[str]:
    if not merged:
        return []
    shown = "; ".join(
        f"0x{lo:08x}..0x{hi - 1:08x} (lines {a} and {b})" for lo, hi, (a, b) in merged
    )
    more = f" and {count - len(merged)} more" if count > len(merged) else ""
    return [f"the {what} file gives identical bytes twice, merged: {shown}{more}"]


def read_records(
    text: str, kind: Literal["ihex", "srec"], *, path: str | None
) -> tuple[Image, list[str]]:
    """Decode every record of ``text`` (blank lines skipped, surrounding blanks allowed, as
    bincopy allows them) and :func:`assemble` the data."""
    import bincopy  # not on the start-up path of commands that never read records

    what = "Intel HEX" if kind == "ihex" else "S-record"
    pieces: list[Piece] = []
    segment = linear = 0  # Intel HEX extended address bases, added up as bincopy adds them
    for number, raw in enumerate(text.splitlines(), 1):
        record = raw.strip()
        if not record:
            continue
        try:
            if kind == "ihex":
                type_, address, _, data = bincopy.unpack_ihex(record)
            else:
                type_, address, _, data = bincopy.unpack_srec(record)
        except (bincopy.Error, ValueError) as error:
            cls = ChecksumError if "crc" in str(error).lower() else FormatError
            raise cls(f"bad {what} record: {error}", path=path, line=number) from None
        if kind == "srec":
            if type_ in "123":
                pieces.append((address, bytes(data), number))
            continue
        if type_ == 0:
            pieces.append((address + segment + linear, bytes(data), number))
        elif type_ == 2:
            segment = int.from_bytes(data, "big") * 16
        elif type_ == 4:
            linear = int.from_bytes(data, "big") << 16
        elif type_ not in (1, 3, 5):
            raise FormatError(
                f"bad {what} record: type {type_} is not 00..05", path=path, line=number
            )
    return assemble(pieces, what=what, path=path)
