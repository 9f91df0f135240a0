"""`dfuse check` end to end: one test per classic mistake, asserting the exact message and the
exit code (0 safe, 3 unsafe), plus JSON output and usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.formats import DfuseFile, DfuseTarget, Image, image_to_bytes
from support.images import app_image

Capsys = pytest.CaptureFixture[str]


def _dfu(tmp_path: Path, *targets: tuple[int, Image]) -> str:
    path = tmp_path / "fw.dfu"
    DfuseFile(tuple(DfuseTarget.from_image(alt, image) for alt, image in targets)).write(path)
    return str(path)


def _bin(tmp_path: Path, image: Image) -> str:
    path = tmp_path / "fw.bin"
    path.write_bytes(image.segments[0].data)
    return str(path)


def _check(capsys: Capsys, *args: str) -> tuple[int, str]:
    code = main(["check", *args, "--profile", "stm3210e-eval"])
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())  # rich may wrap long lines


def test_good_application_is_safe(tmp_path: Path, capsys: Capsys) -> None:
    code, text = _check(capsys, _dfu(tmp_path, (0, app_image(0x08003000))))
    assert code == ExitCode.OK
    assert "target 0 (ST...) -> Internal Flash: 0x08003000..0x080037ff (2 KiB), application" in text
    assert "OK: safe to flash (0 warnings)" in text
    # the plan, timed with the profile's §6.1 flash figures
    assert "plan: erase 1 sector (2 KiB), write 2 KiB in 2 blocks of ≤ 1024 B, modeled" in text


def test_linked_for_0x08000000_loaded_at_0x08003000(tmp_path: Path, capsys: Capsys) -> None:
    image = app_image(0x08003000, link=0x08000000)
    code, text = _check(capsys, _bin(tmp_path, image), "--address", "0x08003000")
    assert code == ExitCode.UNSAFE == 3
    assert (
        "error vector.linked-elsewhere: this image's vectors point at 0x080001c4: it was linked "
        "for 0x08000000 but is being loaded at 0x08003000; move FLASH ORIGIN in your linker "
        "script to 0x08003000 and set VTOR to 0x3000 (SCB->VTOR = 0x08003000, or "
        "VECT_TAB_OFFSET 0x3000 in system_stm32f10x.c)"
    ) in text
    assert "UNSAFE: 1 error, 0 warnings; do not flash this file" in text


def test_overlapping_the_bootloader(tmp_path: Path, capsys: Capsys) -> None:
    hex_path = tmp_path / "app.hex"
    hex_path.write_bytes(image_to_bytes(app_image(0x08000000, size=0x4000), "hex"))
    code, text = _check(capsys, str(hex_path))
    assert code == ExitCode.UNSAFE
    assert (
        "error placement.read-only: 0x08000000..0x08002fff lies in read-only sectors (the "
        "bootloader); this image starts at 0x08000000 — link it for 0x08003000"
    ) in text


def test_too_large(tmp_path: Path, capsys: Capsys) -> None:
    image = app_image(0x08003000, size=600 * 1024)
    code, text = _check(capsys, _bin(tmp_path, image), "--address", "0x08003000")
    assert code == ExitCode.UNSAFE
    assert (
        "error placement.too-large: this image holds 600 KiB: 100 KiB too large for the "
        "500 KiB writable behind the bootloader (from 0x08003000)"
    ) in text
    assert "0x08080000 is outside Internal Flash (0x08000000..0x0807ffff)" in text


def test_nor_image_at_the_spi_address(tmp_path: Path, capsys: Capsys) -> None:
    nor = Image.from_segments([(0x00000000, b"\x5a" * 4096)])
    code, text = _check(capsys, _dfu(tmp_path, (0, app_image(0x08003000)), (2, nor)))
    assert code == ExitCode.UNSAFE
    assert (
        "error target.wrong-memory: this image at 0x00000000 is for SPI Flash (alt 1) but "
        "target 2 is NOR Flash at 0x64000000..0x64ffffff; put it in a target for alt 1, or "
        "link it for 0x64000000"
    ) in text


def test_gaps_are_reported_but_safe(tmp_path: Path, capsys: Capsys) -> None:
    app = app_image(0x08003000)
    config = Image.from_segments([(0x08010000, b"\x01" * 64)])
    code, text = _check(capsys, _dfu(tmp_path, (0, app.merged_with(config))))
    assert code == ExitCode.OK
    # Whole sectors in a gap keep what they hold (MicroPython keeps its filesystem so): info.
    assert (
        "info placement.gap-stale: the image has a gap at 0x08003800..0x0800ffff (50 KiB) "
        "covering 25 whole sectors that will be neither erased nor written: they keep their "
        "old contents (a filesystem or settings there survive)"
    ) in text
    assert "OK: safe to flash (0 warnings)" in text


def test_json_report(tmp_path: Path, capsys: Capsys) -> None:
    path = _dfu(tmp_path, (0, app_image(0x08000000, size=0x4000)))
    code = main(["check", path, "--profile", "stm3210e-eval", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == ExitCode.UNSAFE
    assert data["ok"] is False and data["profile"] == "stm3210e-eval" and data["errors"] == 1
    assert data["targets"][0]["findings"][0]["code"] == "placement.read-only"
    assert data["targets"][0]["findings"][0]["address"] == 0x08000000
    assert data["targets"][0]["plan"] is None  # unsafe targets get no plan
    good = _dfu(tmp_path, (0, app_image(0x08003000, size=0x1000)))
    assert main(["check", good, "--profile", "stm3210e-eval", "--json"]) == ExitCode.OK
    plan = json.loads(capsys.readouterr().out)["targets"][0]["plan"]
    assert plan["erases"] == [
        {"address": 0x08003000, "size": 2048},
        {"address": 0x08003800, "size": 2048},
    ]
    assert plan["writes"] == [{"address": 0x08003000, "size": 0x1000}]
    assert (plan["blocks"], plan["transfer_size"]) == (4, 1024)
    assert plan["modeled_time_s"] > 0


def test_sim_profile_is_used_and_profile_is_required(tmp_path: Path, capsys: Capsys) -> None:
    path = _dfu(tmp_path, (0, app_image(0x08000000)))
    assert main(["--sim", "stm32f4-rom", "check", path]) == ExitCode.OK  # ROM: no bootloader area
    assert "application" in capsys.readouterr().out
    # No profile and no --sim: the connected DFU device is the board; there is none here.
    assert main(["check", path]) == ExitCode.NO_DEVICE
    assert "give --profile BOARD" in capsys.readouterr().err
    assert main(["check", path, "--profile", "nope"]) == ExitCode.USAGE
    assert "unknown board profile 'nope'" in capsys.readouterr().err


def test_bin_needs_an_address(tmp_path: Path, capsys: Capsys) -> None:
    code, text = _check(capsys, _bin(tmp_path, app_image(0x08003000)))
    assert code == ExitCode.ERROR
    assert "error:" in text


def test_plain_dfu_board_and_dfuse_options(tmp_path: Path, capsys: Capsys) -> None:
    # the plain-dfu profile reports a bare name, not a layout: its sectors come from the profile
    path = _bin(tmp_path, app_image(0x08000000, sp=0x20005000))
    assert main(["check", path, "--address", "0x08000000", "--profile", "plain-dfu"]) == 0
    assert "-> Firmware: 0x08000000..0x080007ff (2 KiB), application" in capsys.readouterr().out
    dfu = _dfu(tmp_path, (0, app_image(0x08003000)))
    assert main(["check", dfu, "--address", "0x0", "--profile", "stm3210e-eval"]) == 2
    assert "--address is for raw images" in capsys.readouterr().err
    assert main(["check", dfu, "--alt", "1", "--profile", "stm3210e-eval"]) == 2
    assert "has no target for alt 1" in capsys.readouterr().err


def test_micropython_f4_image_keeping_its_filesystem_is_quietly_safe(
    tmp_path: Path, capsys: Capsys
) -> None:
    # MicroPython's F4 .dfu: the vector sector at 0x08000000 and the rest from 0x08020000;
    # sectors 1-4 (the filesystem) lie in the gap and are kept. The ROM makes no stack-pointer
    # mask test, so a stack top at the end of 128 KB of SRAM gets no note either.
    head = app_image(0x08000000, size=0x3000, sp=0x20020000)
    rest = Image.from_segments([(0x08020000, bytes(range(256)) * 64)])
    path = _dfu(tmp_path, (0, head.merged_with(rest)))
    code = main(["check", path, "--profile", "stm32f4-rom"])
    out = capsys.readouterr()
    text = " ".join((out.out + out.err).split())
    assert code == ExitCode.OK
    assert "OK: safe to flash (0 warnings)" in text
    assert "covering 4 whole sectors" in text and "stack-mask" not in text


def test_a_dfu_with_no_targets_is_a_clean_error(tmp_path: Path, capsys: Capsys) -> None:
    empty = _dfu(tmp_path)
    for command in ("check", "map"):
        code = main([command, empty, "--profile", "stm3210e-eval", "--json"])
        assert code == ExitCode.ERROR, command
        error = json.loads(capsys.readouterr().out)
        assert "has no targets" in error["error"] and "alt None" not in error["error"]
    assert main(["--sim", "stm3210e-eval", "check", empty, "--no-profile"]) == ExitCode.ERROR
    assert "has no targets" in capsys.readouterr().err
