"""``dfuse check`` against a connected device: the memories come from the device's own layout
strings (here the virtual board through pyusb), not from a profile."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from pydfuse import ops
from pydfuse.checks import TargetImage, preflight
from pydfuse.cli.context import Settings
from pydfuse.cli.main import ExitCode, cli, main
from pydfuse.cli.preflight import board_from_device
from pydfuse.errors import DeviceNotFoundError
from pydfuse.formats import Image


def _device_board(serial: str | None = None):  # type: ignore[no-untyped-def]
    with click.Context(cli, obj=Settings(sim_profile="stm3210e-eval")):
        return board_from_device(ops.DeviceSelector(serial=serial))


def test_board_from_connected_device_uses_its_layouts() -> None:
    board = _device_board()
    assert board.memories[0].to_string() == "@Internal Flash  /0x08000000/06*002Ka,250*002Kg"
    assert board.memories[2].start == 0x64000000
    assert board.sram is None and board.transfer_size == 1024
    image = Image.from_segments([(0x08000000, b"\x00" * 16)])
    report = preflight([TargetImage(0, "x", image)], board.memories, sram=None, app_address=None)
    assert not report.ok
    assert any("read-only" in f.message for t in report.targets for f in t.findings)


def test_no_matching_device_is_a_clear_error() -> None:
    with pytest.raises(DeviceNotFoundError, match="no DFU-mode device"):
        _device_board(serial="NOPE")


def test_check_falls_back_to_the_sim_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "a.bin"
    image.write_bytes(b"\x00" * 8)  # an "application" whose stack pointer is 0
    code = main(["--sim", "stm3210e-eval", "check", str(image), "--address", "0x08003000"])
    assert code == ExitCode.UNSAFE
    assert "stack" in capsys.readouterr().out.lower()
