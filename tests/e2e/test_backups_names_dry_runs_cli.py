"""On the virtual board from the command line: a full backup checks as it flashes, a target
packed for the wrong memory is named, and ``--dry-run`` says what the real run would do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.formats import pack_images, save_image
from pydfuse.sim.board import VirtualBoard


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", "stm3210e-eval", "--sim-state", str(tmp_path / "board.json")]


def _app(tmp_path: Path, **kw: int) -> str:
    path = tmp_path / "app.hex"
    save_image(build_demo_app(**kw), path)
    return str(path)


def test_full_backup_checks_as_it_flashes(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "flash", _app(tmp_path), "-q"]) == 0
    backup = str(tmp_path / "all.dfu")
    assert main([*sim, "upload", backup, "-q"]) == 0
    capsys.readouterr()
    # with the device: the bootloader bytes it holds are left out, as flash leaves them out
    assert main([*sim, "check", backup, "--no-profile"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "left out 0x08000000..0x08002fff of Internal Flash" in out
    assert "link it for" not in out and "UNSAFE" not in out
    # with only a profile: a note saying what flash will do with them
    assert main(["check", backup, "--profile", "stm3210e-eval", "--json"]) == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    notes = [f for t in report["targets"] for f in t["findings"] if f["severity"] == "info"]
    assert notes[0]["code"] == "placement.read-only-backup"
    assert report["errors"] == 0
    # ...and flash agrees
    assert main([*sim, "flash", backup, "--full", "-q"]) == ExitCode.OK


def test_target_packed_for_the_wrong_memory_is_a_warning(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "swapped.dfu"
    pack_images([(1, "NOR Flash", build_data_blob(0, 4096))]).write(wrong)
    assert main([*sim, "check", str(wrong), "--no-profile"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "target.name-mismatch" in out and "NOR Flash : M29W128F is alternate 2" in out
    assert main([*sim, "flash", str(wrong), "-q"]) == ExitCode.OK
    assert "warning: target 1 is named 'NOR Flash'" in capsys.readouterr().err
    assert main(["check", str(wrong), "--profile", "stm3210e-eval", "--json"]) == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["warnings"] == 1
    assert report["targets"][0]["findings"][0]["code"] == "target.name-mismatch"


def test_dry_run_says_what_the_real_run_would_do(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = _app(tmp_path)
    assert main([*sim, "flash", app, "--leave", "-q"]) == 0
    capsys.readouterr()
    state = tmp_path / "board.json"
    before = state.read_bytes()
    assert main([*sim, "flash", _app(tmp_path, version=2), "--leave", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would send DFU_DETACH to 0483:df12" in out
    assert "would leave DFU mode and start the application at 0x08003000" in out
    assert "write 0x08003000.." in out
    board = VirtualBoard.load(state)
    assert board.running == "application" and state.read_bytes() == before
