"""``dfuse flash`` of an application linked for the ST demo loader (0x08003000) onto an F4 ROM
board: the image shares sector 0 with the application the board boots (0x08000000). It was
erased and the new image written behind it without a word — ``--leave`` even started it, so all
looked well until the next reset. Now refused (exit 3), the board's application untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image
from pydfuse.sim.board import VirtualBoard


@pytest.mark.parametrize("no_profile", [[], ["--no-profile"]])
def test_an_image_that_would_erase_the_boot_vector_table_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_profile: list[str]
) -> None:
    sim = ["--sim", "stm32f4-rom", "--sim-state", str(tmp_path / "b.json")]
    running = tmp_path / "running.hex"
    save_image(build_demo_app(link_address=0x08000000), running)
    assert main([*sim, "flash", str(running), "-q"]) == ExitCode.OK
    behind_a_loader = tmp_path / "for-the-demo-loader.hex"
    save_image(build_demo_app(link_address=0x08003000), behind_a_loader)
    capsys.readouterr()
    assert main([*sim, "flash", str(behind_a_loader), "--leave", *no_profile]) == ExitCode.UNSAFE
    err = capsys.readouterr().err
    assert "shares the sector 0x08000000..0x08003fff with the application's start" in err
    assert "nothing was written" in err
    board = VirtualBoard.load(tmp_path / "b.json")
    assert board.memory(0).read(0x08000000, 64) == build_demo_app(link_address=0x08000000).read(
        0x08000000, 64
    )
    assert main(["check", str(behind_a_loader), "--profile", "stm32f4-rom"]) == ExitCode.UNSAFE


def test_a_leave_address_without_a_vector_table_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(link_address=0x08000000), app)
    sim = ["--sim", "stm32f4-rom", "--sim-state", str(tmp_path / "b.json")]
    args = [*sim, "flash", str(app), "--leave-address", "0x08000100", "--no-profile"]
    assert main(args) == ExitCode.UNSAFE
    assert "the leave address 0x08000100: " in capsys.readouterr().err
    assert main([*sim, "flash", str(app), "--leave-address", "0x08000000"]) == ExitCode.OK
