"""``flash`` takes a raw image's address once. Given twice and differently — FILE@ADDR or
--address, and dfu-util's ``-s ADDR`` — it refused FILE@ADDR with --address, but silently
dropped the ``-s`` address and wrote where FILE@ADDR or --address said."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.sim.board import VirtualBoard


@pytest.mark.parametrize(
    "spelling",
    [
        ["{bin}@0x08003000", "-s", "0x08004000"],
        ["{bin}@0x08003000", "-s", "0x08004000:leave"],
        ["{bin}", "--address", "0x08003000", "-s", "0x08004000"],
        ["-D", "{bin}", "--address", "0x08003000", "-s", "0x08004000:leave"],
    ],
)
def test_two_different_addresses_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spelling: list[str]
) -> None:
    app = tmp_path / "app.bin"
    app.write_bytes(build_demo_app().segments[0].data)
    state = tmp_path / "b.json"
    args = [a.format(bin=app) for a in spelling]
    code = main(["--sim", "stm3210e-eval", "--sim-state", str(state), "flash", *args])
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "0x08003000" in err and "0x08004000" in err
    assert (
        not state.exists() or VirtualBoard.load(state).memory(0).read(0x08003000, 4) == b"\xff" * 4
    )


def test_the_same_address_twice_is_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "app.bin"
    app.write_bytes(build_demo_app().segments[0].data)
    args = [f"{app}@0x08003000", "-s", "0x08003000:leave", "--dry-run"]
    assert main(["--sim", "stm3210e-eval", "flash", *args]) == ExitCode.OK
    assert "would leave DFU mode and start the application at 0x08003000" in capsys.readouterr().out
