"""DfuSe and plain DFU files: §4.6 test vectors, round trips, quirks, strict errors."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import pytest

from pydfuse.errors import ChecksumError, FormatError
from pydfuse.formats import (
    DfuseFile,
    DfuseTarget,
    DfuSuffix,
    Image,
    PlainDfuFile,
    Segment,
    dfu_crc,
    inspect_suffix,
    read_dfu,
)

VECTOR_ELEMENT = bytes.fromhex("0050002001310008")


def vector_file() -> DfuseFile:
    """The §4.6 DfuSe test vector as a model."""
    return DfuseFile((DfuseTarget(0, "ST...", (Segment(0x08003000, VECTOR_ELEMENT),)),))


def test_crc_check_value() -> None:
    assert dfu_crc(b"123456789") == 0x340BC6D9


def test_plain_vector_exact() -> None:
    data = PlainDfuFile(bytes([1, 2, 3, 4]), DfuSuffix()).to_bytes()
    assert data == bytes.fromhex("01020304 ffff ffff ffff 0001 554644 10 961323a5")
    assert PlainDfuFile.from_bytes(data) == PlainDfuFile(b"\x01\x02\x03\x04", DfuSuffix())


def test_dfuse_vector_exact() -> None:
    data = vector_file().to_bytes()
    assert len(data) == 317
    assert data[:11] == bytes.fromhex("44 66 75 53 65 01 2D 01 00 00 01")
    assert data[-16:] == bytes.fromhex("FF FF 11 DF 83 04 1A 01 55 46 44 10 D7 95 C5 55")
    # Target prefix at 11 (§4.3): signature, alt 0, named=1, "ST..." + zeros, size 16, 1 element
    assert data[11:18] == b"Target\x00"
    assert data[18:22] == b"\x01\x00\x00\x00"
    assert data[22:277] == b"ST...".ljust(255, b"\0")
    assert struct.unpack_from("<II", data, 277) == (16, 1)
    assert struct.unpack_from("<II", data, 285) == (0x08003000, 8)
    assert data[293:301] == VECTOR_ELEMENT
    parsed = DfuseFile.from_bytes(data)
    assert parsed == vector_file()
    assert parsed.warnings == ()
    assert parsed.targets[0].image == Image.from_segments([(0x08003000, VECTOR_ELEMENT)])


def quirky_file() -> bytes:
    """ST-style quirks: garbage after the NUL, PID 0, bcdDevice 0, many 2-byte elements at
    4-byte steps, named value 1, two targets; DFUImageSize written dfuse-pack style (len)."""
    name = b"ST...\0C:\\Documents and Settings\\x.hex".ljust(255, b"\xaa")
    small = tuple(Segment(0x08000000 + 4 * i, bytes([i, i + 1])) for i in range(40))
    model = DfuseFile(
        (
            DfuseTarget(0, "ST...", small, name_bytes=name),
            DfuseTarget(1, "SPI Flash", (Segment(0, b"\x11" * 100),), named_value=7),
            DfuseTarget(0, "", (Segment(0x08010000, b"\x22" * 3),), named=False),
        ),
        vid=0x0483,
        pid=0x0000,
        bcd_device=0x0000,
        image_size_convention="len",
    )
    return model.to_bytes()


def test_quirks_round_trip_byte_exact() -> None:
    data = quirky_file()
    parsed = DfuseFile.from_bytes(data)
    assert parsed.to_bytes() == data
    assert parsed.pid == 0 and parsed.bcd_device == 0
    assert parsed.targets[0].name == "ST..."
    assert parsed.targets[0].name_bytes is not None
    assert parsed.targets[0].name_bytes.startswith(b"ST...\0C:\\")
    assert len(parsed.targets[0].elements) == 40
    assert parsed.targets[1].named_value == 7
    assert not parsed.targets[2].named
    assert parsed.image_size_convention == "len"
    assert any("full file length" in w for w in parsed.warnings)
    assert parsed.image(0) == Image.from_segments(
        [*parsed.targets[0].elements, Segment(0x08010000, b"\x22" * 3)]
    )
    # Renaming a target drops the stale raw field rather than writing the old name.
    renamed = replace(parsed.targets[0], name="Flash")
    assert renamed.name_field() == b"Flash".ljust(255, b"\0")


def test_len16_convention_default_and_other_values_warn() -> None:
    data = bytearray(vector_file().to_bytes())
    struct.pack_into("<I", data, 6, 0)  # one script in the wild writes 0 (§4.2)
    data[-4:] = struct.pack("<I", dfu_crc(data[:-4]))
    parsed = DfuseFile.from_bytes(bytes(data))
    assert parsed.image_size_convention == "raw" and parsed.image_size_raw == 0
    assert parsed.warnings == ("DFUImageSize is 0, expected 301 (file length - 16)",)
    assert parsed.to_bytes() == bytes(data)
    assert replace(parsed, image_size_convention="len-16").to_bytes() == vector_file().to_bytes()


def test_model_bytes_model_many_targets() -> None:
    targets = tuple(
        DfuseTarget(
            alt,
            f"alt {alt}",
            tuple(Segment(0x1000 * i + alt, bytes(range(i + 1))) for i in range(5)),
        )
        for alt in range(6)
    )
    model = DfuseFile(targets, vid=0x1209, pid=0x0001, bcd_device=0x0102)
    assert DfuseFile.from_bytes(model.to_bytes()) == model


def test_write_read_files(tmp_path: Path) -> None:
    path = tmp_path / "a.dfu"
    vector_file().write(path)
    assert DfuseFile.read(path) == vector_file()
    result = read_dfu(path)
    assert isinstance(result, DfuseFile)
    plain_path = tmp_path / "p.bin"
    PlainDfuFile(b"abc", DfuSuffix(0x0200, 0x1234, 0x5678, 0x0110)).write(plain_path)
    plain = read_dfu(plain_path)
    assert isinstance(plain, PlainDfuFile)
    assert plain.payload == b"abc" and plain.suffix.bcd_dfu == 0x0110
    assert plain.warnings == ()  # 0x0110 is an accepted quirk (§4.8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dfu", "p.bin"]


def _fix_crc(data: bytearray) -> bytes:
    data[-4:] = struct.pack("<I", dfu_crc(data[:-4]))
    return bytes(data)


def test_bad_crc_is_checksum_error() -> None:
    data = bytearray(vector_file().to_bytes())
    data[300] ^= 1
    with pytest.raises(ChecksumError, match=r"a\.dfu, offset 313 \(0x139\): DFU suffix CRC"):
        DfuseFile.from_bytes(bytes(data), path="a.dfu")


def test_element_claims_too_much() -> None:
    data = bytearray(vector_file().to_bytes())
    struct.pack_into("<I", data, 289, 4096)
    with pytest.raises(FormatError) as info:
        DfuseFile.from_bytes(_fix_crc(data), path="a.dfu")
    assert str(info.value) == (
        "a.dfu, offset 289 (0x121): element 0 of target 0 claims 4096 bytes but only 8 remain"
    )
    assert info.value.offset == 289


@pytest.mark.parametrize(
    ("offset", "value", "fmt", "message"),
    [
        (0, b"DfuSx", None, "signature is b'DfuSx', expected b'DfuSe'"),
        (5, 2, "<B", "DfuSe bVersion is 2, only version 1 exists"),
        (10, 200, "<B", "bTargets says 200 targets"),
        (11, b"Tarjet", None, "target 0: signature is b'Tarjet'"),
        (277, 0xFFFFFFF0, "<I", "target 0 claims 4294967280 bytes of elements but only 16"),
        (281, 1_000_000, "<I", "target 0 claims 1000000 elements, which cannot fit"),
        (277, 8, "<I", "dwTargetSize says 8 bytes but its elements take 16"),
        (285, 0xFFFFFFFC, "<I", "runs past the 32-bit address space"),
    ],
)
def test_strict_fields(offset: int, value: object, fmt: str | None, message: str) -> None:
    data = bytearray(vector_file().to_bytes())
    if fmt is None:
        assert isinstance(value, bytes)
        data[offset : offset + len(value)] = value
    else:
        struct.pack_into(fmt, data, offset, value)
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DfuseFile.from_bytes(_fix_crc(data), path="x.dfu")


def test_target_size_mismatch_and_trailing_bytes() -> None:
    data = bytearray(vector_file().to_bytes())
    body = data[:-16] + b"\0\0\0"
    with pytest.raises(FormatError, match="3 unexpected bytes after the last target"):
        DfuseFile.from_bytes(_fix_crc(body + data[-16:]))
    struct.pack_into("<I", data, 277, 20)
    with pytest.raises(FormatError, match="only 16 remain"):
        DfuseFile.from_bytes(_fix_crc(data))


def test_truncated_and_suffixless() -> None:
    data = vector_file().to_bytes()
    with pytest.raises(FormatError, match="no DFU suffix"):
        DfuseFile.from_bytes(data[:-1], path="t.dfu")
    with pytest.raises(FormatError, match="too short for a 16-byte DFU suffix"):
        DfuseFile.from_bytes(b"DfuSe")
    with pytest.raises(FormatError, match="the DfuSe prefix needs 11 bytes but only 5 remain"):
        DfuseFile.from_bytes(PlainDfuFile(b"DfuSe", DfuSuffix(bcd_dfu=0x011A)).to_bytes())


def test_suffix_bad_length_and_inspect() -> None:
    data = bytearray(PlainDfuFile(b"xyz").to_bytes())
    info = inspect_suffix(bytes(data))
    assert info is not None and info.crc_ok and info.suffix == DfuSuffix()
    data[-5] = 15  # dfu-util: "Unsupported DFU suffix length"
    with pytest.raises(FormatError, match="bLength is 15: it must be at least 16"):
        PlainDfuFile.from_bytes(_fix_crc(data))
    data[-5] = 20  # longer than the 19-byte file: "Invalid DFU suffix length"
    with pytest.raises(FormatError, match=r"bLength is 20: .* at most the file's 19 bytes"):
        PlainDfuFile.from_bytes(_fix_crc(data))
    assert inspect_suffix(b"no suffix here at all") is None


def test_read_dfu_kinds_and_warnings() -> None:
    plain_with_dfuse_bcd = PlainDfuFile(b"\0" * 8, DfuSuffix(bcd_dfu=0x011A)).to_bytes()
    result = read_dfu_bytes(plain_with_dfuse_bcd)
    assert isinstance(result, PlainDfuFile)
    assert result.warnings == (
        "suffix bcdDFU is 0x011a (DfuSe) but the file has no 'DfuSe' prefix",
    )
    odd = replace(vector_file(), bcd_dfu=0x0100).to_bytes()
    parsed = read_dfu_bytes(odd)
    assert isinstance(parsed, DfuseFile)
    assert parsed.warnings == ("suffix bcdDFU is 0x0100, DfuSe files use 0x011a",)


def read_dfu_bytes(data: bytes) -> DfuseFile | PlainDfuFile:
    from pydfuse.formats import parse_dfu

    return parse_dfu(data)


def test_model_validation() -> None:
    with pytest.raises(FormatError, match=r"outside 0\.\.255"):
        DfuseTarget(256)
    with pytest.raises(FormatError, match="under 255 bytes"):
        DfuseTarget(0, "x" * 255).header_bytes()
    with pytest.raises(FormatError, match="16 bits"):
        DfuseFile((), vid=0x10000)
    with pytest.raises(FormatError, match="overlapping"):
        _ = DfuseTarget(0, elements=(Segment(0, b"ab"), Segment(1, b"c"))).image


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"nope\.dfu: no such file"):
        read_dfu(tmp_path / "nope.dfu")
