"""What ``dfuse flash`` takes, and what it refuses rather than ignore: a DFU suffix on a raw
image is stripped (never written as data), a plain DFU device takes a .bin without an address,
``-s ADDR`` with a .dfu is refused as dfu-util refuses it, ``:LENGTH`` is refused and
``:will-reset`` is done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import DfuSuffix, append_suffix, pack_images
from pydfuse.sim.board import VirtualBoard


def _state(tmp_path: Path) -> VirtualBoard:
    return VirtualBoard.load(tmp_path / "board.json")


def _sim(tmp_path: Path, profile: str = "stm3210e-eval") -> list[str]:
    return ["--sim", profile, "--sim-state", str(tmp_path / "board.json")]


def _app_bin(tmp_path: Path, *, suffix: bool) -> tuple[Path, bytes]:
    app = build_demo_app()
    payload = app.segments[0].data
    path = tmp_path / "app.bin"
    data = append_suffix(payload, DfuSuffix()) if suffix else payload  # any device
    path.write_bytes(data)
    return path, payload


def test_a_dfu_suffix_is_stripped_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, payload = _app_bin(tmp_path, suffix=True)
    assert main([*_sim(tmp_path), "flash", f"{path}@0x08003000", "--json"]) == ExitCode.OK
    result = json.loads(capsys.readouterr().out)
    assert result["bytes_written"] == len(payload)
    assert any("16-byte DFU suffix" in w and "stripped" in w for w in result["warnings"])
    memory = _state(tmp_path).memory(0)
    end = 0x08003000 + len(payload)
    assert memory.read(0x08003000, len(payload)) == payload
    assert memory.read(end, 16) == b"\xff" * 16  # the suffix bytes were not written
    # a suffix whose CRC is wrong: the file is damaged, refused
    broken = bytearray(path.read_bytes())
    broken[100] ^= 0xFF
    path.write_bytes(bytes(broken))
    assert main([*_sim(tmp_path), "flash", f"{path}@0x08003000"]) == ExitCode.ERROR
    assert "CRC" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [False, True])
def test_a_plain_dfu_device_takes_a_bin_without_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: bool
) -> None:
    path, payload = _app_bin(tmp_path, suffix=suffix)
    sim = _sim(tmp_path, "plain-dfu")
    assert main([*sim, "flash", str(path), "--json"]) == ExitCode.OK
    result = json.loads(capsys.readouterr().out)
    assert result["bytes_written"] == len(payload)
    back = tmp_path / "back.bin"
    assert main([*sim, "upload", str(back), "-q"]) == ExitCode.OK
    assert back.read_bytes()[: len(payload)] == payload
    # a DfuSe device needs the address: refused before anything is sent
    assert main(["--sim", "stm3210e-eval", "flash", str(path)]) == ExitCode.ERROR
    assert "needs a load address" in capsys.readouterr().err


def test_s_address_with_a_dfu_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dfu = tmp_path / "fw.dfu"
    pack_images([(0, "Internal Flash", build_demo_app())]).write(dfu)
    sim = _sim(tmp_path)
    assert main([*sim, "flash", "-D", str(dfu), "-s", "0x08003000:leave"]) == ExitCode.USAGE
    assert "a .dfu file carries its own addresses" in capsys.readouterr().err
    assert main([*sim, "flash", "-D", str(dfu), "-s", ":leave", "-q"]) == ExitCode.OK
    assert _state(tmp_path).running == "application"


def test_length_is_refused_and_will_reset_is_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, payload = _app_bin(tmp_path, suffix=False)
    sim = _sim(tmp_path)
    assert main([*sim, "flash", "-D", str(path), "-s", "0x08003000:0x4000"]) == ExitCode.USAGE
    assert "a LENGTH is for upload" in capsys.readouterr().err
    code = main([*sim, "flash", "-D", str(path), "-s", "0x08003000:will-reset", "--json"])
    assert code == ExitCode.OK
    result = json.loads(capsys.readouterr().out)
    assert result["verified"] is None
    assert any("will-reset" in w and "nothing was read back" in w for w in result["warnings"])
    assert _state(tmp_path).memory(0).read(0x08003000, len(payload)) == payload
