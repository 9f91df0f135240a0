"""End to end: the dfu-util spellings that put option bytes on a ROM (``-s 0x1FFFC000 -D``,
``-a 0``, ``:force``), ``erase`` beside write protection and ``check`` on a device, each refused
with one line (and ``--json``) and the virtual chip left as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import main
from pydfuse.sim.board import VirtualBoard

Capsys = pytest.CaptureFixture[str]
LEVEL2_F4 = "ffcc0033ffcc0033ffff0000ffff0000"
LEVEL2_F0 = "cc00ff00ff00ff00ff00ff00ff00ff00"  # the chip writes the complement 0x33 itself


def _file(tmp_path: Path, hexed: str) -> str:
    path = tmp_path / "ob.bin"
    path.write_bytes(bytes.fromhex(hexed))
    return str(path)


@pytest.mark.parametrize(
    ("profile", "block", "words"),
    [
        ("stm32f4-rom", LEVEL2_F4, ["-s", "0x1FFFC000", "-D"]),
        ("stm32f4-rom", LEVEL2_F4, ["-s", "0x1FFFC000:force", "-D"]),
        ("stm32f4-rom", LEVEL2_F4, ["-a", "0", "-s", "0x1FFFC000:force", "-D"]),
        ("stm32f072-rom", LEVEL2_F0, ["-s", "0x1FFFF800:force", "-D"]),
        ("stm32f072-rom", LEVEL2_F0, ["flash", "--force", "-a", "1", "-s", "0x1FFFF800"]),
    ],
)
def test_no_dfu_util_spelling_writes_rdp_level_2(
    capsys: Capsys, tmp_path: Path, profile: str, block: str, words: list[str]
) -> None:
    state = tmp_path / "board.json"
    sim = ["--sim", profile, "--sim-state", str(state)]
    code = main([*sim, *words, _file(tmp_path, block), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 3 and doc["type"] == "PlanError"
    assert "level 2" in doc["error"] and "--permanently-lock-this-chip" in doc["hint"]
    assert VirtualBoard.load(state).rdp_level == 0


def test_erase_beside_write_protection_is_refused_in_one_line(
    capsys: Capsys, tmp_path: Path
) -> None:
    sim = ["--sim", "stm32f4-rom", "--sim-state", str(tmp_path / "board.json")]
    assert main([*sim, "ob", "set", "wrp=0", "--wrp-mode", "write-protection", "-q"]) == 0
    capsys.readouterr()
    assert main([*sim, "erase", "--mass"]) == 3
    err = capsys.readouterr().err
    assert "write-protected sectors would be erased: sector 0" in err
    assert "dfuse option-bytes set wrp=none" in err
    assert main([*sim, "erase", "--address", "0x08004000", "--json"]) == 0  # sector 1 is free
    assert json.loads(capsys.readouterr().out)["erased_sectors"] == [0x08004000]


def test_check_on_the_device_refuses_a_level_2_option_file(capsys: Capsys, tmp_path: Path) -> None:
    sim = ["--sim", "stm32f4-rom"]
    words = ["check", "--no-profile", "--alt", "1", "--address", "0x1FFFC000"]
    code = main([*sim, *words, _file(tmp_path, LEVEL2_F4), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code != 0 and doc["ok"] is False
    codes = [f["code"] for t in doc["targets"] for f in t["findings"]]
    assert "protection.option-bytes" in codes


def test_dfu_util_unprotect_force_states_the_mass_erase_and_confirms_level_0(
    capsys: Capsys, tmp_path: Path
) -> None:
    sim = ["--sim", "stm32f4-rom", "--sim-state", str(tmp_path / "board.json")]
    assert main([*sim, "ob", "set", "rdp=1", "-q"]) == 0
    capsys.readouterr()
    data = _file(tmp_path, "00" * 16)
    assert main([*sim, "-a", "0", "-s", ":unprotect:force", "-D", data]) == 0
    captured = capsys.readouterr()
    assert "MASS-ERASE its whole flash and reset" in captured.err  # said before it is sent
    assert "RDP is level 0 (confirmed by reading its option bytes)" in captured.out
    assert "was not written" in captured.err
    assert VirtualBoard.load(tmp_path / "board.json").rdp_level == 0
