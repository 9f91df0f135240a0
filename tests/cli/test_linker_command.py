"""`dfuse linker`: the MEMORY block and vector-table recipe for a board, and `--patch` of a real
CubeMX-style linker script (tests/firmware/ld) that changes only the FLASH origin and length."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from support.firmware import FIRMWARE

Capsys = pytest.CaptureFixture[str]
CUBEMX = FIRMWARE / "ld" / "STM32F103ZETX_FLASH.ld"  # FLASH at 0x8000000, as CubeMX writes it
BEHIND_LOADER = FIRMWARE / "ld" / "STM32F103ZETX_DFU.ld"  # what the test firmware links with


def _linker(capsys: Capsys, *args: str) -> tuple[int, str]:
    code = main(["linker", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "STM32F103ZETX_FLASH.ld"
    shutil.copyfile(CUBEMX, path)
    return path


def test_prints_the_memory_block_behind_the_bootloader_and_the_recipe(capsys: Capsys) -> None:
    code, text = _linker(capsys, "--profile", "stm3210e-eval")
    assert code == ExitCode.OK
    assert "  FLASH  (rx)     : ORIGIN = 0x08003000,   LENGTH = 500K\n" in text
    assert "  RAM    (xrw)    : ORIGIN = 0x20000000,   LENGTH = 64K\n" in text
    assert "VECT_TAB_OFFSET to 0x00003000U" in text
    assert "NVIC_SetVectorTable(NVIC_VectTab_FLASH, 0x3000);" in text
    assert "SCB_VTOR = 0x08003000;" in text
    assert "CONFIG_FLASH_LOAD_OFFSET=0x3000" in text


def test_json_gives_the_numbers(capsys: Capsys) -> None:
    code, text = _linker(capsys, "--profile", "stm3210b-eval", "--json")
    doc = json.loads(text)
    assert code == ExitCode.OK
    assert doc["flash"] == {"origin": 0x08003000, "length": 128 * 1024 - 0x3000}
    assert doc["ram"] == {"origin": 0x20000000, "length": 20 * 1024}
    assert doc["bootloader"] == [0x08000000, 0x08003000]
    assert [s["for"] for s in doc["vector_table"]["settings"]][:2] == [
        "STM32Cube HAL",
        "StdPeriph library",
    ]


def test_patch_shows_the_diff_and_writes_nothing(tmp_path: Path, capsys: Capsys) -> None:
    script = _script(tmp_path)
    code, text = _linker(capsys, "--profile", "stm3210e-eval", "--patch", str(script))
    assert code == ExitCode.OK
    assert "-  FLASH    (rx)    : ORIGIN = 0x8000000,   LENGTH = 512K" in text
    assert "+  FLASH    (rx)    : ORIGIN = 0x8003000,   LENGTH = 500K" in text
    assert "not written: add --write" in text
    assert script.read_bytes() == CUBEMX.read_bytes()
    assert list(tmp_path.iterdir()) == [script]


def test_patch_write_changes_only_the_flash_origin_and_length(
    tmp_path: Path, capsys: Capsys
) -> None:
    script = _script(tmp_path)
    code, text = _linker(capsys, "--profile", "stm3210e-eval", "--patch", str(script), "--write")
    assert code == ExitCode.OK
    assert script.read_bytes() == BEHIND_LOADER.read_bytes()
    changed = [
        (old, new)
        for old, new in zip(
            CUBEMX.read_text().splitlines(), script.read_text().splitlines(), strict=True
        )
        if old != new
    ]
    assert changed == [
        (
            "  FLASH    (rx)    : ORIGIN = 0x8000000,   LENGTH = 512K",
            "  FLASH    (rx)    : ORIGIN = 0x8003000,   LENGTH = 500K",
        )
    ]
    backup = tmp_path / "STM32F103ZETX_FLASH.ld.bak"
    assert backup.read_bytes() == CUBEMX.read_bytes()
    assert f"(the original is {backup})" in " ".join(text.split())


def test_patching_a_patched_script_changes_nothing(tmp_path: Path, capsys: Capsys) -> None:
    script = tmp_path / "app.ld"
    shutil.copyfile(BEHIND_LOADER, script)
    code, text = _linker(capsys, "--profile", "stm3210e-eval", "--patch", str(script), "--write")
    assert code == ExitCode.OK
    assert "already at 0x08003000" in text
    assert list(tmp_path.iterdir()) == [script]


def test_an_earlier_backup_is_never_overwritten(tmp_path: Path, capsys: Capsys) -> None:
    script = _script(tmp_path)
    (tmp_path / "STM32F103ZETX_FLASH.ld.bak").write_text("my older backup")
    code, _ = _linker(capsys, "--profile", "stm3210e-eval", "--patch", str(script), "--write")
    assert code == ExitCode.OK
    assert (tmp_path / "STM32F103ZETX_FLASH.ld.bak").read_text() == "my older backup"
    assert (tmp_path / "STM32F103ZETX_FLASH.ld.bak.1").read_bytes() == CUBEMX.read_bytes()


def test_patch_json_carries_the_diff_and_the_notes(tmp_path: Path, capsys: Capsys) -> None:
    script = tmp_path / "big-ram.ld"
    script.write_text(
        "MEMORY\n{\n  rom (rx)  : ORIGIN = 0x08000000, LENGTH = 0x80000\n"
        "  ram (rwx) : ORIGIN = 0x20000000, LENGTH = 96K\n}\n"
    )
    code, text = _linker(capsys, "--profile", "stm3210e-eval", "--patch", str(script), "--json")
    doc = json.loads(text)["patch"]
    assert code == ExitCode.OK and doc["written"] is False
    assert doc["changes"] == [
        "rom ORIGIN 0x08000000 -> 0x08003000",
        "rom LENGTH 0x80000 -> 0x7D000",
    ]
    assert "ram ends at 0x20018000, past the board's SRAM" in doc["notes"][0]
    assert "+  rom (rx)  : ORIGIN = 0x08003000, LENGTH = 0x7D000" in doc["diff"]


def test_a_script_without_memory_block_is_an_error(tmp_path: Path, capsys: Capsys) -> None:
    script = tmp_path / "sections.ld"
    script.write_text("SECTIONS { .text : { *(.text) } }\n")
    code, text = _linker(capsys, "--profile", "stm3210e-eval", "--patch", str(script), "--write")
    assert code == ExitCode.ERROR
    assert "no MEMORY block in this linker script" in text
    assert script.read_text() == "SECTIONS { .text : { *(.text) } }\n"


def test_rom_bootloader_board_keeps_flash_at_its_start(capsys: Capsys) -> None:
    code, text = _linker(capsys, "--profile", "stm32f4-rom", "--json")
    doc = json.loads(text)
    assert code == ExitCode.OK
    assert doc["flash"]["origin"] == 0x08000000 and doc["bootloader"] is None
    assert "address 0 still maps system memory" in doc["vector_table"]["why"]


def test_cortex_m0_board_gets_the_memory_remap_recipe(capsys: Capsys) -> None:
    code, text = _linker(capsys, "--profile", "stm32f072-rom", "--json")
    settings = json.loads(text)["vector_table"]["settings"]
    assert code == ExitCode.OK
    assert settings[0]["for"] == "Cortex-M0 (no VTOR)"
    assert "__HAL_SYSCFG_REMAPMEMORY_SRAM()" in settings[0]["set"]


def test_write_without_patch_and_no_board_are_usage_errors(capsys: Capsys) -> None:
    assert _linker(capsys, "--profile", "stm3210e-eval", "--write")[0] == ExitCode.USAGE
    code, text = _linker(capsys)
    assert code == ExitCode.USAGE and "give --profile BOARD" in text
