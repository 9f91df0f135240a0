"""A --sim-state file is untrusted input and a board on the desk (issue #9): bounded
decompression, clean errors for oversized or malformed files, a crash journal that is replayed,
and a save that leaves an unchanged file alone."""

from __future__ import annotations

import base64
import json
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest

from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.boardfile import journal_path, open_board
from pydfuse.sim.state import MAX_STATE_BYTES

PROFILE = "stm3210e-eval"


def _saved(tmp_path: Path) -> tuple[Path, dict]:  # type: ignore[type-arg]
    path = tmp_path / "board.json"
    board = VirtualBoard(PROFILE, run_firmware=False)
    board.memory(0).load(0x08003000, b"\x11" * 2048)
    board.save(path)
    return path, json.loads(path.read_text())


def _with_sector(path: Path, doc: dict, key: str, blob: str) -> None:  # type: ignore[type-arg]
    doc["memories"][0] = {key: blob}
    path.write_text(json.dumps(doc))


def _bomb(mebibytes: int) -> str:
    """A valid zlib stream of ``mebibytes`` MiB of zeros, made without compressing them all:
    after a full flush the deflate state starts over, so every further MiB compresses to the
    same bytes; then an empty final block and the Adler-32 of n zeros (a = 1, b = n)."""
    deflate = zlib.compressobj(9)
    chunk = bytes(1024 * 1024)
    first = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    size = mebibytes * len(chunk)
    tail = b"\x03\x00" + struct.pack(">I", (size % 65521) << 16 | 1)
    return base64.b64encode(first + again * (mebibytes - 1) + tail).decode("ascii")


def test_a_decompression_bomb_is_refused_without_expanding(tmp_path: Path) -> None:
    path, doc = _saved(tmp_path)
    _with_sector(path, doc, "0x08003000", _bomb(1024))
    assert path.stat().st_size < 2 * 1024 * 1024  # about 1.4 MB of text for 1 GiB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="expands past its 2048 bytes"):
            VirtualBoard.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "board.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_STATE_BYTES + 1)  # sparse: nothing to read, only its size
    with pytest.raises(ValueError, match="too large for a virtual board state"):
        VirtualBoard.load(path)


@pytest.mark.parametrize(
    ("key", "blob", "words"),
    [
        ("0x08003001", None, "not the start of a sector"),
        ("0x20000000", None, "not the start of a sector"),
        ("0x8003000", "!!!", "damaged virtual board state"),
        ("08003000", None, "bad sector entry"),
        ("0x08003000", base64.b64encode(zlib.compress(b"x" * 2049)).decode(), "expands past"),
        ("0x08003000", base64.b64encode(zlib.compress(b"x" * 64)[:-6]).decode(), "truncated"),
    ],
)
def test_malformed_sectors_are_clean_errors(
    tmp_path: Path, key: str, blob: str | None, words: str
) -> None:
    path, doc = _saved(tmp_path)
    good = next(iter(doc["memories"][0].values()))
    _with_sector(path, doc, key, good if blob is None else blob)
    with pytest.raises(ValueError, match=words):
        VirtualBoard.load(path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[" * 200_000, "nested too deeply"),
        ("\xff\xfe", "cannot read virtual board state"),
        ('{"format": "pydfuse-virtual-board", "version": 1, "serial": 5}', "damaged"),
    ],
)
def test_malformed_documents_are_clean_errors(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "board.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape") if text[0] != "\xff" else b"\xff")
    with pytest.raises(ValueError, match=words):
        VirtualBoard.load(path)


def test_serial_numbers_are_bounded(tmp_path: Path) -> None:
    path, doc = _saved(tmp_path)
    doc["serial"] = "S" * 10_000
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="bad serial number"):
        VirtualBoard.load(path)


def _fresh() -> VirtualBoard:
    return VirtualBoard(PROFILE, run_firmware=False)


def test_every_memory_change_is_journaled_until_the_save(tmp_path: Path) -> None:
    path = tmp_path / "board.json"
    with open_board(path, _fresh) as board:
        flash = board.memory(0)
        assert flash.erase(0x08003000).ok
        assert flash.program(0x08003000, b"\x01\x02\x03\x04").ok
        # What a killed command leaves: the state file as it was, and the journal.
        assert VirtualBoard.load(path).memory(0).read(0x08003000, 4) == b"\x01\x02\x03\x04"
        assert journal_path(path).stat().st_size > 0
    assert not journal_path(path).exists()  # saved and removed at the end
    assert VirtualBoard.load(path).memory(0).read(0x08003000, 4) == b"\x01\x02\x03\x04"


def test_a_journal_cut_mid_record_is_replayed_up_to_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "board.json"
    with open_board(path, _fresh) as board:
        unsaved = path.read_bytes()  # the file a kill would leave
        board.memory(0).program(0x08003000, b"\xaa" * 16)
        board.memory(0).program(0x08003800, b"\xbb" * 16)
        journal = journal_path(path).read_bytes()
    path.write_bytes(unsaved)
    journal_path(path).write_bytes(journal[:-5])  # the kill came while the last one was written
    loaded = VirtualBoard.load(path)
    assert loaded.memory(0).read(0x08003000, 16) == b"\xaa" * 16
    assert loaded.memory(0).read(0x08003800, 16) == b"\xff" * 16
    damaged = bytearray(journal)
    damaged[-9] ^= 0xFF
    journal_path(path).write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="damaged crash journal record"):
        VirtualBoard.load(path)


def test_a_journal_of_an_older_revision_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "board.json"
    with open_board(path, _fresh) as board:
        board.memory(0).program(0x08003000, b"\xaa" * 16)
        stale = journal_path(path).read_bytes()
    with open_board(path, lambda: pytest.fail("the file exists")) as board:  # type: ignore[arg-type]
        assert board.memory(0).erase(0x08003000).ok
    journal_path(path).write_bytes(stale)  # left over from a save that was not cleaned up
    assert VirtualBoard.load(path).memory(0).read(0x08003000, 16) == b"\xff" * 16


def test_an_unchanged_board_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "board.json"
    with open_board(path, _fresh):
        pass
    before = path.read_bytes()
    with open_board(path, _fresh):
        pass
    assert path.read_bytes() == before


def test_a_killed_save_leaves_no_temporary_behind(tmp_path: Path) -> None:
    path = tmp_path / "board.json"
    stale = tmp_path / ".board.json.abc123.tmp"
    stale.write_text("half a state")
    with open_board(path, _fresh):
        pass
    assert not stale.exists()
