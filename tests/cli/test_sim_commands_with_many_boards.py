"""``dfuse sim ...`` with several virtual boards (``--sim-boards N`` or ``--sim-state DIR``):
the commands act on one board, so they say so instead of arming a fault on, or serving, the
first board without a word."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main


@pytest.mark.parametrize(
    "command",
    [["sim", "fault", "program", "errPROG"], ["sim", "status"], ["sim", "serve", "--port", "0"]],
    ids=["fault", "status", "serve"],
)
def test_a_sim_command_on_a_directory_of_boards_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    boards = tmp_path / "boards"
    assert main(["--sim", "stm3210e-eval", "--sim-boards", "3", "--sim-state", str(boards),
                 "list", "-q"]) == 0  # fmt: skip
    capsys.readouterr()
    code = main(["--sim", "stm3210e-eval", "--sim-state", str(boards), *command])
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "acts on one virtual board, and there are 3" in err and "board-NN.json" in err
    faults = [json.loads(p.read_text())["faults"] for p in sorted(boards.glob("*.json"))]
    assert all(not f["fail"] for f in faults)


def test_one_board_of_the_directory_takes_its_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = tmp_path / "boards"
    sim = ["--sim", "stm3210e-eval", "--sim-boards", "2", "--sim-state", str(boards)]
    assert main([*sim, "list", "-q"]) == 0
    one = ["--sim", "stm3210e-eval", "--sim-state", str(boards / "board-02.json")]
    assert main([*one, "sim", "fault", "program", "errPROG"]) == 0
    faults = [json.loads(p.read_text())["faults"]["fail"] for p in sorted(boards.glob("*.json"))]
    assert not faults[0] and faults[1]


def test_a_later_command_on_the_directory_sees_every_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = tmp_path / "boards"
    assert main(["--sim", "stm3210e-eval", "--sim-boards", "3", "--sim-state", str(boards),
                 "list", "-q"]) == 0  # fmt: skip
    capsys.readouterr()
    # No --sim-boards this time: the directory's three boards, not the first one alone.
    assert main(["--sim", "stm3210e-eval", "--sim-state", str(boards), "list", "--json"]) == 0
    devices = json.loads(capsys.readouterr().out)["devices"]
    assert [d["path"] for d in devices] == ["1-1", "1-2", "1-3"]
