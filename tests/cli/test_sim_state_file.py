"""Regressions: a damaged, foreign or unsavable ``--sim-state`` file is one clear line.

Found by exercising ``dfuse`` as a user: a corrupted state file used to end in a ValueError
traceback, and a state file in a missing directory in a FileNotFoundError traceback after the
command had already changed the board.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import main

PROFILE = "stm3210e-eval"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_garbage_state_file_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "board.json"
    state.write_text("garbage\n")
    code, _, err = _run(capsys, "--sim", PROFILE, "--sim-state", str(state), "list")
    assert code == 1
    assert err.startswith(f"error: {state}: cannot read virtual board state")
    assert "Traceback" not in err and "hint: delete the file" in err
    assert state.read_text() == "garbage\n"  # left as it was


def test_truncated_state_file_is_refused_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "board.json"
    assert main(["--sim", PROFILE, "--sim-state", str(state), "list"]) == 0
    capsys.readouterr()
    text = state.read_text()
    state.write_text(text[: len(text) // 2])
    code, _, err = _run(capsys, "--sim", PROFILE, "--sim-state", str(state), "erase", "--all")
    assert code == 1
    assert f"error: {state}: cannot read virtual board state" in err
    assert state.read_text() == text[: len(text) // 2]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"memories": [[1], {}, {}]}, "damaged virtual board state"),
        ({"memories": [{"0xZZ": "abc"}, {}, {}]}, "damaged virtual board state"),
        ({"memories": [{"0x08003000": "!!!"}, {}, {}]}, "damaged virtual board state"),
        ({"profile": "no-such-board"}, "unknown board profile 'no-such-board'"),
        ({"format": "something-else"}, "not a pydfuse virtual board state file"),
        ({"version": 99}, "unsupported state version 99"),
    ],
)
def test_damaged_state_documents_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], fragment: str
) -> None:
    state = tmp_path / "board.json"
    assert main(["--sim", PROFILE, "--sim-state", str(state), "list"]) == 0
    capsys.readouterr()
    doc = json.loads(state.read_text())
    doc.update(change)
    state.write_text(json.dumps(doc))
    code, _, err = _run(capsys, "--sim", PROFILE, "--sim-state", str(state), "list")
    assert code == 1
    assert err.startswith(f"error: {state}: ") and fragment in err
    assert len(err.splitlines()) == 2  # the error line and its hint


def test_state_file_for_another_profile_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "board.json"
    assert main(["--sim", PROFILE, "--sim-state", str(state), "list"]) == 0
    capsys.readouterr()
    before = state.read_text()
    code, _, err = _run(capsys, "--sim", "stm3210b-eval", "--sim-state", str(state), "list")
    assert code == 1
    assert "holds a 'stm3210e-eval' board, not 'stm3210b-eval'" in err
    assert state.read_text() == before


def test_state_file_in_missing_directory_is_refused_before_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "missing" / "board.json"
    code, _, err = _run(capsys, "--sim", PROFILE, "--sim-state", str(state), "erase", "--mass")
    assert code == 1
    assert err.startswith(f"error: cannot keep the virtual board in {state}: directory")
    assert "does not exist" in err and "Traceback" not in err
    assert not state.parent.exists()
