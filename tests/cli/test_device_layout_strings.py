"""Devices whose layout strings are odd but real, or unreadable: ``dfuse list`` shows the sector
table dfu-util would build, or says why a memory cannot be used; flashing names the string."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from pydfuse.cli.main import main
from pydfuse.sim import profiles
from pydfuse.sim.profiles import STM32F4_ROM, AltProfile, BoardProfile, SectorGroup
from pydfuse.spec import MemoryRights

RWE = MemoryRights.READABLE | MemoryRights.ERASABLE | MemoryRights.WRITABLE
# A SP Racing H7 bootloader's external flash (issue #9): a zero-count group at the end.
H7_EXTERNAL = "@External Flash /0x90000000/111*8Kg,16*8Kg,1*8Kg,128*8Kg,0*8Ka"
UNREADABLE = "@Internal Flash  /0x08000000/04*016Kz,01*064Kg,07*128Kg"


def _board(name: str, layout: str, sectors: tuple[SectorGroup, ...]) -> BoardProfile:
    first = replace(
        STM32F4_ROM.alternates[0],
        layout=layout,
        descriptor_length=2 + 2 * len(layout),
        sectors=sectors,
    )
    alternates: tuple[AltProfile, ...] = (first, *STM32F4_ROM.alternates[1:])
    return replace(STM32F4_ROM, name=name, alternates=alternates)


@pytest.fixture
def odd_boards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two extra --sim profiles: the H7 external-flash string and an unreadable string."""
    extra = {
        "h7-external": _board(
            "h7-external", H7_EXTERNAL, (SectorGroup(0x90000000, 256, 8192, RWE),)
        ),
        "unreadable": _board("unreadable", UNREADABLE, STM32F4_ROM.alternates[0].sectors),
    }
    monkeypatch.setattr(profiles, "PROFILES", MappingProxyType({**profiles.PROFILES, **extra}))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_zero_count_group_lists_and_flashes(
    odd_boards: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = str(tmp_path / "board.json")
    code, out, _ = _run(capsys, "--sim", "h7-external", "--sim-state", state, "list", "--json")
    assert code == 0
    alt0 = json.loads(out)["devices"][0]["alternates"][0]
    assert alt0["layout_error"] is None and alt0["layout_notes"] == []
    assert alt0["regions"] == [
        {
            "address": 0x90000000,
            "size": 256 * 8192,
            "groups": [{"count": c, "size": 8192, "type": "g"} for c in (111, 16, 1, 128)],
        }
    ]
    image = tmp_path / "ext.bin"
    image.write_bytes(bytes(range(256)) * 40)
    code, _, err = _run(
        capsys, "--sim", "h7-external", "--sim-state", state, "flash", f"{image}@0x90010000"
    )
    assert code == 0, err


def test_unreadable_layout_is_named_by_list_and_flash(
    odd_boards: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--sim", "unreadable", "list")
    assert code == 0
    assert "alt 0: memory layout not readable, this memory cannot be used:" in out
    assert "type 'z', not a letter a..g" in out
    code, out, _ = _run(capsys, "--sim", "unreadable", "list", "--json")
    alt0 = json.loads(out)["devices"][0]["alternates"][0]
    assert alt0["regions"] == [] and "type 'z'" in alt0["layout_error"]
    image = tmp_path / "app.bin"
    image.write_bytes(bytes(1024))
    code, _, err = _run(
        capsys, "--sim", "unreadable", "flash", str(image), "-a", "0", "--address", "0x08000000"
    )
    assert code != 0
    assert UNREADABLE in err and "type 'z'" in err and "Traceback" not in err


def test_flash_to_a_readable_memory_warns_about_an_unreadable_one(
    odd_boards: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "otp.bin"
    image.write_bytes(b"\x00\x11\x22\x33")
    code, _, err = _run(
        capsys,
        *("--sim", "unreadable", "flash", str(image), "-a", "2", "--address", "0x1FFF7800"),
        "--force",  # OTP bytes are for ever: refused without it (#12)
    )
    assert code == 0, err
    assert "PERMANENT (--force)" in err
    assert "alternate 0 ('Internal Flash') cannot be flashed" in err and UNREADABLE in err
