"""Plain DFU files whose suffix bLength is larger than 16 (fwupd writes them, §4.9): the bytes
before the standard 16 belong to the suffix, as dfu-util reads it (bLength 16..file size)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import main
from pydfuse.formats import DfuSuffix, PlainDfuFile, dfu_crc, inspect_suffix
from pydfuse.formats.dfu import parse_dfu
from pydfuse.sim.board import VirtualBoard

FIRMWARE = bytes((i * 37 + 5) & 0xFF for i in range(3000))
EXTRA = b"MD\x02\x01\x04Key1\x05Value"  # key/value bytes kept before the standard suffix


def long_suffix_file(payload: bytes = FIRMWARE, extra: bytes = EXTRA) -> bytes:
    """``payload`` + ``extra`` + a 16-byte suffix whose bLength counts ``extra`` too."""
    fields = bytearray(DfuSuffix(vid=0x1209, pid=0x0001).fields_bytes())
    fields[11] = 16 + len(extra)
    body = payload + extra + bytes(fields)
    return body + dfu_crc(body).to_bytes(4, "little")


def test_payload_leaves_out_the_whole_suffix() -> None:
    data = long_suffix_file()
    info = inspect_suffix(data)
    assert info is not None and info.crc_ok and info.length == 16 + len(EXTRA)
    plain = PlainDfuFile.from_bytes(data)
    assert plain.payload == FIRMWARE
    assert (plain.suffix.vid, plain.suffix.pid) == (0x1209, 0x0001)
    assert plain.warnings == (
        f"the DFU suffix is {16 + len(EXTRA)} bytes long (bLength > 16): the {len(EXTRA)} "
        "bytes before its standard 16 are part of it, not firmware",
    )
    assert isinstance(parse_dfu(data), PlainDfuFile)


def test_suffix_commands_and_info_accept_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fw.dfu"
    path.write_bytes(long_suffix_file())
    assert main(["suffix", "check", str(path)]) == 0
    assert f"bLength {16 + len(EXTRA)}" in capsys.readouterr().out
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["payload_size"], info["suffix"]["crc_ok"]) == (3000, True)
    assert main(["suffix", "remove", str(path)]) == 0
    assert path.read_bytes() == FIRMWARE  # the extra bytes went with the suffix


def test_flash_sends_the_firmware_only(tmp_path: Path) -> None:
    path = tmp_path / "fw.dfu"
    path.write_bytes(long_suffix_file())
    state = tmp_path / "board.json"
    assert main(["--sim", "plain-dfu", "--sim-state", str(state), "flash", str(path)]) == 0
    board = VirtualBoard.load(state)
    flash = board.memory(0)
    assert flash.read(0x08000000, len(FIRMWARE)) == FIRMWARE
    assert flash.read(0x08000000 + len(FIRMWARE), len(EXTRA)) == b"\xff" * len(EXTRA)
