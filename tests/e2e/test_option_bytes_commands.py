"""End to end: ``dfuse option-bytes`` / ``ob``, ``unprotect`` and the read/write-protection
messages of ``list``, ``upload`` and ``flash`` on the virtual ROM boards (issue #12's
acceptance tests), in-process through ``main`` and real pyusb, one ``--sim-state`` board."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image
from pydfuse.sim.board import VirtualBoard

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def f4(tmp_path: Path) -> list[str]:
    return ["--sim", "stm32f4-rom", "--sim-state", str(tmp_path / "board.json")]


def _run(capsys: Capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys: Capsys, *args: str) -> tuple[int, Any]:
    code, out, _ = _run(capsys, *args, "--json")
    return code, json.loads(out)


def _board(tmp_path: Path) -> VirtualBoard:
    return VirtualBoard.load(tmp_path / "board.json")


def _app(tmp_path: Path, size: int = 0x6000) -> Path:
    path = tmp_path / "app.hex"
    image = build_demo_app(link_address=0x08000000, stack_top=0x20020000, size=size)
    save_image(image, path)
    return path


@pytest.mark.parametrize(
    ("profile", "family", "rdp"),
    [("stm32f4-rom", "stm32f2-f4", 0xAA), ("stm32f072-rom", "stm32f0", 0xAA)],
)
def test_option_bytes_shows_the_factory_values_decoded(
    capsys: Capsys, tmp_path: Path, profile: str, family: str, rdp: int
) -> None:
    sim = ["--sim", profile]
    code, doc = _json(capsys, *sim, "option-bytes")
    assert code == 0
    assert doc["family"]["name"] == family and doc["family"]["detected"]
    assert doc["rdp_level"] == 0 and doc["raw"] != "ff" * 16
    fields = {f["name"]: f for f in doc["fields"]}
    assert fields["rdp"]["value"] == rdp and fields["rdp"]["is_default"]
    assert all(f["is_default"] or f["name"] == "sprmod" for f in doc["fields"])
    assert all(f["source"] and f["meaning"] for f in doc["fields"])
    code, out, _ = _run(capsys, *sim, "ob")  # the short form
    assert code == 0
    assert "read protection: level 0" in out and "factory" in out and "wdg_sw" in out


def test_rdp_1_set_verified_uploads_refused_then_unprotect_back_to_level_0(
    capsys: Capsys, tmp_path: Path, f4: list[str]
) -> None:
    assert main([*f4, "-q", "flash", str(_app(tmp_path))]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, *f4, "ob", "set", "rdp=1")
    assert code == 0, out
    assert "rdp    0xAA    0xBB" in out and "came back; verified" in out
    assert "refusal is the confirmation" in out
    assert _board(tmp_path).rdp_level == 1
    assert _json(capsys, *f4, "sim", "status")[1]["rdp_level"] == 1

    code, _, err = _run(capsys, *f4, "upload", str(tmp_path / "back.bin"), "-a", "0")
    assert code == ExitCode.DEVICE
    assert "read-protected (RDP level 1)" in err and "dfuse unprotect --force" in err
    code, out, _ = _run(capsys, *f4, "list")
    assert "read protection: read-protected (RDP level 1)" in out
    code, _, err = _run(capsys, *f4, "flash", str(_app(tmp_path)))
    assert code == ExitCode.DEVICE and "read-protected" in err

    code, _, err = _run(capsys, *f4, "unprotect")
    assert code == ExitCode.ERROR and "MASS-ERASE" in err and "nothing was sent" in err
    code, doc = _json(capsys, *f4, "unprotect", "--force")
    assert code == 0
    assert doc == {
        "device": doc["device"],
        "was_protected": True,
        "sent": True,
        "mass_erased": True,
        "rdp_level_after": 0,
        "confirmed": True,
    }
    board = _board(tmp_path)
    assert board.rdp_level == 0
    assert board.memory(0).read(0x08000000, 0x6000) == b"\xff" * 0x6000
    code, doc = _json(capsys, *f4, "list")
    assert doc["devices"][0]["protection"]["level"] == 0


def test_write_protection_on_two_sectors_blocks_a_flash_of_them(
    capsys: Capsys, tmp_path: Path, f4: list[str]
) -> None:
    code, doc = _json(capsys, *f4, "ob", "set", "wrp=0-1", "--wrp-mode", "write-protection")
    assert code == 0 and doc["verified"] is True and doc["written"]
    assert {
        "field": "wrp",
        "before": "none",
        "after": "0-1",
        "meaning": "sectors protected",
    } in doc["changes"]
    code, doc = _json(capsys, *f4, "ob", "--wrp-mode", "write-protection")
    assert doc["write_protection"]["units"] == [0, 1]
    assert doc["write_protection"]["ranges"] == [{"start": 0x08000000, "end": 0x08008000}]

    code, _, err = _run(capsys, *f4, "flash", str(_app(tmp_path)))
    assert code == ExitCode.UNSAFE
    assert "write-protected sectors would be written: sector 0 (0x08000000-0x08003fff), " in err
    assert "sector 1 (0x08004000-0x08007fff)" in err
    assert "hint: lift the protection first: dfuse option-bytes set wrp=none" in err
    assert _board(tmp_path).memory(0).read(0x08000000, 16) == b"\xff" * 16  # nothing written

    assert main([*f4, "-q", "ob", "set", "wrp=none", "--wrp-mode", "write-protection"]) == 0
    assert main([*f4, "-q", "flash", str(_app(tmp_path))]) == 0


def test_rdp_2_is_refused_without_the_long_flag(
    capsys: Capsys, tmp_path: Path, f4: list[str]
) -> None:
    code, out, err = _run(capsys, *f4, "ob", "set", "rdp=2")
    assert code == ExitCode.UNSAFE and out == ""
    assert "can never be undone" in err and "--permanently-lock-this-chip" in err
    code, doc = _json(capsys, *f4, "ob", "set", "rdp=2")
    assert code == ExitCode.UNSAFE and doc["type"] == "OptionBytesError"
    assert _board(tmp_path).rdp_level == 0


def test_dry_run_shows_the_diff_and_writes_nothing(
    capsys: Capsys, tmp_path: Path, f4: list[str]
) -> None:
    code, out, _ = _run(capsys, *f4, "ob", "set", "bor=1", "wdg_sw=hardware", "--dry-run")
    assert code == 0
    assert "nothing written" in out and "bor_lev  off" in out and "hardware" in out
    assert _board(tmp_path).memory(1).read(0x1FFFC000, 2) == b"\xff\xaa"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ob", "set"], ExitCode.USAGE, "give at least one FIELD=VALUE"),
        # a misspelt field or value is a usage error (qa3: it was exit 3, "unsafe")
        (["ob", "set", "colour=red"], ExitCode.USAGE, "has no option field 'colour'"),
        (["ob", "set", "bor=low"], ExitCode.USAGE, "bor_lev takes one of: 3, 2, 1, off"),
        (["ob", "set", "rdp"], ExitCode.USAGE, "'rdp' is not FIELD=VALUE"),
        (["ob", "set", "--wrp-mode", "write-protection", "wrp=3-1"], ExitCode.USAGE, "backwards"),
        (["ob", "--family", "stm32g4"], ExitCode.UNSAFE, "keeps 48/40 option bytes"),
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(
    capsys: Capsys, f4: list[str], args: list[str], code: int, message: str
) -> None:
    got, _, err = _run(capsys, *f4, *args)
    assert got == code and message in err


def test_a_misspelt_field_is_a_usage_error_naming_the_chip_s_fields(
    capsys: Capsys, tmp_path: Path, f4: list[str]
) -> None:
    before = _board_after_list(capsys, f4, tmp_path)
    code, doc = _json(capsys, *f4, "ob", "set", "nonsense=1")
    assert code == ExitCode.USAGE == doc["exit_code"] and doc["type"] == "UsageError"
    assert "STM32F2 / STM32F4" in doc["error"] and "has no option field 'nonsense'" in doc["error"]
    assert "its fields: wrp, bor_lev, wdg_sw, nrst_stop, nrst_stdby, rdp, nwrp" in doc["error"]
    assert _board(tmp_path).memory(1).read(0x1FFFC000, 16) == before


def _board_after_list(capsys: Capsys, f4: list[str], tmp_path: Path) -> bytes:
    assert _run(capsys, *f4, "list")[0] == 0  # the board file exists
    return _board(tmp_path).memory(1).read(0x1FFFC000, 16)


def test_a_board_without_option_bytes_says_so(capsys: Capsys) -> None:
    code, _, err = _run(capsys, "--sim", "stm3210e-eval", "ob")
    assert code == ExitCode.ERROR and "has no option-byte alternate" in err


def test_unprotect_on_an_unprotected_chip_says_there_is_nothing_to_do(
    capsys: Capsys, tmp_path: Path, f4: list[str]
) -> None:
    code, out, err = _run(capsys, *f4, "unprotect")  # no --force needed to be told that
    assert code == 0, err
    assert "not read-protected (RDP level 0): nothing to do" in out
    assert "MASS-ERASE" not in out + err
    code, doc = _json(capsys, *f4, "unprotect")
    assert code == 0 and doc["sent"] is False and doc["was_protected"] is False
    assert doc["rdp_level_after"] == 0
    code, out, err = _run(capsys, *f4, "unprotect", "--force")  # no mass erase to warn of
    assert code == 0 and "nothing to do" in out and "MASS-ERASE" not in out + err


def test_unprotect_force_warns_of_the_mass_erase_before_sending_it(
    capsys: Capsys, tmp_path: Path, f4: list[str]
) -> None:
    assert _run(capsys, *f4, "ob", "set", "rdp=1")[0] == 0
    code, out, err = _run(capsys, *f4, "unprotect", "--force")
    assert code == 0 and "MASS-ERASE" in err and "read protection removed" in out


def test_f405_write_protection_needs_the_mode_named_because_sprmod_reads_1(
    capsys: Capsys, tmp_path: Path, f4: list[str]
) -> None:
    code, out, _ = _run(capsys, *f4, "ob")
    assert code == 0
    assert "write protection: not known - SPRMOD (nWRP bit 15) reads 1" in out
    assert "F405/407/415/417 reading: write-protected none" in out
    assert "PCROP-mode reading: execute-only (PCROP) sectors 0-11" in out
    code, out, err = _run(capsys, *f4, "ob", "set", "wrp=0-1")
    assert code == ExitCode.UNSAFE and "SPRMOD" in err and "wrp=none would put every" in err
    assert "hint: if this chip is an F405/407/415/417, say so: --wrp-mode write-protection" in err
    code, doc = _json(capsys, *f4, "ob", "set", "wrp=0-1", "--wrp-mode", "write-protection")
    assert code == 0 and doc["verified"] is True
    code, doc = _json(capsys, *f4, "ob", "--wrp-mode", "write-protection")
    assert doc["wrp_mode"] == "write-protection" and doc["write_protection"]["units"] == [0, 1]
    assert {f["name"]: f["value"] for f in doc["fields"]}["sprmod"] == 1  # kept as read
