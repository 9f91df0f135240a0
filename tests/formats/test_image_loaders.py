"""Image loaders: Intel HEX (fast path vs bincopy), S-record, ELF load addresses, raw binary."""

from __future__ import annotations

import struct
from pathlib import Path

import bincopy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.errors import ChecksumError, FormatError
from pydfuse.formats import Image, Segment, image_to_bytes, load_image, save_image
from pydfuse.formats.ihex import parse_ihex_fast


def to_ihex(segments: list[tuple[int, bytes]], record_size: int = 32) -> bytes:
    binfile = bincopy.BinFile()
    for address, data in segments:
        binfile.add_binary(data, address=address)
    text: str = binfile.as_ihex(number_of_data_bytes=record_size)
    return text.encode()


def via_bincopy(text: bytes) -> Image:
    binfile = bincopy.BinFile()
    binfile.add_ihex(text.decode())
    return Image.from_segments((s.minimum_address, bytes(s.data)) for s in binfile.segments)


# Non-overlapping random images: gaps and lengths chosen so that runs never touch.
random_images = st.lists(
    st.tuples(st.integers(1, 0x30000), st.binary(min_size=1, max_size=300)), max_size=5
).map(
    lambda parts: [
        (sum(gap + 300 for gap, _ in parts[: i + 1]) + 0x0800_0000 * (i % 2), data)
        for i, (_, data) in enumerate(parts)
    ]
)


@given(random_images, st.sampled_from([1, 16, 32, 255]))
def test_fast_ihex_equals_bincopy(segments: list[tuple[int, bytes]], record_size: int) -> None:
    text = to_ihex(segments, record_size)
    parsed = parse_ihex_fast(text)
    assert parsed is not None
    fast, notes = parsed
    assert fast == via_bincopy(text) and notes == []
    assert fast == Image.from_segments(segments)


def test_fast_ihex_segment_addressing_matches_bincopy() -> None:
    text = b"\n".join(
        [
            b":020000021000EC",  # extended segment 0x1000 -> base 0x10000
            b":0400100001020304E2",
            b":020000040001F9",  # extended linear 0x0001 -> adds 0x10000 (bincopy adds both)
            b":02000000AABB99",
            b":0400000508003000BF",  # start linear address
            b":00000001FF",
            b"",
        ]
    )
    parsed = parse_ihex_fast(text)
    assert parsed is not None
    fast = parsed[0]
    assert fast == via_bincopy(text)
    assert fast.segments == (Segment(0x10010, b"\x01\x02\x03\x04"), Segment(0x20000, b"\xaa\xbb"))


def test_ihex_checksum_error_names_the_line(tmp_path: Path) -> None:
    lines = to_ihex([(0x08000000, bytes(range(100)))]).decode().splitlines()
    lines[2] = lines[2][:-2] + ("00" if lines[2][-2:] != "00" else "01")
    path = tmp_path / "bad.hex"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ChecksumError, match=r"bad\.hex, line 3: record checksum is 0x"):
        load_image(path)


def test_ihex_unusual_input_falls_back_to_bincopy(tmp_path: Path) -> None:
    text = to_ihex([(0x100, b"hello world")]).decode()
    # Trailing blanks and CRLF are fine for the fast path; indented records are not.
    crlf = text.replace("\n", "  \r\n")
    assert parse_ihex_fast(crlf.encode()) == (Image.from_segments([(0x100, b"hello world")]), [])
    spaced = "".join("  " + line for line in crlf.splitlines(keepends=True))
    assert parse_ihex_fast(spaced.encode()) is None
    path = tmp_path / "a.ihx"
    path.write_text(spaced)
    assert load_image(path) == Image.from_segments([(0x100, b"hello world")])
    bad = spaced.replace(":0B", ":0C", 1)
    path.write_text(bad)
    with pytest.raises(
        FormatError, match=r"a\.ihx, line 1: bad Intel HEX record: .* has wrong size"
    ):
        load_image(path)


def test_ihex_overlap_is_an_error(tmp_path: Path) -> None:
    text = to_ihex([(0x100, b"abcd")]) + to_ihex([(0x102, b"xy")])
    text = text.replace(b":00000001FF\n", b"", 1)
    path = tmp_path / "o.hex"
    path.write_bytes(text)
    with pytest.raises(
        FormatError, match="overlapping data in Intel HEX file: 0x00000102 is given by line"
    ):
        load_image(path)


def test_srec_load_and_overlap(tmp_path: Path) -> None:
    binfile = bincopy.BinFile()
    binfile.add_binary(b"\x01" * 70, address=0x08000000)
    binfile.add_binary(b"\x02" * 5, address=0x08001000)
    for name in ("a.s19", "a.srec", "a.mot", "firmware"):
        (tmp_path / name).write_text(binfile.as_srec())
        assert load_image(tmp_path / name).segments == (
            Segment(0x08000000, b"\x01" * 70),
            Segment(0x08001000, b"\x02" * 5),
        )
    records = binfile.as_srec().splitlines()
    # the same record twice: identical bytes merge, with a note
    (tmp_path / "dup.s19").write_text("\n".join([records[0], records[1], records[1]]))
    notes: list[str] = []
    assert load_image(tmp_path / "dup.s19", notes=notes).segments[0] == Segment(
        0x08000000, b"\x01" * 64
    )
    assert notes == [
        "the S-record file gives identical bytes twice, merged: 0x08000020..0x0800003f (lines 2 "
        "and 3)"
    ]
    other = records[1].replace("0101", "0303", 1)
    other = other[:-2] + f"{(~sum(bytes.fromhex(other[2:-2]))) & 0xFF:02X}"
    (tmp_path / "dup.s19").write_text("\n".join([records[0], records[1], other]))
    with pytest.raises(FormatError, match=r"dup\.s19, line 3: overlapping data"):
        load_image(tmp_path / "dup.s19")
    corrupt = records[1][:-2] + ("00" if records[1][-2:] != "00" else "01")
    (tmp_path / "bad.s19").write_text("\n".join([records[0], corrupt]))
    with pytest.raises(ChecksumError, match=r"bad\.s19, line 2: bad S-record record"):
        load_image(tmp_path / "bad.s19")


def make_elf(segments: list[tuple[int, int, bytes, int]]) -> bytes:
    """ELF32 LE ARM executable; each segment is (p_type, p_vaddr, data, p_paddr)."""
    header_size, ph_size = 52, 32
    offset = header_size + ph_size * len(segments)
    program_headers, blobs = b"", b""
    for p_type, vaddr, data, paddr in segments:
        program_headers += struct.pack(
            "<8I", p_type, offset + len(blobs), vaddr, paddr, len(data), len(data) + 16, 5, 4
        )
        blobs += data
    ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)  # ELFCLASS32, LSB, version 1
    header = ident + struct.pack(
        "<HHIIIIIHHHHHH", 2, 40, 1, 0x08000101, header_size, 0, 0x05000000, 52, 32,
        len(segments), 40, 0, 0,
    )  # fmt: skip
    return header + program_headers + blobs


def test_elf_uses_load_addresses(tmp_path: Path) -> None:
    text = bytes(range(64))
    data = b"DATA" * 4  # .data runs at 0x20000000 but is stored in flash after .text
    elf = make_elf(
        [
            (1, 0x08000000, text, 0x08000000),
            (1, 0x20000000, data, 0x08000040),
            (4, 0x0, b"note", 0x0),  # PT_NOTE: ignored
        ]
    )
    path = tmp_path / "app.axf"
    path.write_bytes(elf)
    image = load_image(path)
    assert image.segments == (Segment(0x08000000, text + data),)
    (tmp_path / "noext").write_bytes(elf)
    assert load_image(tmp_path / "noext") == image


def test_elf_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.elf"
    path.write_bytes(b"\x7fELF" + b"\x01" * 20)
    with pytest.raises(FormatError, match=r"bad\.elf: not a valid ELF file"):
        load_image(path)
    path.write_bytes(make_elf([(4, 0, b"note", 0)]))
    with pytest.raises(FormatError, match="no loadable"):
        load_image(path)


def test_bin_needs_address(tmp_path: Path) -> None:
    path = tmp_path / "app.bin"
    path.write_bytes(b"\x00\x50\x00\x20")
    with pytest.raises(FormatError, match="needs a load address") as info:
        load_image(path)
    assert info.value.hint is not None and "FILE@ADDR" in info.value.hint
    assert load_image(path, address=0x08003000).segments == (
        Segment(0x08003000, b"\x00\x50\x00\x20"),
    )
    with pytest.raises(FormatError, match="32-bit"):
        load_image(path, address=0xFFFFFFFE)
    hexfile = tmp_path / "a.hex"
    hexfile.write_bytes(to_ihex([(0, b"x")]))
    with pytest.raises(FormatError, match="applies only to raw binary"):
        load_image(hexfile, address=0)


def test_dfu_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.dfu"
    path.write_bytes(b"DfuSe\x01")
    with pytest.raises(FormatError, match="read_dfu") as info:
        load_image(path)
    assert info.value.hint is not None and "dfuse unpack" in info.value.hint


@pytest.mark.parametrize("name", ["out.hex", "out.s19", "out.srec"])
def test_save_and_reload(tmp_path: Path, name: str) -> None:
    image = Image.from_segments([(0x08000000, bytes(range(200))), (0x08010000, b"tail")])
    save_image(image, tmp_path / name)
    assert load_image(tmp_path / name) == image


def test_save_bin_contiguous_only(tmp_path: Path) -> None:
    image = Image.from_segments([(0x100, b"ab"), (0x104, b"cd")])
    with pytest.raises(FormatError, match="2 separate runs"):
        save_image(image, tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()
    assert image_to_bytes(image, "bin", fill=0xFF) == b"ab\xff\xffcd"
    with pytest.raises(FormatError, match="cannot tell the output format"):
        save_image(image, tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []


def test_ihex_past_32_bits(tmp_path: Path) -> None:
    path = tmp_path / "high.hex"
    path.write_text(":02000004FFFFFC\n:04FFFE0001020304F5\n:00000001FF\n")
    with pytest.raises(FormatError, match="outside the 32-bit address space"):
        load_image(path)


def test_pack_conflicting_names_and_empty(tmp_path: Path) -> None:
    from pydfuse.formats import PackInput, build_dfuse

    (tmp_path / "a.bin").write_bytes(b"a")
    (tmp_path / "b.bin").write_bytes(b"b")
    with pytest.raises(FormatError, match="alt 0 is named both 'X' and 'Y'"):
        build_dfuse(
            [
                PackInput(0, tmp_path / "a.bin", "X", 0),
                PackInput(0, tmp_path / "b.bin", "Y", 1),
            ]
        )
    ok = build_dfuse(
        [PackInput(3, tmp_path / "a.bin", None, 0), PackInput(3, tmp_path / "b.bin", "Y", 1)]
    )
    assert [(t.alt, t.name, t.elements) for t in ok.targets] == [(3, "Y", (Segment(0, b"ab"),))]
