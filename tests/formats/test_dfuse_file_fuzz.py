"""Hypothesis: random and mutated .dfu files either parse or raise FormatError — nothing else;
valid models survive model -> bytes -> model and bytes -> model -> bytes."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from pydfuse.errors import FormatError
from pydfuse.formats import (
    DfuseFile,
    DfuseTarget,
    DfuSuffix,
    PlainDfuFile,
    Segment,
    dfu_crc,
    parse_dfu,
)

elements = st.lists(
    st.builds(
        Segment,
        st.integers(0, 0xFFFF_0000),
        st.binary(min_size=0, max_size=40),
    ),
    max_size=6,
).map(tuple)
targets = st.builds(
    DfuseTarget,
    alt=st.integers(0, 255),
    name=st.text(
        st.characters(min_codepoint=1, max_codepoint=0x2FF, exclude_categories=("Cs",)),
        max_size=30,
    ),
    elements=elements,
    named=st.booleans(),
)
dfuse_files = st.builds(
    DfuseFile,
    targets=st.lists(targets, max_size=4).map(tuple),
    vid=st.integers(0, 0xFFFF),
    pid=st.integers(0, 0xFFFF),
    bcd_device=st.integers(0, 0xFFFF),
    image_size_convention=st.sampled_from(["len-16", "len"]),
)


def parse_or_format_error(data: bytes) -> None:
    try:
        result = parse_dfu(data, path="fuzz.dfu")
    except FormatError as error:
        assert str(error).startswith("fuzz.dfu")
        return
    # Whatever parsed must write back to exactly the same bytes.
    assert result.to_bytes() == data


@given(dfuse_files)
def test_model_round_trip(model: DfuseFile) -> None:
    data = model.to_bytes()
    parsed = DfuseFile.from_bytes(data)
    assert parsed == model
    assert parsed.to_bytes() == data


@given(st.binary(max_size=64), st.builds(DfuSuffix, *[st.integers(0, 0xFFFF)] * 4))
def test_plain_round_trip(payload: bytes, suffix: DfuSuffix) -> None:
    data = PlainDfuFile(payload, suffix).to_bytes()
    assert PlainDfuFile.from_bytes(data) == PlainDfuFile(payload, suffix)


@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    parse_or_format_error(data)


@given(st.binary(max_size=400))
def test_random_bytes_with_valid_prefix_and_suffix(body: bytes) -> None:
    data = bytearray(b"DfuSe\x01" + body + DfuSuffix(bcd_dfu=0x011A).fields_bytes())
    data += struct.pack("<I", dfu_crc(data))
    parse_or_format_error(bytes(data))


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 20)),
    st.tuples(st.just("u32"), st.integers(0, 10_000), st.integers(0, 0xFFFFFFFF)),
)


def mutate(data: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, arg in ops:
        if not out:
            break
        pos = where % len(out)
        if kind == "flip":
            out[pos] ^= 1 << arg
        elif kind == "truncate":
            del out[pos:]
        elif kind == "insert":
            out[pos:pos] = bytes([arg])
        elif kind == "delete":
            del out[pos : pos + arg]
        elif len(out) >= 4:
            struct.pack_into("<I", out, min(pos, len(out) - 4), arg)
    return bytes(out)


@given(dfuse_files, st.lists(mutation, min_size=1, max_size=4), st.booleans())
def test_mutations(model: DfuseFile, ops: list[tuple[str, int, int]], fix_crc: bool) -> None:
    data = bytearray(mutate(model.to_bytes(), ops))
    if fix_crc and len(data) >= 16:
        # Re-sign the mutated file so the structural checks, not just the CRC, get exercised.
        data[-4:] = struct.pack("<I", dfu_crc(data[:-4]))
    parse_or_format_error(bytes(data))
