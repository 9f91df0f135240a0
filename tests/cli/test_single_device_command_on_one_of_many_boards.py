"""A single-device command (``-p PATH`` / ``-S SERIAL``) on one of several virtual boards
(``--sim-boards N``): the modeled time is that board's clock and the summary, ``sim`` JSON
member and state file name that board, not the first one; the other boards are untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", "stm3210e-eval", "--sim-boards", "3", "--sim-state", str(tmp_path / "b")]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.hex"
    save_image(build_demo_app(size=4 * 2048), path)
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def _saved(sim: list[str], number: int) -> dict:  # type: ignore[type-arg]
    return json.loads((Path(sim[-1]) / f"board-{number:02d}.json").read_text())  # type: ignore[no-any-return]


def _serials(sim: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [d["serial"] for d in _json(capsys, *sim, "list")["devices"]]


def test_upload_from_the_second_board_takes_its_modeled_time(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _json(capsys, *sim, "upload", "-p", "1-1", "-a", "0", str(tmp_path / "1.bin"))
    second = _json(capsys, *sim, "upload", "-p", "1-2", "-a", "0", str(tmp_path / "2.bin"))
    # Reading 512 KiB takes board 2 as long as board 1 (0.43 s), not the 0 s of board 1's
    # idle clock.
    assert first["modeled_s"] > 0.1
    assert second["modeled_s"] == pytest.approx(first["modeled_s"], rel=0.05)


def test_flash_on_the_second_board_names_it_and_leaves_the_first_alone(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serials = _serials(sim, capsys)
    board1 = _saved(sim, 1)
    doc = _json(capsys, *sim, "flash", str(app), "-p", "1-2", "--leave")
    assert doc["sim"]["serial"] == serials[1] and doc["sim"]["running"] == "application"
    assert doc["modeled_s"] > 0.01
    assert doc["sim"]["virtual_time_s"] >= doc["modeled_s"]
    assert _saved(sim, 2)["running"] == "application"
    assert _saved(sim, 1) == board1  # neither written nor started


def test_leave_by_serial_names_that_board_in_its_summary(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serials = _serials(sim, capsys)
    assert main([*sim, "flash", str(app), "-S", serials[2], "-q"]) == 0
    capsys.readouterr()
    assert main([*sim, "leave", "-S", serials[2]]) == 0
    out = capsys.readouterr().out
    assert f"virtual board stm3210e-eval ({serials[2]}): running application" in out
    assert [_saved(sim, n)["running"] for n in (1, 2, 3)] == ["bootloader"] * 2 + ["application"]
