"""Overlapping Intel HEX / S-record data is refused on every loader path — the fast path, and
the record-by-record path a leading blank, an empty record or a comment-like line sends a file
down — instead of being merged with the later bytes kept. Identical bytes merge, with a note."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse.errors import FormatError
from pydfuse.formats import build_dfuse, load_image
from pydfuse.formats.ihex import parse_ihex_fast
from pydfuse.formats.pack import PackInput


def rec(address: int, data: bytes, kind: int = 0) -> str:
    body = bytes([len(data), address >> 8, address & 0xFF, kind]) + data
    return ":" + (body + bytes([(-sum(body)) & 0xFF])).hex().upper()


EOF_RECORD = ":00000001FF"
# Out of address order, as a linker may emit sections: 8..12, then 0..4, then 4..10, whose
# last two bytes land on the first record's. bincopy's add_ihex merged this and kept the later
# bytes for 8..9 without a word.
OUT_OF_ORDER = [
    rec(8, b"\x11\x12\x13\x14"),
    rec(0, b"\x01\x02\x03\x04"),
    rec(4, b"\x05\x06\x07\x08\x99\x98"),
]


def _write(tmp_path: Path, lines: list[str], name: str = "o.hex") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "prefix",
    [[], [" " + rec(0x100, b"\x00")], [rec(0x200, b"")], ["", "   "]],
    ids=["plain", "leading-space", "empty-record", "blank-lines"],
)
def test_overlap_is_refused_on_every_path(tmp_path: Path, prefix: list[str]) -> None:
    path = _write(tmp_path, [*prefix, *OUT_OF_ORDER, EOF_RECORD])
    with pytest.raises(FormatError) as refused:
        load_image(path)
    first, again = len(prefix) + 1, len(prefix) + 3
    assert str(refused.value).endswith(
        f"overlapping data in Intel HEX file: 0x00000008 is given by line {first} and again, "
        f"with other bytes, by line {again}"
    )
    assert refused.value.line == again


def test_the_fast_path_and_the_record_path_say_the_same(tmp_path: Path) -> None:
    plain = _write(tmp_path, [*OUT_OF_ORDER, EOF_RECORD], "a.hex")
    spaced = _write(tmp_path, [" " + line for line in [*OUT_OF_ORDER, EOF_RECORD]], "b.hex")
    assert parse_ihex_fast(spaced.read_bytes()) is None  # the record path, for sure
    messages = []
    for path in (plain, spaced):
        with pytest.raises(FormatError) as refused:
            load_image(path)
        messages.append(str(refused.value).split(": ", 1)[1])
    assert messages[0] == messages[1]


def test_identical_overlapping_bytes_merge_with_a_note(tmp_path: Path) -> None:
    lines = [" " + rec(0, b"\x01\x02\x03\x04"), rec(2, b"\x03\x04\x05\x06"), EOF_RECORD]
    notes: list[str] = []
    image = load_image(_write(tmp_path, lines), notes=notes)
    assert image.segments[0].data == b"\x01\x02\x03\x04\x05\x06"
    assert notes == [
        "the Intel HEX file gives identical bytes twice, merged: 0x00000002..0x00000003 "
        "(lines 1 and 2)"
    ]
    # pack says so too
    packed = build_dfuse([PackInput(0, _write(tmp_path, lines, "p.hex"))])
    assert packed.warnings == tuple(notes)


def test_s_records_out_of_order_overlap_is_refused(tmp_path: Path) -> None:
    def srec(address: int, data: bytes) -> str:
        body = bytes([len(data) + 3, address >> 8, address & 0xFF]) + data
        return "S1" + (body + bytes([~sum(body) & 0xFF])).hex().upper()

    lines = ["S0030000FC", srec(8, b"\x11\x12"), srec(0, b"\x01" * 8), srec(6, b"\x07\x07\x99")]
    with pytest.raises(FormatError, match=r"o\.s19, line 4: overlapping data in S-record file"):
        load_image(_write(tmp_path, lines, "o.s19"))
