"""``dfuse flash`` and ``dfuse check`` refuse the classic mistake (exit 3) on a board that
reports nothing but the ST demo's layout strings: the virtual board with ``--no-profile``, so
neither a profile nor the ``--sim`` board's facts help the check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image
from pydfuse.sim.board import VirtualBoard

CLASSIC_PAIRS = [
    (0x08000000, 0x08003000),
    (0x0800C000, 0x08008000),
    (0x08020000, 0x08040000),
]


def _hex(tmp_path: Path, name: str, **kw: int) -> str:
    path = tmp_path / name
    save_image(build_demo_app(**kw), path)
    return str(path)


@pytest.mark.parametrize(("link", "load"), CLASSIC_PAIRS)
@pytest.mark.parametrize("profile", ["stm3210e-eval", "stm32f4-rom"])
def test_flash_and_check_refuse_without_any_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], profile: str, link: int, load: int
) -> None:
    state = tmp_path / "board.json"
    sim = ["--sim", profile, "--sim-state", str(state)]
    app = _hex(tmp_path, "app.hex", link_address=link, load_address=load)
    assert main([*sim, "flash", app, "--no-profile", "--leave"]) == ExitCode.UNSAFE
    err = capsys.readouterr().err
    assert f"linked for 0x{link:08x} but is being loaded at 0x{load:08x}" in err
    assert "nothing was written" in err
    board = VirtualBoard.load(state)
    assert board.memory(0).read(load, 16) == b"\xff" * 16 and board.running == "bootloader"
    assert main([*sim, "flash", app]) == ExitCode.UNSAFE  # with the --sim board's facts too
    capsys.readouterr()
    assert main([*sim, "check", app, "--no-profile", "--json"]) == ExitCode.UNSAFE
    report = json.loads(capsys.readouterr().out)
    codes = [f["code"] for t in report["targets"] for f in t["findings"]]
    assert codes[0] == "vector.linked-elsewhere"
    shares_boot_sector = profile == "stm32f4-rom" and load < 0x08004000  # F4 sector 0
    assert codes[1:] == (["placement.app-start-erased"] if shares_boot_sector else [])
    assert main(["check", app, "--profile", profile]) == ExitCode.UNSAFE


def test_no_profile_really_drops_the_board_facts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stack top valid for a Cortex-M but beyond the E-EVAL's 64 KB of SRAM: only the profile
    # knows that, so the two runs differ exactly there.
    sim = ["--sim", "stm3210e-eval", "--sim-state", str(tmp_path / "b.json")]
    app = _hex(tmp_path, "big_stack.hex", stack_top=0x20020000)
    assert main([*sim, "flash", app, "--dry-run"]) == ExitCode.UNSAFE
    assert "outside SRAM 0x20000000..0x2000ffff" in capsys.readouterr().err
    assert main([*sim, "flash", app, "--no-profile", "--dry-run"]) == ExitCode.OK
    assert main([*sim, "flash", app, "--no-profile", "--profile", "stm3210e-eval"]) == 2


def test_check_on_the_device_says_which_board_when_there_is_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _hex(tmp_path, "app.hex")
    assert main(["check", app, "-S", "NO-SUCH-SERIAL"]) == ExitCode.NO_DEVICE
    err = capsys.readouterr().err
    assert err.startswith("error: which board?") and "give --profile BOARD" in err
