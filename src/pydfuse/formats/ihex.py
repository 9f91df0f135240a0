"""Fast path for plain Intel HEX files (layer: formats; imports pydfuse.errors and image).

bincopy reads a 16 MB image in about 3 s; ``dfuse pack`` must beat dfuse-pack by 5x, so the
common case — record types 00..05 only, one record per line — is decoded here with one
``bytes.fromhex`` per line and ``sum()`` for the checksum. Every checksum is still checked.
Anything unusual (another record type, data after the end record, odd characters) returns
``None`` so the caller falls back to bincopy; address arithmetic follows bincopy exactly
(segment and linear bases add up, no 16-bit wrap-around).
"""

from __future__ import annotations

import binascii
import functools
import io
from collections.abc import Iterator
from itertools import pairwise

from pydfuse.errors import ChecksumError, FormatError
from pydfuse.formats.image import Image
from pydfuse.formats.records import assemble

__all__ = ["ihex_chunks", "parse_ihex_fast"]

_DATA, _EOF, _EXT_SEGMENT, _START_SEGMENT, _EXT_LINEAR, _START_LINEAR = range(6)


def parse_ihex_fast(text: bytes, path: str | None = None) -> tuple[Image, list[str]] | None:
    """Decode Intel HEX ``text`` into an image and notes; ``None`` if it needs the general
    (record by record) reader — also when bytes are given twice, so that reader names the lines
    (:func:`pydfuse.formats.records.assemble`).

    Raises :class:`ChecksumError` (with the line number) for a bad record checksum and
    :class:`FormatError` for a record whose length byte disagrees with the line, or for data
    beyond 32 bits.
    """
    # Lines are read lazily and data goes straight into one bytearray per contiguous run, so
    # peak memory stays near the size of the HEX text rather than one object per record.
    runs: list[tuple[int, bytearray, int]] = []  # (address, data, line of the first record)
    run_end = -1
    segment_base = linear_base = 0  # bincopy adds both extended bases, and so do we
    ended = False
    for number, raw in enumerate(io.BytesIO(text), 1):
        if raw[:1] != b":":
            if raw.strip():
                return None  # leading blanks, comments, garbage: bincopy decides
            continue
        if ended:
            return None
        line = raw.rstrip()
        try:
            record = bytes.fromhex(line[1:].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None
        if len(line) != 1 + 2 * len(record):
            return None  # blanks inside the record: fromhex skips them, bincopy does not
        if len(record) < 5 or record[0] != len(record) - 5:
            raise FormatError(
                "record length byte does not match the record's length", path=path, line=number
            )
        if sum(record) & 0xFF:
            expected = (-sum(record[:-1])) & 0xFF
            raise ChecksumError(
                f"record checksum is 0x{record[-1]:02x}, expected 0x{expected:02x}",
                path=path,
                line=number,
            )
        kind = record[3]
        if kind == _DATA:
            address = segment_base + linear_base + ((record[1] << 8) | record[2])
            if address != run_end:
                runs.append((address, bytearray(), number))
            runs[-1][1].extend(memoryview(record)[4:-1])
            run_end = address + record[0]
        elif kind == _EXT_LINEAR and record[0] == 2:
            linear_base = ((record[4] << 8) | record[5]) << 16
        elif kind == _EXT_SEGMENT and record[0] == 2:
            segment_base = ((record[4] << 8) | record[5]) << 4
        elif kind == _EOF:
            ended = True
        elif kind not in (_START_SEGMENT, _START_LINEAR):
            return None
    ordered = sorted((start, start + len(data)) for start, data, _ in runs if data)
    if any(after[0] < before[1] for before, after in pairwise(ordered)):
        return None  # bytes given twice: the record reader names the lines exactly
    pieces = [(start, bytes(data), line) for start, data, line in runs]
    return assemble(pieces, what="Intel HEX", path=path)


# -- writing ------------------------------------------------------------------------------------
# The same records bincopy's ``as_ihex()`` writes (32 data bytes per record from each run's
# start, an 04 record whenever the upper 16 address bits grow, the EOF record), byte for byte,
# built one 64 KiB window at a time: the columns of all of a window's lines are filled with
# strided slice assignments and the checksums computed with integer operations over the window,
# instead of formatting two million records one by one (a 64 MiB image: 7.7 s with bincopy).
RECORD = 32
LINE = 1 + 2 + 4 + 2 + 2 * RECORD + 2 + 1  # ":20" AAAA "00" data checksum "\n" = 76 bytes
_WINDOW_RECORDS = 0x10000 // RECORD
_PAD = 3


def ihex_chunks(image: Image) -> Iterator[bytes]:
    """Intel HEX text of ``image`` in pieces of at most a 64 KiB window's lines each."""
    extended = 0
    for segment in image:
        data = memoryview(segment.data)
        cursor = 0
        while cursor < len(data):
            address = segment.address + cursor
            upper = address >> 16
            if upper > extended:
                extended = upper
                yield _record(4, 0, upper.to_bytes(2, "big")) + b"\n"
            # Full records whose start has the same upper 16 bits as this one.
            room = (((upper + 1) << 16) - address + RECORD - 1) // RECORD
            count = min(room, (len(data) - cursor) // RECORD)
            if count:
                yield _window(address, data[cursor : cursor + count * RECORD])
                cursor += count * RECORD
            else:  # the run's short last record
                yield _record(0, address & 0xFFFF, bytes(data[cursor:])) + b"\n"
                cursor = len(data)
    yield b":00000001FF\n"


def _record(kind: int, address: int, payload: bytes) -> bytes:
    body = bytes((len(payload), address >> 8, address & 0xFF, kind)) + payload
    return b":" + binascii.hexlify(body + bytes(((-sum(body)) & 0xFF,))).upper()


def _window(address: int, data: memoryview) -> bytes:
    """The lines of ``len(data) // 32`` full records from ``address`` (same upper bits)."""
    count = len(data) // RECORD
    residue, first = address % RECORD, (address & 0xFFFF) // RECORD
    hex_address, address_sum = _address_columns(residue)
    # Three bytes of padding in front put every line's data digits (at offset 9 of 76) on a
    # 4-byte boundary, so they are copied 4 characters at a time.
    buffer = bytearray(_PAD + count * LINE + 1)  # and one after: a whole number of words
    out = memoryview(buffer)[_PAD : _PAD + count * LINE]
    out[0::LINE] = b":" * count
    out[1::LINE] = b"2" * count
    out[2::LINE] = b"0" * count
    field = hex_address[4 * first : 4 * (first + count)]
    for i in range(4):
        out[3 + i :: LINE] = field[i::4]
    out[7::LINE] = out[8::LINE] = b"0" * count
    digits = memoryview(binascii.hexlify(data).upper()).cast("I")
    words = memoryview(buffer).cast("I")
    per_line, per_record = LINE // 4, 2 * RECORD // 4
    for i in range(per_record):
        words[(_PAD + 9) // 4 + i :: per_line] = digits[i::per_record]
    sums = _record_sums(data)
    checks = binascii.hexlify(_negated_sums(sums, address_sum[first : first + count])).upper()
    out[73::LINE] = checks[0::2]
    out[74::LINE] = checks[1::2]
    out[75::LINE] = b"\n" * count
    return bytes(out)


@functools.lru_cache(maxsize=RECORD)
def _address_columns(residue: int) -> tuple[bytes, bytes]:
    """For records at ``residue + 32 * k`` (k < 2048) of a 64 KiB window: their 16-bit
    addresses in hex (4 characters each) and 0x20 + high + low address byte, mod 256."""
    lows = [residue + RECORD * k for k in range(_WINDOW_RECORDS)]
    text = "".join(f"{a:04X}" for a in lows).encode("ascii")
    return text, bytes((RECORD + (a >> 8) + (a & 0xFF)) & 0xFF for a in lows)


def _record_sums(data: memoryview) -> bytes:
    """The sum mod 256 of each 32-byte record of ``data``: bytes added pairwise in ever wider
    lanes of one integer (8 -> 16 -> ... -> 256 bits; a lane never overflows into the next)."""
    value = int.from_bytes(data, "little")
    masks = _lane_masks(len(data))
    value = (value & masks[0][0]) + ((value >> 8) & masks[0][0])
    for mask, shift in masks[1:]:
        # The lanes hold at most 32 * 255 < 2**16: adding before masking cannot carry into
        # the next lane's low 16 bits, so one mask per round is enough.
        value = (value + (value >> shift)) & mask
    return value.to_bytes(len(data), "little")[0::RECORD]


@functools.lru_cache(maxsize=8)
def _lane_masks(length: int) -> tuple[tuple[int, int], ...]:
    masks = []
    width = 8
    while width < RECORD * 8:
        lane = ((1 << width) - 1).to_bytes(width // 4, "little")  # low half of a 2*width lane
        masks.append((int.from_bytes(lane * (length * 4 // width), "little"), width))
        width *= 2
    return tuple(masks)


def _negated_sums(a: bytes, b: bytes) -> bytes:
    """``(-(a[i] + b[i])) & 0xFF`` for every i, in 16-bit lanes of one integer."""
    n = len(a)
    wide_a, wide_b = bytearray(2 * n), bytearray(2 * n)
    wide_a[0::2], wide_b[0::2] = a, b
    total = int.from_bytes(wide_a, "little") + int.from_bytes(wide_b, "little")
    return (_lanes_of_512(n) - total).to_bytes(2 * n, "little")[0::2]


@functools.lru_cache(maxsize=8)
def _lanes_of_512(count: int) -> int:
    return int.from_bytes(b"\x00\x02" * count, "little")
