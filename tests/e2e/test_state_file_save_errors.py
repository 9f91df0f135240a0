"""A --sim-state file that cannot be opened or saved is one error with a true hint (QA of issue
#9): never a traceback, and never the advice to delete a board that is fine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pydfuse import ops
from pydfuse.cli.main import main
from pydfuse.errors import DfuseError
from pydfuse.sim.boardfile import journal_path

PROFILE = "stm3210e-eval"


def test_a_board_that_cannot_be_saved_is_one_error_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "boards"
    folder.mkdir()
    state = folder / "board.json"
    with pytest.raises(DfuseError) as info, ops.sim_environment(PROFILE, state) as env:
        assert env.boards[0].memory(0).program(0x08010000, b"\x12\x34").ok
        shutil.rmtree(folder)  # the directory went away while the command ran
    message = f"{info.value} {info.value.hint}"
    assert "board.json" in message and "could not be saved" in message
    assert journal_path(state).name in message


def test_a_journal_that_cannot_be_opened_does_not_say_delete_the_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "board.json"
    assert main(["--sim", PROFILE, "--sim-state", str(state), "-q", "list"]) == 0
    kept = state.read_bytes()
    journal_path(state).mkdir()  # something in the way of the journal
    code = main(["--sim", PROFILE, "--sim-state", str(state), "list"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert journal_path(state).name in err
    assert "delete the file" not in err
    assert state.read_bytes() == kept
