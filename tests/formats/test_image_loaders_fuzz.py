"""Hypothesis: mutated Intel HEX / S-record / ELF input loads or raises FormatError — nothing
else — and whenever the Intel HEX fast path accepts a file, the record-by-record reader reads
the same image (and bincopy too, where no bytes are given twice)."""

from __future__ import annotations

import contextlib
import struct

import bincopy
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.errors import FormatError
from pydfuse.formats import Image, image_from_bytes
from pydfuse.formats.ihex import parse_ihex_fast
from pydfuse.formats.records import read_records


def sample_hex() -> bytes:
    binfile = bincopy.BinFile()
    binfile.add_binary(bytes(range(100)), address=0x0800FFC0)  # crosses a 64 KiB boundary
    binfile.add_binary(b"\xaa\xbb", address=0x20000000)
    binfile.execution_start_address = 0x08000101
    text: str = binfile.as_ihex(number_of_data_bytes=16)
    return text.encode()


SAMPLE_HEX = sample_hex()
HEX_ALPHABET = b"0123456789ABCDEF:\n \r"

edits = st.lists(
    st.tuples(st.integers(0, 10_000), st.sampled_from(list(HEX_ALPHABET)), st.booleans()),
    min_size=1,
    max_size=4,
)


def apply(data: bytes, ops: list[tuple[int, int, bool]]) -> bytes:
    out = bytearray(data)
    for where, char, insert in ops:
        pos = where % (len(out) + 1)
        if insert or pos == len(out):
            out[pos:pos] = bytes([char])
        else:
            out[pos] = char
    return bytes(out)


def bincopy_image(text: bytes) -> Image | None:
    binfile = bincopy.BinFile()
    try:
        binfile.add_ihex(text.decode())
    except (bincopy.Error, ValueError):
        return None
    return Image.from_segments((s.minimum_address, bytes(s.data)) for s in binfile.segments)


@given(edits)
def test_mutated_ihex(ops: list[tuple[int, int, bool]]) -> None:
    text = apply(SAMPLE_HEX, ops)
    try:
        fast = parse_ihex_fast(text, "m.hex")
    except FormatError as error:
        assert str(error).startswith("m.hex, line ")
        return
    if fast is not None:
        image, notes = fast
        # both of our readers agree (the record-by-record one has the fast path's overlap rule)
        assert fast == read_records(text.decode(), "ihex", path="m.hex")
        if not notes:
            assert image == bincopy_image(text)
    with contextlib.suppress(FormatError):
        image_from_bytes(text, "ihex", path="m.hex")


@given(st.binary(max_size=300), st.sampled_from(["ihex", "srec", "elf", None]))
def test_random_bytes_any_format(data: bytes, fmt: str | None) -> None:
    with contextlib.suppress(FormatError):
        image_from_bytes(data, fmt, path="r", address=0 if fmt is None else None)  # type: ignore[arg-type]


def tiny_elf() -> bytes:
    header = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIIIIIHHHHHH", 2, 40, 1, 0, 52, 0, 0, 52, 32, 1, 40, 0, 0)
    program = struct.pack("<8I", 1, 84, 0x20000000, 0x08000000, 8, 8, 5, 4)
    return header + program + b"\x01\x02\x03\x04\x05\x06\x07\x08"


@given(st.lists(st.tuples(st.integers(0, 91), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_elf(ops: list[tuple[int, int]]) -> None:
    data = bytearray(tiny_elf())
    for pos, value in ops:
        data[pos] = value
    try:
        image = image_from_bytes(bytes(data), "elf", path="e.elf")
    except FormatError as error:
        assert str(error).startswith("e.elf")
        return
    assert image.size <= len(data)


def test_tiny_elf_loads_at_physical_address() -> None:
    image = image_from_bytes(tiny_elf(), "elf")
    assert image == Image.from_segments([(0x08000000, bytes(range(1, 9)))])
