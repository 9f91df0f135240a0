"""The package skeleton: the CLI boundary, the error tree and the image model."""

from __future__ import annotations

import pytest

from pydfuse.cli.main import ExitCode, exit_code_for, main
from pydfuse.errors import (
    DeviceDisconnectedError,
    DfuseError,
    DfuStatusError,
    FormatError,
    PlanError,
    TransportError,
)
from pydfuse.formats import Image, Segment
from pydfuse.spec import State, Status


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "dfuse" in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == ExitCode.USAGE
    assert "No such command" in capsys.readouterr().err


def test_sim_state_needs_sim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sim-state", "x.json", "--help"]) in (0, ExitCode.USAGE)


def test_error_tree_builtins() -> None:
    assert issubclass(FormatError, ValueError)
    assert issubclass(TransportError, OSError)
    assert issubclass(DeviceDisconnectedError, TransportError)
    err = DfuStatusError(Status.ERR_TARGET, State.DFU_ERROR, phase="erase", address=0x08000000)
    assert "ERR_TARGET" in str(err) and "0x08000000" in str(err) and "erase" in str(err)
    assert exit_code_for(err) == ExitCode.DEVICE
    assert exit_code_for(PlanError("x")) == ExitCode.UNSAFE
    assert exit_code_for(DfuseError("x")) == ExitCode.ERROR


def test_format_error_names_place() -> None:
    err = FormatError("bad signature", path="a.dfu", offset=11)
    assert str(err) == "a.dfu, offset 11 (0xb): bad signature"


def test_image_merges_sorts_and_refuses_overlap() -> None:
    img = Image.from_segments([(0x100, b"\x03\x04"), (0x0FE, b"\x01\x02"), (0x200, b"\x05")])
    assert img.segments == (Segment(0xFE, b"\x01\x02\x03\x04"), Segment(0x200, b"\x05"))
    assert img.size == 5 and img.start == 0xFE and img.end == 0x201
    assert img.read(0xFC, 8) == b"\xff\xff\x01\x02\x03\x04\xff\xff"
    with pytest.raises(FormatError, match="overlapping data at 0x00000101"):
        Image.from_segments([(0x100, b"ab"), (0x101, b"c")])
    with pytest.raises(FormatError, match="32-bit"):
        Image.from_segments([(0xFFFFFFFF, b"ab")])
