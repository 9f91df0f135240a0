"""`dfuse linker --patch --write` on scripts as they come from Windows and from real projects:
line endings and every other byte stay as they were (the .bak is the original, byte for byte),
comments are not taken for the MEMORY block, and a FLASH region written as an expression is
named as such instead of "no region lies in the board's flash"."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from support.firmware import FIRMWARE

Capsys = pytest.CaptureFixture[str]
CUBEMX = FIRMWARE / "ld" / "STM32F103ZETX_FLASH.ld"
BEHIND_LOADER = FIRMWARE / "ld" / "STM32F103ZETX_DFU.ld"


def _patch(capsys: Capsys, script: Path, *extra: str) -> tuple[int, str]:
    code = main(["linker", "--profile", "stm3210e-eval", "--patch", str(script), *extra])
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def test_crlf_script_keeps_its_line_endings(tmp_path: Path, capsys: Capsys) -> None:
    original = CUBEMX.read_bytes().replace(b"\n", b"\r\n")  # as CubeIDE writes it on Windows
    script = tmp_path / "STM32F103ZETX_FLASH.ld"
    script.write_bytes(original)
    code, _ = _patch(capsys, script, "--write")
    assert code == ExitCode.OK
    assert script.read_bytes() == BEHIND_LOADER.read_bytes().replace(b"\n", b"\r\n")
    assert (tmp_path / "STM32F103ZETX_FLASH.ld.bak").read_bytes() == original


def test_a_commented_out_memory_block_is_not_the_one_patched(
    tmp_path: Path, capsys: Capsys
) -> None:
    script = tmp_path / "app.ld"
    script.write_text(
        "/* The evaluation build used:\n"
        "MEMORY\n{\n  FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 256K\n}\n*/\n"
        "MEMORY\n{\n"
        "/*FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 128K   old size */\n"
        "  FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 512K\n"
        "  RAM (xrw)  : ORIGIN = 0x20000000, LENGTH = 64K\n}\n"
    )
    code, _ = _patch(capsys, script, "--write")
    assert code == ExitCode.OK
    text = script.read_text()
    assert "  FLASH (rx) : ORIGIN = 0x08003000, LENGTH = 500K\n" in text
    assert text.count("ORIGIN = 0x08000000") == 2  # both comments untouched


def test_a_flash_region_written_as_an_expression_is_named(tmp_path: Path, capsys: Capsys) -> None:
    script = tmp_path / "app.ld"
    script.write_text(
        "MEMORY\n{\n  FLASH (rx) : ORIGIN = FLASH_BASE, LENGTH = FLASH_SIZE\n"
        "  RAM (xrw) : ORIGIN = 0x20000000, LENGTH = 64K\n}\n"
    )
    code, text = _patch(capsys, script)
    assert code == ExitCode.ERROR
    assert "cannot read the FLASH region's ORIGIN/LENGTH (FLASH_BASE, FLASH_SIZE)" in text
    assert "lies in the board's flash" not in text
