"""Click parameter types shared by the commands (pydfuse.cli.params)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from pydfuse.cli.params import (
    ADDRESS,
    ID16,
    SIZE,
    FileAddress,
    TargetSpec,
    VidPid,
    parse_address,
    parse_file_address,
    parse_int,
    parse_size,
    parse_target_spec,
    parse_vid_pid,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0x08003000", 0x08003000),
        ("134230016", 0x08003000),
        ("12K", 12 * 1024),
        ("1M", 1 << 20),
        ("16KiB", 16 * 1024),
        ("0", 0),
        ("0xFFFFFFFF", 0xFFFFFFFF),
        ("0x0800_3000", 0x08003000),
    ],
)
def test_parse_address_accepts(text: str, value: int) -> None:
    assert parse_address(text) == value
    assert ADDRESS.convert(text, None, None) == value


@pytest.mark.parametrize("text", ["", "0x", "x12", "12G", "-1", "0x100000000", "4096M", "1.5K"])
def test_parse_address_rejects(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_address(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("65536", 65536),
        ("0x10000", 65536),
        ("64K", 64 * 1024),
        ("64KiB", 64 * 1024),
        ("64kb", 64 * 1024),
        ("128M", 128 << 20),
        ("1G", 1 << 30),
        ("4G", 1 << 32),  # a whole 32-bit address space
        ("0", 0),
    ],
)
def test_parse_size_accepts(text: str, value: int) -> None:
    assert parse_size(text) == value
    assert SIZE.convert(text, None, None) == value


@pytest.mark.parametrize("text", ["", "-5", "x12", "1.5K", "12T", "0x", "64 K B"])
def test_parse_size_rejects_saying_it_wants_a_size(text: str) -> None:
    with pytest.raises(click.BadParameter, match="is not a size; use a number of bytes"):
        parse_size(text)


def test_parse_size_bounds() -> None:
    with pytest.raises(click.BadParameter, match="too large: the size must be at most"):
        parse_size("5G")
    with pytest.raises(click.BadParameter, match="too small: the size must be at least 1"):
        parse_size("0", minimum=1)


def test_parse_int_hex_and_decimal() -> None:
    assert parse_int("0x0483") == 0x0483
    assert parse_int("1155") == 1155
    assert ID16.convert("0xdf11", None, None) == 0xDF11
    with pytest.raises(click.BadParameter, match="out of range"):
        parse_int("0x10000")
    with pytest.raises(click.BadParameter, match="not a number"):
        parse_int("df11")


def test_vid_pid() -> None:
    assert parse_vid_pid("0483:df11") == VidPid(0x0483, 0xDF11)
    assert parse_vid_pid("0x0483:") == VidPid(0x0483, None)
    assert str(parse_vid_pid(":DF11")) == ":df11"
    for bad in ("0483", "0483:df11:1", "zz:df11", "10000:1"):
        with pytest.raises(click.BadParameter):
            parse_vid_pid(bad)


def test_vid_pid_in_dfu_utils_two_mode_form() -> None:
    # ,DFU: run-time devices are ignored
    assert parse_vid_pid(",0483:df11") == VidPid(None, None, (0x0483, 0xDF11), runtime=False)
    assert parse_vid_pid("-,0483:df11") == parse_vid_pid(",0483:df11")
    # RT,DFU: a DFU-mode part left empty takes the run-time value (dfu-util 0.11's rule)
    assert parse_vid_pid("1457:51ab,:2bc") == VidPid(0x1457, 0x51AB, (0x1457, 0x02BC))
    assert parse_vid_pid("0483:df12,0483:df11").dfu == (0x0483, 0xDF11)
    assert parse_vid_pid("0483:df12,").dfu == (0x0483, 0xDF12)
    assert str(parse_vid_pid(",0483:df11")) == ",0483:df11"
    for bad in ("1:2,3:4,5:6", "1:2,34", ",xyz:1"):
        with pytest.raises(click.BadParameter):
            parse_vid_pid(bad)


def test_file_address() -> None:
    assert parse_file_address("a.bin@0x0") == FileAddress(Path("a.bin"), 0)
    assert parse_file_address("a.bin@16K") == FileAddress(Path("a.bin"), 16384)
    assert parse_file_address("a.hex") == FileAddress(Path("a.hex"), None)
    assert parse_file_address("me@host/a.hex") == FileAddress(Path("me@host/a.hex"), None)
    with pytest.raises(click.BadParameter, match="too large"):
        parse_file_address("a.bin@0x123456789")


def test_target_spec() -> None:
    spec = parse_target_spec("0:Internal Flash=app.hex")
    assert spec == TargetSpec(0, "Internal Flash", FileAddress(Path("app.hex")))
    assert parse_target_spec("1=data.bin@0x0") == TargetSpec(
        1, None, FileAddress(Path("data.bin"), 0)
    )
    assert parse_target_spec("2:=x.s19").name == ""
    for bad in ("app.hex", "x:name=a.hex", "256=a.hex", "0:name", "0:n="):
        with pytest.raises(click.BadParameter):
            parse_target_spec(bad)
