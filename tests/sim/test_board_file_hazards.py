"""A --sim-state file reached in unusual ways stays one board (QA of issue #9): through a
symbolic link (the link's target is the board: updated in place, one lock for both names), a
journal written by short writes, a revision too long for a line, a number too long to read."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from pydfuse.sim import boardfile
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.boardfile import journal_path, open_board

PROFILE = "stm3210e-eval"


def _fresh() -> VirtualBoard:
    return VirtualBoard(PROFILE, run_firmware=False)


def _not_made() -> VirtualBoard:
    raise AssertionError("the state file exists: no new board is made")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_a_state_file_reached_through_a_link_is_updated_in_place(tmp_path: Path) -> None:
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    with open_board(real, _fresh):
        pass
    link.symlink_to(real.name)
    with open_board(link, _not_made) as board:
        assert board.memory(0).program(0x08010000, b"\x12\x34").ok
    assert link.is_symlink(), "the link was replaced by a copy of the board"
    assert VirtualBoard.load(real).memory(0).read(0x08010000, 2) == b"\x12\x34"
    assert not journal_path(link).exists() and not journal_path(real).exists()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_a_link_and_its_target_share_one_lock(tmp_path: Path) -> None:
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    with open_board(real, _fresh):
        pass
    link.symlink_to(real)
    waited = threading.Event()
    done = threading.Event()

    def second() -> None:
        with open_board(real, _not_made, on_wait=waited.set) as board:
            assert board.memory(0).program(0x08010800, b"\x56").ok
        done.set()

    with open_board(link, _not_made) as board:
        worker = threading.Thread(target=second)
        worker.start()
        assert waited.wait(10), "the target was opened while its link held the board"
        assert board.memory(0).program(0x08010000, b"\x12").ok
    worker.join(10)
    assert done.is_set()
    flash = VirtualBoard.load(real).memory(0)
    assert (flash.read(0x08010000, 1), flash.read(0x08010800, 1)) == (b"\x12", b"\x56")


def test_a_short_journal_write_is_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write to a nearly full disk may store part of a record and return its length; the
    rest must follow, or the next record lands after half a record and the journal (and with
    it the board) cannot be read again."""
    path = tmp_path / "board.json"
    real_write = os.write

    def short_write(fd: int, data: bytes) -> int:
        return real_write(fd, data[: max(1, len(data) // 2)])

    with open_board(path, _fresh) as board:
        unsaved = path.read_bytes()
        monkeypatch.setattr(boardfile.os, "write", short_write)
        assert board.memory(0).program(0x08003000, b"\xaa" * 16).ok
        assert board.memory(0).program(0x08003800, b"\xbb" * 16).ok
        monkeypatch.undo()
        journal = journal_path(path).read_bytes()
    path.write_bytes(unsaved)  # what a kill would have left
    journal_path(path).write_bytes(journal)
    loaded = VirtualBoard.load(path).memory(0)
    assert loaded.read(0x08003000, 16) == b"\xaa" * 16
    assert loaded.read(0x08003800, 16) == b"\xbb" * 16


def test_a_long_revision_does_not_lose_a_killed_commands_journal(tmp_path: Path) -> None:
    path = tmp_path / "board.json"
    with open_board(path, _fresh):
        pass
    doc = json.loads(path.read_text())
    doc["revision"] = "r" * 200
    path.write_text(json.dumps(doc))
    kept = tmp_path / "kept"
    kept.mkdir()

    def killed_during(address: int, data: bytes) -> None:
        """Open the board, write, and end as a kill would: file and journal as they were."""
        shutil.copy(path, kept / "state")
        with open_board(path, _not_made) as board:
            assert board.memory(0).program(address, data).ok
            shutil.copy(journal_path(path), kept / "journal")
        shutil.copy(kept / "state", path)
        shutil.copy(kept / "journal", journal_path(path))

    killed_during(0x08003000, b"\x01")
    killed_during(0x08003800, b"\x02")
    flash = VirtualBoard.load(path).memory(0)
    assert (flash.read(0x08003000, 1), flash.read(0x08003800, 1)) == (b"\x01", b"\x02")


def test_a_number_too_long_to_read_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "board.json"
    path.write_text('{"format": "pydfuse-virtual-board", "version": 1, "serial": ' + "9" * 9999)
    with pytest.raises(ValueError, match="cannot read virtual board state"):
        VirtualBoard.load(path)
