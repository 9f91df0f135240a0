"""``dfuse flash`` into one-time-programmable memory (the F4 ROM's ``@OTP Memory``, alt 2):
refused without --force, saying the bytes can never be changed again; with --force the warning
naming what becomes permanent is printed before the first byte is sent, so it is there even
when the write then fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse.cli.main import main

Capsys = pytest.CaptureFixture[str]


def _files(tmp_path: Path) -> tuple[list[str], str, Path]:
    otp = tmp_path / "otp.bin"
    otp.write_bytes(bytes(range(32)) + b"\xff" * 480 + b"\x00" + b"\xff" * 15)  # block 0 + LOCKB0
    sim = ["--sim", "stm32f4-rom", "--sim-state", str(tmp_path / "board.json")]
    return sim, f"{otp}@0x1FFF7800", tmp_path / "back.bin"


def test_otp_flash_is_refused_without_force(capsys: Capsys, tmp_path: Path) -> None:
    sim, otp, back = _files(tmp_path)
    assert main([*sim, "flash", "-a", "2", otp]) == 3
    err = capsys.readouterr().err
    assert "refusing to write one-time-programmable memory" in err
    assert "can never be erased or changed back" in err and "LOCKS OTP block(s) 0" in err
    assert "add --force" in err
    assert main([*sim, "upload", "-a", "2", "-s", "0x1FFF7800:528", str(back)]) == 0
    assert back.read_bytes() == b"\xff" * 528


def test_forced_otp_flash_warns_before_the_first_byte(capsys: Capsys, tmp_path: Path) -> None:
    sim, otp, back = _files(tmp_path)
    assert main([*sim, "sim", "fault", "program", "errPROG"]) == 0
    capsys.readouterr()
    assert main([*sim, "flash", "--force", "-a", "2", otp]) == 5  # the write fails ...
    err = capsys.readouterr().err
    assert "PERMANENT (--force)" in err  # ... and the user was told what it would fix for good
    assert "LOCKS OTP block(s) 0 for ever" in err
    assert main([*sim, "flash", "--force", "-a", "2", otp]) == 0
    assert "PERMANENT (--force)" in capsys.readouterr().err
    assert main([*sim, "upload", "-a", "2", "-s", "0x1FFF7800:528", str(back)]) == 0
    assert back.read_bytes()[:32] == bytes(range(32)) and back.read_bytes()[512] == 0
