"""`dfuse map`: terminal rendering (recorded rich console) and the CLI with --svg."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from pydfuse.checks import TargetImage
from pydfuse.cli.main import ExitCode, main
from pydfuse.cli.mapcmd import build_views, render_map
from pydfuse.cli.preflight import board_from_profile
from pydfuse.formats import DfuseFile, DfuseTarget
from pydfuse.sim.profiles import get_profile
from support.images import app_image


def test_terminal_rendering() -> None:
    board = board_from_profile(get_profile("stm3210b-eval"))
    views = build_views(board, [TargetImage(0, "app", app_image(0x08003000, size=0x1800))])
    out = Console(record=True, width=100, file=io.StringIO(), color_system=None)
    render_map(out, views, width=32)
    assert out.export_text().splitlines() == [
        "alt 0: Internal Flash  (128 KiB)",
        "▓▓▓██···························",
        "0x08000000            0x0801ffff",
        "  ▓ 0x08000000..0x08002fff     12 KiB  read-only (bootloader / protected)",
        "  █ 0x08003000..0x080047ff      6 KiB  written by the image",
        "alt 1: SPI Flash : M25P64  (8 MiB)",
        "································",
        "0x00000000            0x007fffff",
        "  · 0x00000000..0x007fffff      8 MiB  untouched",
        "legend: X conflict  █ written  ▒ erased  ▓ protected  · free  ≈ gap",
    ]


def test_map_command_writes_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dfu = tmp_path / "fw.dfu"
    DfuseFile((DfuseTarget.from_image(0, app_image(0x08003000)),)).write(dfu)
    svg = tmp_path / "map.svg"
    code = main(["map", str(dfu), "--profile", "stm32f4-rom", "--svg", str(svg), "--width", "40"])
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert "alt 0: Internal Flash  (1 MiB)" in out and "alt 3: Device Feature  (4 B)" in out
    assert f"wrote {svg}" in out
    root = ET.fromstring(svg.read_text())
    groups = root.findall("{http://www.w3.org/2000/svg}g[@class='memory']")
    assert len(groups) == 4  # one per alternate of the F4 ROM


def test_map_of_a_bin_picks_the_memory_by_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spi.bin"
    path.write_bytes(b"\x11" * 70000)
    assert main(["map", str(path), "--address", "0x10000", "--profile", "stm3210e-eval"]) == 0
    out = capsys.readouterr().out
    assert "█ 0x00010000..0x0002116f   68.4 KiB  written by the image" in out
    assert "▒ 0x00021170..0x0002ffff" in out
