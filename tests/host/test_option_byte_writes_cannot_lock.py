"""No raw path writes read protection the user did not ask for: option bytes in a file are judged
by what the chip will hold, wherever the file puts them (ops -> host -> pyusb -> simulator).

RM0091 §3.2.2: on F0 the chip writes each option byte's complement itself, so a block whose
RDP byte is 0xCC is level 2 whatever complement the file holds. RM0090 §3.7.2: the F4 ROM writes
FLASH_OPTCR, so any copy of the RDP byte in the block may be the one it takes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pydfuse.errors import OptionBytesError, PlanError
from pydfuse.formats import Image
from pydfuse.ops import (
    DeviceSelector,
    ImageSource,
    check_firmware,
    flash,
    option_bytes,
    set_option_bytes,
)
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import AltProfile, SectorGroup, get_profile
from support.boards import Rig, make_rig

ANY = DeviceSelector()
F0_OPTIONS = 0x1FFFF800
F4_OPTIONS = 0x1FFFC000


def _options(block: str, address: int, alt: int | str = "option") -> ImageSource:
    return ImageSource(Image.from_segments([(address, bytes.fromhex(block))]), alt=alt)


def _downloads_at(rig: Rig, start: int, end: int) -> list[bytes]:
    return rig.backend.downloads_at(start, end)


def test_f0_rdp_0xcc_with_a_wrong_complement_is_level_2_and_never_flashed() -> None:
    rig = make_rig("stm32f072-rom")
    block = "cc00ff00ff00ff00ff00ff00ff00ff00"  # the chip writes 0x33 beside 0xCC itself
    for force in (False, True):
        with pytest.raises(PlanError, match="level 2"):
            flash(rig.env, ANY, _options(block, F0_OPTIONS), force=force)
    assert _downloads_at(rig, F0_OPTIONS, F0_OPTIONS + 16) == []
    assert rig.board.rdp_level == 0


def test_f4_rdp_0xcc_in_any_copy_of_the_row_is_never_flashed() -> None:
    rig = make_rig("stm32f4-rom")
    # first copy level 0, second copy and the inverted complements level 2
    block = "ffaa0055ffcc0033ffff0000ffff0000"
    with pytest.raises(PlanError, match="level 2"):
        flash(rig.env, ANY, _options(block, F4_OPTIONS), force=True)
    assert _downloads_at(rig, F4_OPTIONS, F4_OPTIONS + 16) == []


def test_option_bytes_placed_in_another_alternate_are_refused_even_forced() -> None:
    rig = make_rig("stm32f4-rom")
    # dfu-util habit: -a 0 -s 0x1FFFC000 -D ob.bin; a ROM that routes by address would write it
    level2 = _options("ffcc0033ffcc0033ffff0000ffff0000", F4_OPTIONS, alt=0)
    with pytest.raises(PlanError, match="level 2"):
        flash(rig.env, ANY, level2, force=True)
    level0 = _options("ffaa0055ffaa0055ffff0000ffff0000", F4_OPTIONS, alt=0)
    with pytest.raises(PlanError, match="Option Bytes"):
        flash(rig.env, ANY, level0, force=True)
    assert _downloads_at(rig, F4_OPTIONS, F4_OPTIONS + 16) == []


def test_a_file_turning_read_protection_on_needs_force() -> None:
    rig = make_rig("stm32f4-rom")
    ones = "ffff0000" * 4  # USER, RDP and nWRP all ones: RDP 0xFF is level 1
    with pytest.raises(PlanError, match="read protection ON") as info:
        flash(rig.env, ANY, _options(ones, F4_OPTIONS))
    assert "ob set rdp=1" in (info.value.hint or "")
    assert rig.board.rdp_level == 0
    result = flash(
        rig.env, ANY, _options("ffbb0044ffbb0044ffff0000ffff0000", F4_OPTIONS), force=True
    )
    assert any("read protection ON" in w for w in result.warnings)
    assert rig.board.rdp_level == 1


def _l4_like_rom() -> VirtualBoard:
    """The F4 ROM with an STM32L4 ROM's option alternate (40 bytes at 0x1FFF7800) and no model
    of its protection: a layout none of our tables describes for sure."""
    f4 = get_profile("stm32f4-rom")
    option = replace(
        f4.alternates[1],
        layout="@Option Bytes  /0x1FFF7800/01*040 e",
        descriptor_length=2 + 2 * 35,
        sectors=(SectorGroup(0x1FFF7800, 1, 40, f4.alternates[1].sectors[0].rights),),
    )
    alternates: tuple[AltProfile, ...] = (f4.alternates[0], option)
    return VirtualBoard(replace(f4, name="l4-like-rom", alternates=alternates, option_bytes=None))


def test_an_unknown_option_layout_is_not_decoded_and_not_flashed() -> None:
    rig = make_rig(_l4_like_rom())
    report = option_bytes(rig.env, ANY)
    assert report.block.family is None  # L4 and G4 both keep 40 bytes there
    block = "aa" + "ff" * 39
    with pytest.raises(PlanError, match="not known"):
        flash(rig.env, ANY, _options(block, 0x1FFF7800))
    with pytest.raises(PlanError, match="0xCC"):
        flash(rig.env, ANY, _options("cc" + "ff" * 39, 0x1FFF7800), force=True)
    assert _downloads_at(rig, 0x1FFF7800, 0x1FFF7800 + 40) == []


def test_check_on_a_device_reports_what_flash_would_refuse() -> None:
    rig = make_rig("stm32f4-rom")
    result = check_firmware(rig.env, ANY, _options("ffcc0033ffcc0033ffff0000ffff0000", F4_OPTIONS))
    assert not result.ok
    assert any(
        f.code == "protection.option-bytes" and "level 2" in f.message
        for f in result.report.findings
    )


def _g4_named_rom() -> VirtualBoard:
    """The 40-byte block above holding a G4's factory option bytes (RM0440 production values)."""
    board = _l4_like_rom()
    words = [0xFFEFF8AA, 0xFFFFFFFF, 0x00FF0000, 0xFF00FFFF, 0xFF00FFFF]
    raw = b"".join(w.to_bytes(4, "little") + (w ^ 0xFFFFFFFF).to_bytes(4, "little") for w in words)
    board.memory(1).load(0x1FFF7800, raw)
    return board


def test_a_permanent_g4_pcrop_area_is_refused_like_level_2() -> None:
    rig = make_rig(_g4_named_rom())
    area = ["pcrop1_strt=0", "pcrop1_end=0x3ff"]  # pcrop_rdp stays keep (factory)
    for lock in (False, True):  # the family is only named, never recognised: no flag helps
        with pytest.raises(OptionBytesError, match="can never be removed"):
            set_option_bytes(rig.env, ANY, area, family="stm32g4", permanently_lock=lock)
    assert _downloads_at(rig, 0x1FFF7800, 0x1FFF7800 + 40) == []
    change = set_option_bytes(rig.env, ANY, [*area, "pcrop_rdp=erase"], family="stm32g4")
    assert change.written  # removed again by RDP 1 -> 0: an ordinary change


def test_flash_of_option_bytes_says_which_fields_change() -> None:
    rig = make_rig("stm32f4-rom")
    block = "f7aa0855f7aa0855fcff0300fcff0300"  # BOR level 2, sectors 0 and 1 write-protected
    with pytest.raises(PlanError, match="changes the nWRP bits while SPRMOD reads 1"):
        flash(rig.env, ANY, _options(block, F4_OPTIONS))  # F405 or PCROP mode: cannot tell
    result = flash(rig.env, ANY, _options(block, F4_OPTIONS), force=True)
    (said,) = [w for w in result.warnings if w.startswith("the file changes the option bytes")]
    assert "bor_lev off -> 2" in said and "nwrp 0xFFF -> 0xFFC" in said
    assert rig.board.memory(1).read(F4_OPTIONS, 16).hex() == block
