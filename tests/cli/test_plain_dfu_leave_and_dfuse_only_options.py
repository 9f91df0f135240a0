"""``flash`` on a plain DFU 1.1 device (not DfuSe) never ignores an option: ``--leave`` (and
``-s :leave``) starts the firmware with a USB bus reset, as dfu-util's ``-R`` does; the
DfuSe-only ones (``--mass-erase``, ``--leave-address``, ``:will-reset``) are refused, naming
why, before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", "plain-dfu", "--sim-state", str(tmp_path / "plain.json")]


@pytest.fixture
def firmware(tmp_path: Path) -> Path:
    """A valid application for the plain device's one flash (0x08000000, 20 KiB SRAM)."""
    path = tmp_path / "fw.bin"
    save_image(build_demo_app(link_address=0x08000000, stack_top=0x20005000, size=4096), path)
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _mode(sim: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, listed = _json(capsys, *sim, "list")
    assert code == 0
    return str(listed["devices"][0]["mode"])


@pytest.mark.parametrize("leave", [["--leave"], ["-s", ":leave"]])
def test_leave_starts_the_firmware_with_a_bus_reset(
    sim: list[str], firmware: Path, leave: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = _json(capsys, *sim, "flash", str(firmware), *leave)
    assert code == 0 and result["left"] is True and result["verified"] is True
    assert _mode(sim, capsys) == "runtime"


def test_without_leave_the_device_stays_in_dfu_mode(
    sim: list[str], firmware: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = _json(capsys, *sim, "flash", str(firmware))
    assert code == 0 and result["left"] is False
    assert _mode(sim, capsys) == "dfu"


def test_a_reset_that_starts_nothing_is_said(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\xff" * 2048)  # no vector table: the bootloader keeps DFU mode
    code, result = _json(capsys, *sim, "flash", str(blob), "--leave")
    assert code == 0 and result["left"] is False
    assert any("stayed in DFU mode" in w for w in result["warnings"])


def test_dry_run_says_the_reset_it_would_send(
    sim: list[str], firmware: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main([*sim, "flash", str(firmware), "--leave", "--dry-run"]) == 0
    assert "would reset the USB bus to start the firmware" in capsys.readouterr().out
    assert _mode(sim, capsys) == "dfu"


@pytest.mark.parametrize(
    ("options", "why"),
    [
        (["--mass-erase"], "mass erase is a DfuSe command"),
        (["-s", ":mass-erase:force"], "mass erase is a DfuSe command"),
        (["--leave-address", "0x08000000"], "no addresses to jump to"),
        (["-s", ":will-reset"], ":will-reset is a DfuSe modifier"),
    ],
)
def test_dfuse_only_options_are_refused_before_anything_is_sent(
    sim: list[str],
    firmware: Path,
    tmp_path: Path,
    options: list[str],
    why: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = tmp_path / "before.bin"
    assert main([*sim, "upload", str(before)]) == 0
    code, error = _json(capsys, *sim, "flash", str(firmware), *options)
    assert code == ExitCode.ERROR
    assert "plain DFU" in error["error"] and why in error["error"]
    after = tmp_path / "after.bin"
    assert main([*sim, "upload", str(after)]) == 0
    assert after.read_bytes() == before.read_bytes()


def test_help_says_what_plain_dfu_devices_do_with_the_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    assert main(["flash", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "plain DFU: a USB bus reset" in text
    assert "DfuSe only" in text
